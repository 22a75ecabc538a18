"""CSV files with a header row: one record per row, read row by row."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TextIO

from vectorsync.records import Record, Skip
from vectorsync.sources.decoding import detect_encoding, open_text
from vectorsync.sources.faults import describe, guarded, machine_fault
from vectorsync.sources.lines import bounded_lines
from vectorsync.sources.options import LoadOptions
from vectorsync.sources.rows import RowRecords


def load_csv(path: Path, source: str, options: LoadOptions) -> Iterator[Record | Skip]:
    """Yield a record per row (id `source#row-<n>` or `source#<id_field>`); bad rows become skips.

    A malformed row, a field or line over `options.max_line_chars` characters, or any error while one
    row is converted is a skip naming the row or line; the other rows still load.
    """
    encoding = detect_encoding(path)
    if encoding is None:
        yield Skip(source, "binary content, not CSV text (is the file extension right?)")
        return
    rows = RowRecords(path, source, options)
    with open_text(path, encoding, newline="") as stream:
        lines = _Lines(stream, options.max_line_chars)
        # A quoted field may span lines: the csv module's own (process-wide) limit bounds it like a line.
        csv.field_size_limit(options.max_line_chars)
        reader = csv.DictReader(lines)
        try:
            columns = reader.fieldnames
        except csv.Error as exc:
            yield Skip(source, f"malformed CSV header: {exc}", "line 1")
            return
        if columns is None:
            return
        columns = [rows.strip_controls.valid(name) for name in columns]
        if missing := [name for name in options.fields if name not in columns]:
            yield Skip(source, f"no column '{missing[0]}' in the header (columns: {', '.join(columns)})", "line 1")
            return
        reader.fieldnames = columns
        number = 0
        while True:
            number += 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except Exception as exc:
                if machine_fault(exc):
                    raise
                for skip in lines.skipped(source, number):
                    yield skip
                    number += 1
                reason = str(exc) if isinstance(exc, csv.Error) else describe(exc)
                yield Skip(source, f"malformed CSV: {reason}", f"row {number}")
                continue
            for skip in lines.skipped(source, number):
                yield skip
                number += 1
            yield from guarded(source, f"row {number}", partial(rows.convert, row, f"row-{number}", f"row {number}"))
        yield from lines.skipped(source, number)
    rows.strip_controls.warn()


class _Lines:
    """The stream's lines for the CSV reader; a line over the bound reaches it as a blank line, and is reported."""

    def __init__(self, stream: TextIO, limit: int) -> None:
        self.limit = limit
        self._lines = bounded_lines(stream, limit)
        self._number = 0
        self._too_long: list[int] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._number += 1
        if line is None:
            self._too_long.append(self._number)
            return "\n"
        return line

    def skipped(self, source: str, row: int) -> Iterator[Skip]:
        """A skip for each line over the bound passed since the last call; each counts as a row, from `row` on."""
        for offset, line in enumerate(self._too_long):
            yield Skip(source, f"line {line} is longer than {self.limit:,} characters, not read", f"row {row + offset}")
        self._too_long.clear()
