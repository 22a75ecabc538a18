"""JSON Lines files: one record per line holding a JSON object, read line by line."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path

from vectorsync.records import Record, Skip
from vectorsync.sources.options import LoadOptions
from vectorsync.sources.rows import RowRecords


def load_jsonl(path: Path, source: str, options: LoadOptions) -> Iterator[Record | Skip]:
    """Yield a record per object line (id `source#L<line>` or `source#<id_field>`); bad lines become skips."""
    rows = RowRecords(path, source, options)
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            location = f"line {number}"
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield Skip(source, f"not UTF-8 (byte {exc.start + 1}); JSON Lines must be UTF-8", location)
                continue
            except json.JSONDecodeError as exc:
                yield Skip(source, f"malformed JSON: {exc.msg} (column {exc.colno})", location)
                continue
            if not isinstance(row, dict):
                yield Skip(source, f"expected a JSON object, got {type(row).__name__}", location)
                continue
            yield from rows.convert(row, f"L{number}", location)
    rows.strip_controls.warn()
