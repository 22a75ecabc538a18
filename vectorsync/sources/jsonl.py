"""JSON Lines files: one record per line holding a JSON object, read line by line."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path

from vectorsync.records import Record, Skip
from vectorsync.sources.decoding import head_of, looks_binary
from vectorsync.sources.faults import guarded
from vectorsync.sources.lines import bounded_lines
from vectorsync.sources.options import LoadOptions
from vectorsync.sources.rows import RowRecords

# Python refuses to turn longer digit strings into an int (sys.get_int_max_str_digits), and no store holds one.
_MAX_INT_DIGITS = 4000


def load_jsonl(path: Path, source: str, options: LoadOptions) -> Iterator[Record | Skip]:
    """Yield a record per object line (id `source#L<line>` or `source#<id_field>`); bad lines become skips.

    Any error while one line is parsed or converted (malformed or deeply nested JSON, a line over
    `options.max_line_chars` bytes) is a skip naming the line; the other lines still load.
    """
    if looks_binary(head_of(path).removeprefix(codecs.BOM_UTF8)):
        yield Skip(source, "binary content, not JSON Lines text (compressed? is the file extension right?)")
        return
    rows = RowRecords(path, source, options)
    with path.open("rb") as stream:
        for number, raw in enumerate(bounded_lines(stream, options.max_line_chars), start=1):
            location = f"line {number}"
            if raw is None:
                yield Skip(source, f"line longer than {options.max_line_chars:,} bytes, not read", location)
                continue
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if raw.strip():
                yield from guarded(source, location, partial(_line, rows, raw, number, location))
    rows.strip_controls.warn()


def _line(rows: RowRecords, raw: bytes, number: int, location: str) -> Iterator[Record | Skip]:
    try:
        row = json.loads(raw.decode("utf-8"), parse_int=_integer)
    except UnicodeDecodeError as exc:
        yield Skip(rows.source, f"not UTF-8 (byte {exc.start + 1}); JSON Lines must be UTF-8", location)
        return
    except json.JSONDecodeError as exc:
        yield Skip(rows.source, f"malformed JSON: {exc.msg} (column {exc.colno})", location)
        return
    if not isinstance(row, dict):
        yield Skip(rows.source, f"expected a JSON object, got {type(row).__name__}", location)
        return
    yield from rows.convert(row, f"L{number}", location)


def _integer(digits: str) -> int | Decimal:
    """A JSON integer; one too long for an int stays a `Decimal`, which is never metadata nor an id."""
    return int(digits) if len(digits) <= _MAX_INT_DIGITS else Decimal(digits)
