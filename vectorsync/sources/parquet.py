"""Parquet files: one record per row, streamed in batches so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vectorsync.records import Record, Skip
from vectorsync.sources.options import LoadOptions
from vectorsync.sources.rows import RowRecords

_BATCH_ROWS = 1024


def load_parquet(path: Path, source: str, options: LoadOptions) -> Iterator[Record | Skip]:
    """Yield a record per row (id `source#row-<n>` or `source#<id_field>`); a text column must hold strings."""
    try:
        # pre_buffer would read every row group ahead; without it Arrow holds about one row group at a time.
        parquet = pq.ParquetFile(path, pre_buffer=False)
    except (pa.ArrowException, OSError) as exc:
        yield Skip(source, f"not a readable Parquet file ({exc})")
        return
    with parquet:
        schema = parquet.schema_arrow
        for name in options.fields:
            if schema.get_field_index(name) == -1:
                yield Skip(source, f"no column '{name}' (columns: {', '.join(schema.names)})")
                return
            if not _holds_text(schema.field(name).type):
                yield Skip(source, f"column '{name}' is {schema.field(name).type}, not strings")
                return
        rows = RowRecords(path, source, options)
        number = 0
        try:
            for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
                for row in batch.to_pylist():
                    number += 1
                    yield from rows.convert(row, f"row-{number}", f"row {number}")
        except (pa.ArrowException, OSError) as exc:
            yield Skip(source, f"damaged Parquet data after row {number} ({exc})", f"row {number + 1}")
    rows.strip_controls.warn()


def _holds_text(column: pa.DataType) -> bool:
    if pa.types.is_dictionary(column):
        column = column.value_type
    return bool(pa.types.is_string(column) or pa.types.is_large_string(column) or pa.types.is_string_view(column))
