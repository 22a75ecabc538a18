"""CSV files with a header row: one record per row, read row by row."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from vectorsync.records import Record, Skip
from vectorsync.sources.decoding import detect_encoding, open_text
from vectorsync.sources.options import LoadOptions
from vectorsync.sources.rows import RowRecords


def load_csv(path: Path, source: str, options: LoadOptions) -> Iterator[Record | Skip]:
    """Yield a record per row (id `source#row-<n>` or `source#<id_field>`); bad rows become skips."""
    encoding = detect_encoding(path)
    if encoding is None:
        yield Skip(source, "binary content, not CSV text (is the file extension right?)")
        return
    rows = RowRecords(path, source, options)
    with open_text(path, encoding, newline="") as stream:
        reader = csv.DictReader(stream)
        if (columns := reader.fieldnames) is None:
            return
        if missing := [name for name in options.fields if name not in columns]:
            yield Skip(source, f"no column '{missing[0]}' in the header (columns: {', '.join(columns)})", "line 1")
            return
        number = 0
        while True:
            number += 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield Skip(source, f"malformed CSV: {exc}", f"row {number}")
                continue
            yield from rows.convert(row, f"row-{number}", f"row {number}")
    rows.strip_controls.warn()
