"""Blue/green model migration of one table: the new model's vectors are built beside the serving ones, then switched.

The serving pointer (LanceDB's active.json, MongoDB's `vectorsync_serving` collection) records which table serves
a name and the model and dimensions its vectors were made with, so searches embed queries with the model of the
table they search. A migration moves through two states kept in the same entry: `building` (the candidate table is
being filled; the old one serves) and `switched` (the candidate serves; the old table is kept for `rollback` until
`finish` drops it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from vectorsync.errors import ConfigError, MigrationError
from vectorsync.settings import Settings
from vectorsync.stores.active import LancePointers, candidate_table

State = Literal["building", "switched"]


class Pointers(Protocol):
    """Where a store keeps its serving pointers: read an entry, change it atomically, drop a table."""

    def read(self, name: str) -> dict[str, Any]:
        """The entry of `name`; empty when `name` serves from its own table with the configured model."""
        ...

    def change(self, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Replace the entry of `name` by `change(entry)` atomically; returns the new entry."""
        ...

    def drop(self, table: str) -> None:
        """Remove a table and what the store keeps beside it."""
        ...


@dataclass(frozen=True)
class Generation:
    """One table of vectors and the model that made them (None: the configured model, as before any migration)."""

    table: str
    model: str | None = None
    dimensions: int | None = None

    def describe(self) -> str:
        """`chunks__2026… (all-MiniLM-L6-v2, 256 dimensions)`."""
        made_by = self.model or "the configured model"
        return f"{self.table} ({made_by}, {self.dimensions or 'native'} dimensions)"


@dataclass(frozen=True)
class Migration:
    """A migration under way: its candidate table and model, and whether the candidate serves yet."""

    candidate: Generation
    state: State
    started_at: str


@dataclass(frozen=True)
class Serving:
    """What answers for a table name: the serving generation, the one kept for rollback, a migration if any."""

    name: str
    current: Generation
    previous: Generation | None
    migration: Migration | None

    def describe_migration(self) -> str:
        """One line for `vectorsync info`: no migration, or its state and the command that moves it on."""
        if self.migration is None:
            return "none"
        if self.migration.state == "building":
            return f"building {self.migration.candidate.describe()}; the old table serves until it is switched"
        return (
            f"switched to {self.migration.candidate.describe()}; {self.previous.table if self.previous else '?'} "
            "is kept: vectorsync migrate --finish drops it, --rollback serves it again"
        )


def pointers_for(settings: Settings) -> Pointers:
    """The serving pointers of the store `settings` point at: active.json, or MongoDB's `vectorsync_serving`."""
    if settings.store_kind == "mongodb":
        from vectorsync.stores.mongo_pointers import MongoPointers

        return MongoPointers.from_settings(settings)
    return LancePointers(settings.data_dir / "lancedb")


def served_name(settings: Settings) -> str:
    """The name a migration moves: the configured LanceDB table, or MongoDB collection."""
    return settings.mongodb_collection if settings.store_kind == "mongodb" else settings.table


def read_serving(pointers: Pointers, name: str) -> Serving:
    """What serves `name` now."""
    return serving_of(name, pointers.read(name))


def serving_of(name: str, entry: dict[str, Any]) -> Serving:
    """What a pointer entry of `name` says serves it."""
    current = Generation(entry.get("serving", name), entry.get("model"), entry.get("dimensions"))
    previous = None
    if entry.get("previous"):
        previous = Generation(entry["previous"], entry.get("previous_model"), entry.get("previous_dimensions"))
    migration = None
    if found := entry.get("migration"):
        candidate = Generation(found["table"], found.get("model"), found.get("dimensions"))
        migration = Migration(candidate, found["state"], found["started_at"])
    return Serving(name, current, previous, migration)


def in_force(settings: Settings, serving: Serving) -> Settings:
    """`settings` aimed at the serving table, with the model and dimensions its vectors were made with.

    A model or dimensions set explicitly that differ from the serving table's would mix two models in one index,
    so they are refused, naming the setting.
    """
    table_field = "mongodb_collection" if settings.store_kind == "mongodb" else "table"
    current = serving.current
    if current.model is None:
        return settings.model_copy(update={table_field: current.table})
    if settings.model is not None and settings.model != current.model:
        raise ConfigError(
            f"{Settings.origin('model')}={settings.model}: {serving.name} is served by {current.describe()} since a "
            "migration; unset it, set it to that model, or change models with vectorsync migrate"
        )
    if settings.dimensions is not None and settings.dimensions != current.dimensions:
        raise ConfigError(
            f"{Settings.origin('dimensions')}={settings.dimensions}: {serving.name} is served by "
            f"{current.describe()}; unset it, or change dimensions with vectorsync migrate"
        )
    return settings.model_copy(
        update={table_field: current.table, "model": current.model, "dimensions": current.dimensions}
    )


def serving_settings(settings: Settings) -> Settings:
    """The settings that search, run and info use: the serving table (or collection) of the name and its model.

    The pointer is read once, so the table searched and the model that embeds the query always belong together.
    """
    return in_force(settings, read_serving(pointers_for(settings), served_name(settings)))


def begin(pointers: Pointers, name: str, model: str, dimensions: int | None) -> Generation:
    """Record a migration of `name` to `model` and return its candidate table, which nothing serves yet."""
    candidate = Generation(candidate_table(name), model, dimensions)

    def start(entry: dict[str, Any]) -> dict[str, Any]:
        if entry.get("migration"):
            under_way = serving_of(name, entry)
            raise MigrationError(f"{name}: a migration is under way ({under_way.describe_migration()})")
        state = {"table": candidate.table, "model": model, "dimensions": dimensions, "state": "building"}
        return {**entry, "migration": {**state, "started_at": datetime.now(UTC).isoformat()}}

    pointers.change(name, start)
    return candidate


def switch(pointers: Pointers, name: str) -> Serving:
    """Make the candidate serve `name`; the table it replaces is kept for rollback, an older one is dropped."""

    def serve_candidate(serving: Serving, entry: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        if serving.migration is None or serving.migration.state != "building":
            raise MigrationError(f"{name}: no migration is building a candidate to switch to")
        candidate, old = serving.migration.candidate, serving.current
        previous = serving.previous
        stale = [previous.table] if previous and previous.table not in (old.table, candidate.table) else []
        return {**_generation_keys(candidate, old), "migration": {**entry["migration"], "state": "switched"}}, stale

    return _move(pointers, name, serve_candidate)


def finish(pointers: Pointers, name: str) -> Serving:
    """End a switched migration: drop the table it replaced, which no rollback can serve any more."""

    def forget_previous(serving: Serving, entry: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        if serving.migration is None:
            raise MigrationError(f"{name}: no migration to finish; {serving.current.describe()} serves")
        if serving.migration.state != "switched":
            raise MigrationError(
                f"{name}: the migration to {serving.migration.candidate.describe()} is still building; let it "
                "switch, or stop it with vectorsync migrate --rollback"
            )
        return _generation_keys(serving.current, None), [serving.previous.table] if serving.previous else []

    return _move(pointers, name, forget_previous)


def rollback(pointers: Pointers, name: str) -> Serving:
    """Undo a migration: the table that served before serves again, and the candidate is dropped."""

    def restore(serving: Serving, entry: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        if serving.migration is None:
            raise MigrationError(f"{name}: no migration to roll back; {serving.current.describe()} serves")
        dropped = [serving.migration.candidate.table]
        if serving.migration.state == "building":
            return {key: value for key, value in entry.items() if key != "migration"}, dropped
        if serving.previous is None:
            raise MigrationError(f"{name}: the table that served before the migration is gone; nothing to restore")
        return _generation_keys(serving.previous, None), dropped

    return _move(pointers, name, restore)


def _move(
    pointers: Pointers, name: str, step: Callable[[Serving, dict[str, Any]], tuple[dict[str, Any], list[str]]]
) -> Serving:
    """Change `name`'s pointer by `step` (the new entry, and the tables it leaves unserved), then drop those tables.

    Tables are dropped only after the pointer moved, and only those of the step that took effect: a pointer store
    may call `step` again when another writer changed the entry first.
    """
    dropped: list[str] = []

    def change(entry: dict[str, Any]) -> dict[str, Any]:
        moved, dropped[:] = step(serving_of(name, entry), entry)
        return moved

    entry = pointers.change(name, change)
    for table in dropped:
        pointers.drop(table)
    return serving_of(name, entry)


def _generation_keys(current: Generation, previous: Generation | None) -> dict[str, Any]:
    """A pointer entry (without migration) that serves `current` and keeps `previous`."""
    entry: dict[str, Any] = {"serving": current.table, "model": current.model, "dimensions": current.dimensions}
    if previous is not None:
        entry |= {
            "previous": previous.table,
            "previous_model": previous.model,
            "previous_dimensions": previous.dimensions,
        }
    return entry
