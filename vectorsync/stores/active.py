"""Which LanceDB table serves a table name, so a freshly embedded table can replace it in one step.

LanceDB OSS cannot rename tables, so `active.json` beside the tables maps a name to the table serving it
and to the one it replaced; `open_store` reads it. Names without an entry serve from the table of that name.
A model migration (vectorsync/migration.py) also keeps there the model each table was made with, and its own state.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lancedb

from vectorsync.errors import StoreError
from vectorsync.locking import target_lock

POINTER_FILE = "active.json"


def serving_table(root: Path, name: str) -> str:
    """The table that answers for `name` under the LanceDB folder `root`."""
    return _read(root).get(name, {}).get("serving", name)


def candidate_table(name: str) -> str:
    """A new, unused table name for a fresh build of `name`."""
    return f"{name}__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"


def promote(root: Path, name: str, table: str) -> str:
    """Make `table` serve `name`; returns the table it replaced, which is kept until the next promotion.

    The table that served before that one is dropped: one previous generation stays for readers still on it.
    """
    with target_lock(root.parent / "locks", f"{root / POINTER_FILE}"):
        pointers = _read(root)
        entry = pointers.get(name, {})
        replaced = entry.get("serving", name)
        older = entry.get("previous")
        pointers[name] = {"serving": table, "previous": replaced}
        _write(root, pointers)
    if older and older not in (table, replaced):
        drop_table(root, older)
    return replaced


def pointer_entry(root: Path, name: str) -> dict[str, Any]:
    """The entry of `name` in `active.json` as stored (empty when the name serves from its own table)."""
    return dict(_read(root).get(name, {}))


def change_entry(root: Path, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """Replace the entry of `name` by `change(entry)` under the pointer's lock, in one atomic write; returns it."""
    with target_lock(root.parent / "locks", f"{root / POINTER_FILE}"):
        pointers = _read(root)
        entry = change(dict(pointers.get(name, {})))
        if entry:
            pointers[name] = entry
        else:
            pointers.pop(name, None)
        _write(root, pointers)
    return entry


class LancePointers:
    """The serving pointers of the LanceDB tables under `root`, as a model migration reads and moves them."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, name: str) -> dict[str, Any]:
        return pointer_entry(self.root, name)

    def change(self, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        return change_entry(self.root, name, change)

    def drop(self, table: str) -> None:
        drop_table(self.root, table)


def drop_table(root: Path, table: str) -> None:
    """Remove a table with what LanceStore keeps beside it (dead letters, index definition, ANN training note)."""
    db = lancedb.connect(str(root))
    existing = set(db.list_tables().tables)
    for name in (table, f"{table}_dead_letters"):
        if name in existing:
            db.drop_table(name)
    for kept in (f"{table}.index.json", f"{table}.ann.json"):
        (root / kept).unlink(missing_ok=True)


def _read(root: Path) -> dict[str, dict[str, Any]]:
    path = root / POINTER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"{path}: unreadable ({exc}); fix or delete it to serve every table under its own name"
        ) from None
    if not isinstance(data, dict):
        raise StoreError(f"{path}: expected a JSON object of table names")
    return data


def _write(root: Path, pointers: dict[str, dict[str, Any]]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".{POINTER_FILE}.tmp"
    temporary.write_text(json.dumps(pointers, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(temporary, root / POINTER_FILE)  # atomic: readers see the old pointer or the new one
