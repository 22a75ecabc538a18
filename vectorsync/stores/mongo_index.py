"""The life of an Atlas `vectorSearch` index, judged from `$listSearchIndexes` documents alone.

`plan` says what to do with the index as first read (create, update, check, wait for a deletion, or refuse);
`judge` says whether a later reading serves the wanted definition, is still on its way, or has failed for good;
`converge` runs both over a `SearchIndexes` (the three commands on one collection) until the index serves.
Only `converge` touches the server, through that port, so every transition is tested with recorded documents.

The server's own fields decide (MongoDB's `$listSearchIndexes` output): `status` (PENDING, BUILDING, READY,
STALE, FAILED, DELETING, DOES_NOT_EXIST), `queryable`, `latestDefinitionVersion.version`, and per search host
`statusDetail[].mainIndex`, the index that serves queries, with its `definitionVersion`. READY and STALE serve
(STALE stopped replicating, so recent writes may be missing); FAILED of the wanted definition is final.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from vectorsync.errors import IndexNotReady, StoreError
from vectorsync.stores.mongo_commands import definition_differences, index_message

SERVING = ("READY", "STALE")
GONE = "DOES_NOT_EXIST"
DELETING = "DELETING"
FAILED = "FAILED"
_UPDATE_HINT = "run with --update-index to wait for the deletion and create it anew"

Info = Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    """One decision: what to do next, and the words that explain it (a wait's state, a failure, a warning)."""

    action: Literal["create", "update", "check", "await_deletion", "mismatch", "serve", "wait", "fail"]
    reason: str = ""
    differences: tuple[str, ...] = ()
    warning: str | None = None


@dataclass(frozen=True)
class Goal:
    """What a wait is for: `definition` serving queries; after an update, a version newer than `previous_version`."""

    definition: Mapping[str, Any]
    updating: bool = False
    previous_version: int | None = None


@dataclass(frozen=True)
class Served:
    """The index document that ended the wait, with a warning when the index serves but not fully (STALE)."""

    info: Info
    warning: str | None = None


class SearchIndexes(Protocol):
    """The search-index commands of one collection, errors already mapped to vectorsync's."""

    def find(self, name: str) -> Info | None:
        """The `$listSearchIndexes` document of index `name`, or None when it is not listed."""
        ...

    def create(self, name: str, definition: Mapping[str, Any]) -> bool:
        """Create the index (and its collection); False when an index of that name exists already."""
        ...

    def update(self, name: str, definition: Mapping[str, Any]) -> None:
        """Replace the index's definition; the server rebuilds it and keeps serving the old one meanwhile."""
        ...


def latest_version(info: Info) -> int | None:
    """`latestDefinitionVersion.version`: the version of the definition most recently asked for."""
    version = (info.get("latestDefinitionVersion") or {}).get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


@dataclass(frozen=True)
class HostIndex:
    """One index on one search host (`mongot`): the one serving (`main`) or one building in the background."""

    host: str
    main: bool
    status: str
    queryable: bool
    version: int | None
    message: str | None = None


def host_indexes(info: Info) -> list[HostIndex]:
    """Every `statusDetail[].mainIndex` and `stagedIndex` of the document; empty when the server gives no detail."""
    found = []
    for host in info.get("statusDetail") or ():
        for key in ("mainIndex", "stagedIndex"):
            index = host.get(key)
            if not isinstance(index, Mapping):
                continue
            version = (index.get("definitionVersion") or {}).get("version")
            found.append(
                HostIndex(
                    host=str(host.get("hostname", "?")),
                    main=key == "mainIndex",
                    status=str(index.get("status", host.get("status", "UNKNOWN"))),
                    queryable=bool(index.get("queryable", host.get("queryable", False))),
                    version=version if isinstance(version, int) and not isinstance(version, bool) else None,
                    message=index.get("message"),
                )
            )
    return found


def plan(info: Info | None, wanted: Mapping[str, Any], update: bool, name: str, where: str) -> Step:
    """What to do with the index as first read, before anything is sent.

    Absent (or DOES_NOT_EXIST): create it. DELETING: with `update`, wait for the deletion and create it anew;
    without, refuse at once (a run must not wait out its timeout on an index that is going away). Another
    definition: rebuild it with `update`, else a mismatch for the caller to explain. Otherwise check it.
    """
    if info is None or info.get("status") == GONE:
        return Step("create")
    if info.get("status") == DELETING:
        if update:
            return Step("await_deletion", "DELETING")
        return Step("fail", f"index '{name}' on {where} is being deleted; run again once it is gone, or {_UPDATE_HINT}")
    if info.get("type", "vectorSearch") != "vectorSearch":
        return Step(
            "fail",
            f"index '{name}' on {where} is a {info.get('type')} index, not vectorSearch; choose another index_name",
        )
    differences = tuple(definition_differences(info.get("latestDefinition", {}), wanted))
    if differences:
        return Step("update" if update else "mismatch", differences=differences)
    return Step("check")


def judge(info: Info | None, goal: Goal, name: str, where: str) -> Step:
    """Whether this reading of the index serves `goal`, is still on its way there, or has failed for good.

    Serves: status READY or STALE, queryable, the wanted definition the latest one, and every host's main index
    on that latest version (the old definition keeps serving while a new one builds). FAILED is final only when
    it is the latest version's: right after an update the server may still report the old definition's state.
    """
    if info is None:
        return Step("wait", "not listed yet")
    status = str(info.get("status", "UNKNOWN"))
    if status == DELETING:
        return Step("fail", f"index '{name}' on {where} is being deleted while vectorsync waits for it")
    latest = latest_version(info)
    if goal.previous_version is not None and latest is not None and latest <= goal.previous_version:
        return Step("wait", f"{status}, the update not taken yet (definition version {latest})")
    differences = definition_differences(info.get("latestDefinition", {}), goal.definition)
    if differences:
        if goal.updating:
            return Step("wait", f"{status}, the update not taken yet")
        return Step("fail", f"index '{name}' on {where} was changed meanwhile ({'; '.join(differences)})")
    hosts = host_indexes(info)
    message = index_message(info)
    failed = [h for h in hosts if h.status == FAILED and _of_latest(h, latest, goal)]
    if failed or (status == FAILED and not hosts and not goal.updating):
        detail = "; ".join(dict.fromkeys(h.message for h in failed if h.message)) or message
        return Step("fail", f"index '{name}' on {where} is FAILED{f': {detail}' if detail else ''}")
    mains = [h for h in hosts if h.main]
    behind = [h for h in mains if latest is not None and h.version is not None and h.version != latest]
    if behind:
        served = ", ".join(sorted({str(h.version) for h in behind}))
        return Step("wait", f"{status}, serving definition version {served} while version {latest} builds")
    if any(not h.main and h.status != FAILED for h in hosts):
        return Step("wait", f"{status}, a new version of the definition builds")
    if status in SERVING and info.get("queryable") and all(h.queryable for h in mains):
        warning = None
        if status == "STALE":
            warning = (
                f"index '{name}' on {where} is STALE: it serves queries but stopped replicating writes, so "
                f"searches may miss recent changes{f' ({message})' if message else ''}; check the cluster's "
                "disk and search nodes"
            )
        return Step("serve", status, warning=warning)
    return Step("wait", f"{status}{f' ({message})' if message else ''}")


def _of_latest(index: HostIndex, latest: int | None, goal: Goal) -> bool:
    """Whether a host's index is of the latest definition; unknown versions count only when nothing was updated."""
    if latest is None or index.version is None:
        return not goal.updating
    return index.version == latest


@dataclass
class Backoff:
    """Polling delays that double from `first` up to `cap`."""

    first: float = 0.5
    cap: float = 10.0
    _next: float = field(default=0.0, init=False)

    def delay(self) -> float:
        self._next = self.first if self._next == 0.0 else min(self._next * 2, self.cap)
        return self._next


def converge(
    indexes: SearchIndexes,
    name: str,
    wanted: Mapping[str, Any],
    *,
    where: str,
    update: bool,
    timeout_s: float,
    mismatch: Callable[[Info, tuple[str, ...]], Exception],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Served:
    """Bring index `name` to serve `wanted` within `timeout_s`: create, update or check it, then poll.

    Raises `IndexNotReady` when it fails or the time is up (naming the last state), `StoreError` when it cannot be
    used, and whatever `mismatch` builds when it has another definition and `update` is not set.
    """
    deadline = clock() + timeout_s
    backoff = Backoff()
    goal: Goal | None = None
    while True:
        info = indexes.find(name)
        sent = False  # a reading taken before a command says nothing of its outcome
        if goal is None:
            step = plan(info, wanted, update, name, where)
            state = step.reason
            if step.action == "fail":
                raise (IndexNotReady if info and info.get("status") == DELETING else StoreError)(step.reason)
            if step.action == "mismatch":
                raise mismatch(info or {}, step.differences)
            if step.action == "create":
                sent = indexes.create(name, wanted)
                goal = Goal(wanted) if sent else None
                state = "just created" if sent else "created by another process meanwhile"
            elif step.action == "update":
                indexes.update(name, wanted)
                goal = Goal(wanted, updating=True, previous_version=latest_version(info or {}))
                sent, state = True, "updated, not rebuilt yet"
            elif step.action == "await_deletion":
                state = "DELETING (to be created anew once it is gone)"
            else:
                goal = Goal(wanted)
        if goal is not None and not sent:
            verdict = judge(info, goal, name, where)
            if verdict.action == "serve" and info is not None:
                return Served(info, verdict.warning)
            if verdict.action == "fail":
                raise IndexNotReady(verdict.reason)
            state = verdict.reason
        remaining = deadline - clock()
        if remaining <= 0:
            raise IndexNotReady(f"index '{name}' on {where} still {state} after {timeout_s:g} s")
        sleep(min(backoff.delay(), remaining))
