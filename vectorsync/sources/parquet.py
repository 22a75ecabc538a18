"""Parquet files: one record per row, streamed row group by row group so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vectorsync.records import Record, Skip
from vectorsync.sources.faults import describe, guarded, machine_fault
from vectorsync.sources.options import LoadOptions
from vectorsync.sources.rows import RowRecords

_BATCH_ROWS = 1024


def load_parquet(path: Path, source: str, options: LoadOptions) -> Iterator[Record | Skip]:
    """Yield a record per row (id `source#row-<n>` or `source#<id_field>`); a text column must hold strings.

    A row group that cannot be decoded is one skip naming its rows, a row that cannot be converted one
    skip naming the row; the other row groups and rows still load. Nested columns (lists, structs, maps)
    are never metadata, so they are not read.
    """
    try:
        # pre_buffer would read every row group ahead; without it Arrow holds about one row group at a time.
        parquet = pq.ParquetFile(path, pre_buffer=False)
        schema = parquet.schema_arrow
    except Exception as exc:
        if machine_fault(exc):
            raise
        yield Skip(source, f"not a readable Parquet file ({describe(exc)})")
        return
    with parquet:
        for name in options.fields:
            if schema.get_field_index(name) == -1:
                yield Skip(source, f"no column '{name}' (columns: {', '.join(schema.names)})")
                return
            if not _holds_text(schema.field(name).type):
                yield Skip(source, f"column '{name}' is {schema.field(name).type}, not strings")
                return
        rows = RowRecords(path, source, options)
        wanted = {*options.fields, options.id_field}
        flat = (field.name for field in schema if field.name in wanted or not pa.types.is_nested(field.type))
        columns = list(dict.fromkeys(flat))
        first = 1
        for group in range(parquet.num_row_groups):
            size = parquet.metadata.row_group(group).num_rows
            yield from _row_group(parquet, group, columns, rows, first, size)
            first += size
    rows.strip_controls.warn()


def _row_group(
    parquet: pq.ParquetFile, group: int, columns: list[str], rows: RowRecords, first: int, size: int
) -> Iterator[Record | Skip]:
    number = first
    try:
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, row_groups=[group], columns=columns):
            for row in _python_rows(batch):
                location = f"row {number}"
                if isinstance(row, Exception):
                    yield Skip(rows.source, f"cannot read the row ({describe(row)})", location)
                else:
                    yield from guarded(rows.source, location, partial(rows.convert, row, f"row-{number}", location))
                number += 1
    except Exception as exc:
        if machine_fault(exc):
            raise
        last = first + size - 1
        where = f"rows {number}-{last}" if last > number else f"row {number}"
        yield Skip(rows.source, f"damaged Parquet data in row group {group + 1} ({describe(exc)})", where)


def _python_rows(batch: pa.RecordBatch) -> Iterator[dict[str, Any] | Exception]:
    """The batch's rows as dicts; when the batch will not convert as a whole, row by row, an error for each bad one."""
    try:
        yield from batch.to_pylist()
        return
    except Exception as exc:
        if machine_fault(exc):
            raise
    for index in range(batch.num_rows):
        try:
            yield batch.slice(index, 1).to_pylist()[0]
        except Exception as exc:
            if machine_fault(exc):
                raise
            yield exc


def _holds_text(column: pa.DataType) -> bool:
    if pa.types.is_dictionary(column):
        column = column.value_type
    return bool(pa.types.is_string(column) or pa.types.is_large_string(column) or pa.types.is_string_view(column))
