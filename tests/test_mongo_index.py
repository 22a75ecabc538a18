"""The Atlas index lifecycle, driven by recorded `$listSearchIndexes` documents shaped as MongoDB documents them.

Each test replays what the server would list, one document per poll, through a scripted `SearchIndexes`; the
clock moves only when the code sleeps, so nothing here waits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from fake_time import FakeTime

from vectorsync.errors import DimensionMismatch, IndexNotReady, StoreError
from vectorsync.stores.base import IndexSpec
from vectorsync.stores.mongo_commands import index_definition
from vectorsync.stores.mongo_index import Goal, Served, converge, host_indexes, judge, latest_version, plan
from vectorsync.stores.mongodb import status_of

WANTED = index_definition(IndexSpec("vector_index", 384, filter_fields=("source",)))
OLD = index_definition(IndexSpec("vector_index", 768, filter_fields=("source",)))
WHERE = "db.chunks"
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


def version(number: int) -> dict[str, Any]:
    return {"version": number, "createdAt": CREATED}


def host(
    status: str, version_number: int, *, queryable: bool, message: str | None = None, staged: dict | None = None
) -> dict[str, Any]:
    """One `statusDetail` entry: the search host's main index, and the one building beside it when given."""
    main: dict[str, Any] = {"status": status, "queryable": queryable, "definitionVersion": version(version_number)}
    if message:
        main["message"] = message
    entry: dict[str, Any] = {"hostname": "atlas-local", "status": status, "queryable": queryable, "mainIndex": main}
    if staged:
        entry["stagedIndex"] = staged
    return entry


def listed(
    status: str,
    *,
    queryable: bool,
    latest: int = 0,
    definition: Mapping[str, Any] = WANTED,
    hosts: Sequence[dict[str, Any]] | None = None,
    message: str | None = None,
    type: str = "vectorSearch",
) -> dict[str, Any]:
    """A `$listSearchIndexes` document; by default one host whose main index is on the latest version."""
    doc: dict[str, Any] = {
        "id": "6524096020da840844a4c4a7",
        "name": "vector_index",
        "type": type,
        "status": status,
        "queryable": queryable,
        "latestDefinitionVersion": version(latest),
        "latestDefinition": dict(definition),
        "statusDetail": list(hosts) if hosts is not None else [host(status, latest, queryable=queryable)],
    }
    if message:
        doc["message"] = message
    return doc


class ScriptedIndexes:
    """What the server lists at each poll, in order (the last one repeats), and the commands it was sent."""

    def __init__(self, *listings: dict[str, Any] | None, creates: Sequence[bool] = (True,)) -> None:
        self.listings = list(listings)
        self.creates = list(creates)
        self.commands: list[str] = []

    def find(self, name: str) -> Mapping[str, Any] | None:
        return self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]

    def create(self, name: str, definition: Mapping[str, Any]) -> bool:
        self.commands.append("create")
        return self.creates.pop(0) if len(self.creates) > 1 else self.creates[0]

    def update(self, name: str, definition: Mapping[str, Any]) -> None:
        self.commands.append("update")


def run(indexes: ScriptedIndexes, *, update: bool = False, timeout_s: float = 300.0, time: FakeTime | None = None):
    time = time or FakeTime()

    def mismatch(info: Mapping[str, Any], differences: tuple[str, ...]) -> Exception:
        return DimensionMismatch("; ".join(differences))

    return converge(
        indexes,
        "vector_index",
        WANTED,
        where=WHERE,
        update=update,
        timeout_s=timeout_s,
        mismatch=mismatch,
        clock=time.clock,
        sleep=time.sleep,
    )


# --- reading the documents ----------------------------------------------------------------------------------------


def test_versions_are_read_from_the_latest_definition_and_each_hosts_indexes() -> None:
    staged = {"status": "BUILDING", "queryable": False, "definitionVersion": version(2)}
    doc = listed("BUILDING", queryable=True, latest=2, hosts=[host("READY", 1, queryable=True, staged=staged)])
    assert latest_version(doc) == 2
    [main, building] = host_indexes(doc)
    assert (main.main, main.status, main.version, main.queryable) == (True, "READY", 1, True)
    assert (building.main, building.status, building.version) == (False, "BUILDING", 2)
    assert latest_version({"status": "READY"}) is None and host_indexes({"status": "READY"}) == []


def test_does_not_exist_is_reported_as_absent() -> None:
    assert status_of("vector_index", listed("DOES_NOT_EXIST", queryable=False)).state == "ABSENT"
    assert status_of("vector_index", None).state == "ABSENT"
    ready = status_of("vector_index", listed("READY", queryable=True))
    assert (ready.state, ready.queryable, ready.dimensions) == ("READY", True, 384)


# --- the first reading ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("info", "update", "action"),
    [
        (None, False, "create"),
        (listed("DOES_NOT_EXIST", queryable=False), False, "create"),
        (listed("DELETING", queryable=False), True, "await_deletion"),
        (listed("DELETING", queryable=False), False, "fail"),
        (listed("READY", queryable=True, definition=OLD), False, "mismatch"),
        (listed("READY", queryable=True, definition=OLD), True, "update"),
        (listed("READY", queryable=True), True, "check"),
        (listed("FAILED", queryable=False), False, "check"),
        (listed("READY", queryable=True, type="search"), False, "fail"),
    ],
)
def test_first_reading_decides_create_update_check_or_refuse(info: Any, update: bool, action: str) -> None:
    assert plan(info, WANTED, update, "vector_index", WHERE).action == action


# --- waiting ------------------------------------------------------------------------------------------------------


def test_a_new_index_is_created_once_and_served_when_ready() -> None:
    indexes = ScriptedIndexes(
        None,  # the reading before the create
        None,  # not listed yet
        listed("PENDING", queryable=False, hosts=[]),
        listed("BUILDING", queryable=False),
        listed("READY", queryable=True),
    )
    time = FakeTime()
    served = run(indexes, time=time)
    assert indexes.commands == ["create"]
    assert served.info["status"] == "READY" and served.warning is None
    assert time.sleeps == [0.5, 1.0, 2.0, 4.0]


def test_a_matching_ready_index_serves_at_once() -> None:
    time = FakeTime()
    indexes = ScriptedIndexes(listed("READY", queryable=True))
    assert run(indexes, time=time).info["status"] == "READY"
    assert indexes.commands == [] and time.sleeps == []


def test_a_stale_index_serves_with_a_warning_that_gives_the_servers_reason() -> None:
    indexes = ScriptedIndexes(listed("STALE", queryable=True, message="replication stopped: disk full"))
    served = run(indexes)
    assert served.info["status"] == "STALE"
    assert served.warning is not None
    assert "is STALE: it serves queries but stopped replicating" in served.warning
    assert "replication stopped: disk full" in served.warning


def test_failed_is_final_with_the_servers_message() -> None:
    failed = listed(
        "FAILED",
        queryable=False,
        hosts=[host("FAILED", 0, queryable=False, message="Vector field numDimensions 384 but found 768")],
    )
    time = FakeTime()
    with pytest.raises(IndexNotReady) as caught:
        run(ScriptedIndexes(None, failed), time=time)
    assert str(caught.value) == (
        "index 'vector_index' on db.chunks is FAILED: Vector field numDimensions 384 but found 768"
    )
    assert time.sleeps == [0.5]


def test_an_update_is_judged_by_the_definition_version_not_by_the_first_readings() -> None:
    """The old definition FAILED (the vectors changed size); the rebuild must not be judged by that state."""
    old_failed = listed("FAILED", queryable=False, definition=OLD, hosts=[host("FAILED", 0, queryable=False)])
    indexes = ScriptedIndexes(
        old_failed,  # first reading: another definition, so update
        old_failed,  # the server has not taken the update yet
        listed("FAILED", queryable=False, latest=1, hosts=[host("FAILED", 0, queryable=False)]),  # v0's state
        listed("BUILDING", queryable=True, latest=1, hosts=[host("READY", 0, queryable=True)]),  # v0 still serves
        listed("READY", queryable=True, latest=1, hosts=[host("READY", 0, queryable=True)]),  # v0 READY, v1 not yet
        listed("READY", queryable=True, latest=1),  # v1 serves
    )
    served = run(indexes, update=True)
    assert indexes.commands == ["update"]
    assert host_indexes(served.info)[0].version == 1


def test_an_update_without_host_detail_waits_out_a_failed_status_it_cannot_attribute() -> None:
    indexes = ScriptedIndexes(
        listed("READY", queryable=True, definition=OLD),
        listed("FAILED", queryable=False, latest=1, hosts=[]),
        listed("READY", queryable=True, latest=1, hosts=[]),
    )
    assert run(indexes, update=True).info["status"] == "READY"


def test_an_update_whose_new_version_fails_is_final_while_the_old_one_serves() -> None:
    staged = {
        "status": "FAILED",
        "queryable": False,
        "definitionVersion": version(1),
        "message": "numDimensions must be at most 8192",
    }
    indexes = ScriptedIndexes(
        listed("READY", queryable=True, definition=OLD),
        listed("FAILED", queryable=True, latest=1, hosts=[host("READY", 0, queryable=True, staged=staged)]),
    )
    with pytest.raises(IndexNotReady, match="is FAILED: numDimensions must be at most 8192"):
        run(indexes, update=True)


def test_a_build_in_the_background_is_waited_for_even_without_versions_on_the_hosts() -> None:
    staged = {"status": "BUILDING", "queryable": False}
    main_without_version = {"status": "READY", "queryable": True}
    building = listed("READY", queryable=True, latest=1, hosts=[])
    building["statusDetail"] = [{"hostname": "h", "mainIndex": main_without_version, "stagedIndex": staged}]
    step = judge(building, Goal(WANTED, updating=True, previous_version=0), "vector_index", WHERE)
    assert step.action == "wait" and "builds" in step.reason


def test_deleting_fails_fast_unless_an_update_was_asked_for() -> None:
    time = FakeTime()
    indexes = ScriptedIndexes(listed("DELETING", queryable=False))
    with pytest.raises(IndexNotReady) as caught:
        run(indexes, time=time)
    assert str(caught.value) == (
        "index 'vector_index' on db.chunks is being deleted; run again once it is gone, or run with --update-index "
        "to wait for the deletion and create it anew"
    )
    assert indexes.commands == [] and time.sleeps == []


def test_with_update_a_deleting_index_is_waited_for_then_created_anew() -> None:
    deleting = listed("DELETING", queryable=False, definition=OLD)
    indexes = ScriptedIndexes(
        deleting,
        deleting,
        listed("DOES_NOT_EXIST", queryable=False, definition=OLD, hosts=[]),
        None,  # the reading right after the create says nothing yet
        listed("PENDING", queryable=False),
        listed("READY", queryable=True),
    )
    served = run(indexes, update=True)
    assert indexes.commands == ["create"]
    assert served.info["status"] == "READY"


def test_does_not_exist_is_created() -> None:
    indexes = ScriptedIndexes(listed("DOES_NOT_EXIST", queryable=False, hosts=[]), listed("READY", queryable=True))
    assert run(indexes).info["status"] == "READY" and indexes.commands == ["create"]


def test_an_index_created_meanwhile_by_another_process_is_checked_not_recreated() -> None:
    indexes = ScriptedIndexes(
        None, listed("BUILDING", queryable=False), listed("READY", queryable=True), creates=[False]
    )
    assert run(indexes).info["status"] == "READY"
    assert indexes.commands == ["create"]


def test_another_definition_without_update_is_the_callers_mismatch() -> None:
    with pytest.raises(DimensionMismatch, match="numDimensions 768 -> 384"):
        run(ScriptedIndexes(listed("READY", queryable=True, definition=OLD)))


def test_an_index_of_another_type_is_refused() -> None:
    with pytest.raises(StoreError, match="is a search index, not vectorSearch") as caught:
        run(ScriptedIndexes(listed("READY", queryable=True, type="search")))
    assert not isinstance(caught.value, IndexNotReady)


def test_an_index_deleted_or_changed_while_waiting_fails() -> None:
    with pytest.raises(IndexNotReady, match="is being deleted while vectorsync waits"):
        run(ScriptedIndexes(None, listed("DELETING", queryable=False)))
    with pytest.raises(IndexNotReady, match=r"was changed meanwhile \(numDimensions 768 -> 384\)"):
        run(ScriptedIndexes(listed("BUILDING", queryable=False), listed("READY", queryable=True, definition=OLD)))


def test_timeout_names_the_last_state() -> None:
    time = FakeTime()
    with pytest.raises(IndexNotReady) as caught:
        run(ScriptedIndexes(None, listed("BUILDING", queryable=False)), timeout_s=5, time=time)
    assert str(caught.value) == "index 'vector_index' on db.chunks still BUILDING after 5 s"
    assert sum(time.sleeps) == 5


def test_served_carries_the_final_document() -> None:
    served = run(ScriptedIndexes(listed("READY", queryable=True)))
    assert isinstance(served, Served) and served.info["latestDefinition"] == WANTED
