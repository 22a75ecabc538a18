"""Rows of JSONL, CSV and Parquet files to records: the text and id fields checked, other scalars as metadata."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from vectorsync.records import Record, Skip
from vectorsync.sources.decoding import ControlStripper
from vectorsync.sources.names import printable
from vectorsync.sources.options import LoadOptions
from vectorsync.sources.parts import bounded_parts, part_id

_SCALARS = (str, int, float, bool)
# Every store holds 64-bit integers; a larger one (BSON refuses it) is left out of the metadata.
_INT64 = range(-(1 << 63), 1 << 63)


class RowRecords:
    """Turns the rows of one file into records or skips; remembers ids, so a duplicate key is refused."""

    def __init__(self, path: Path, source: str, options: LoadOptions) -> None:
        self.source = source
        self.options = options
        self.file_metadata = {"type": path.suffix.lower().lstrip("."), "file_name": printable(path.name)}
        self.strip_controls = ControlStripper(source)
        self._seen: dict[str, str] = {}

    def convert(self, row: Mapping[Any, Any], number_key: str, location: str) -> Iterator[Record | Skip]:
        """Yield the row as a record (several parts if its text is huge), or one skip naming the field at fault.

        `number_key` (like `L7` or `row-7`) is the row's key when no `id_field` is set.
        """
        texts = []
        for name in self.options.fields:
            value = row.get(name)
            if not isinstance(value, str):
                reason = f"no '{name}' field" if name not in row else f"field '{name}' is {_kind(value)}, not text"
                yield Skip(self.source, reason, location)
                return
            texts.append(value)
        text = self.strip_controls(" ".join(texts))
        if not text.strip():
            names = ", ".join(f"'{name}'" for name in self.options.fields)
            yield Skip(self.source, f"field {names} holds only whitespace", location)
            return
        key = number_key
        if (id_field := self.options.id_field) is not None:
            value = row.get(id_field)
            if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
                reason = f"id field '{id_field}' is {_kind(value)}, not a string or integer"
                yield Skip(self.source, reason if id_field in row else f"no id field '{id_field}'", location)
                return
            key = self.strip_controls.valid(str(value))
            if key in self._seen:
                yield Skip(self.source, f"duplicate id '{key}' (first at {self._seen[key]})", location)
                return
            self._seen[key] = location
        metadata = self._metadata(row)
        for index, part in enumerate(bounded_parts([text], self.options.max_record_chars)):
            yield Record(part_id(f"{self.source}#{key}", index), self.source, part, dict(metadata))

    def _metadata(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        """The row's other scalar fields, as every store can hold them: valid text, 64-bit ints, finite floats."""
        metadata: dict[str, Any] = {}
        for name, value in row.items():
            if not isinstance(name, str) or name in self.options.fields or not isinstance(value, _SCALARS):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                continue
            if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
                continue
            metadata[self.strip_controls.valid(name)] = (
                self.strip_controls.valid(value) if isinstance(value, str) else value
            )
        metadata.update(self.file_metadata)
        return metadata


def _kind(value: object) -> str:
    """How a person would name a JSON or Arrow value's type in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "blank"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
