"""Where a MongoDB collection keeps its int8 calibration: one document per vector field in `<collection>_calibration`.

Queries must be quantised with the ranges the stored vectors were, so the first write of a collection calibrates
on its own vectors and stores the ranges; every later write and every search reads them back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from vectorsync.errors import StoreError
from vectorsync.stores.quantization import Int8Calibration


def calibration_collection(chunks: Collection[dict[str, Any]]) -> Collection[dict[str, Any]]:
    """The collection beside `chunks` that holds its calibrations."""
    return chunks.database.get_collection(f"{chunks.name}_calibration", codec_options=chunks.codec_options)


def read_calibration(chunks: Collection[dict[str, Any]], vector_field: str) -> Int8Calibration | None:
    """The ranges stored for `vector_field` of `chunks`, or None when none were stored."""
    stored = calibration_collection(chunks).find_one({"_id": vector_field})
    return Int8Calibration.from_document(stored, _where(chunks, vector_field)) if stored else None


def calibrate(chunks: Collection[dict[str, Any]], vector_field: str, sample: np.ndarray, model: str) -> Int8Calibration:
    """The ranges stored for `vector_field`, or, when there are none yet, ranges from `sample`, stored first.

    Two writers calibrating at once both insert under one `_id`: the first wins and the second reads its ranges.
    """
    found = read_calibration(chunks, vector_field)
    if found is None:
        fresh = Int8Calibration.from_vectors(sample, model)
        try:
            calibration_collection(chunks).insert_one(fresh.to_document(vector_field))
            found = fresh
        except DuplicateKeyError:
            found = read_calibration(chunks, vector_field)
            if found is None:  # deleted between the two calls: nothing sensible to quantise with
                raise StoreError(f"the int8 calibration of {_where(chunks, vector_field)} vanished") from None
    if found.model != model:
        raise StoreError(
            f"{_where(chunks, vector_field)} is calibrated for model '{found.model}', not '{model}': int8 ranges fit "
            f"one model; use another collection, or drop {calibration_collection(chunks).full_name} with the vectors"
        )
    return found


def _where(chunks: Collection[dict[str, Any]], vector_field: str) -> str:
    return f"{chunks.full_name} field {vector_field!r}"
