"""int8 vectors calibrated per dimension, as sentence-transformers' `quantize_embeddings(precision="int8")` makes them.

Each dimension's range (its minimum and maximum over a calibration sample) is cut into 256 equal bins, so a
collection's vectors and its queries must be quantised with the same ranges: they are stored beside the vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vectorsync.errors import StoreError


@dataclass(frozen=True)
class Int8Calibration:
    """Per-dimension `starts` (the minima) and `steps` (a 255th of each range) of one collection's int8 vectors.

    >>> calibration = Int8Calibration.from_vectors(sample, model="st:all-MiniLM-L6-v2")
    >>> calibration.quantize(vectors).dtype
    dtype('int8')
    """

    starts: np.ndarray
    steps: np.ndarray
    model: str
    sample_size: int

    @classmethod
    def from_vectors(cls, sample: np.ndarray, model: str) -> Int8Calibration:
        """Ranges from `sample` (vectors as rows), as sentence-transformers derives them from calibration embeddings."""
        values = np.asarray(sample, dtype=np.float32)
        if values.ndim != 2 or not len(values):
            raise StoreError(f"int8 calibration needs a non-empty 2-D sample of vectors, got shape {values.shape}")
        low, high = values.min(axis=0), values.max(axis=0)
        steps = (high - low) / 255
        # A dimension that never varied in the sample gets bins of width 1, as sentence-transformers gives it.
        return cls(low, np.where(steps == 0, 1, steps).astype(np.float32), model, len(values))

    @property
    def dimensions(self) -> int:
        """Length of the vectors these ranges fit."""
        return int(self.starts.size)

    def quantize(self, vectors: np.ndarray) -> np.ndarray:
        """Each component's bin, `floor((v - starts) / steps)` clipped to 0..255, less 128: sentence-transformers' int8.

        A value outside the sample's range lands in the nearest end bin.
        """
        values = np.asarray(vectors, dtype=np.float32)
        if values.shape[-1] != self.dimensions:
            raise StoreError(
                f"a {values.shape[-1]}-dimension vector cannot use int8 ranges calibrated for {self.dimensions}"
            )
        return (np.clip(np.floor((values - self.starts) / self.steps), 0, 255) - 128).astype(np.int8)

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        """Float vectors that `quantize` turns back into `codes` exactly: the middle of each code's bin."""
        bins = np.asarray(codes, dtype=np.float64) + 128
        return (self.starts + (bins + 0.5) * self.steps).astype(np.float32)

    def to_document(self, vector_field: str) -> dict[str, Any]:
        """The MongoDB document that keeps these ranges, keyed by the vector field they quantise."""
        return {
            "_id": vector_field,
            "scheme": "calibrated",
            "starts": self.starts.astype(float).tolist(),
            "steps": self.steps.astype(float).tolist(),
            "model": self.model,
            "sample_size": self.sample_size,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any], where: str) -> Int8Calibration:
        """Ranges read back from `to_document`'s form; `where` names the collection in the error of a damaged one."""
        try:
            starts = np.asarray(document["starts"], dtype=np.float32)
            steps = np.asarray(document["steps"], dtype=np.float32)
            model, size = str(document["model"]), int(document["sample_size"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"the int8 calibration in {where} is unreadable ({exc}): drop it and run again") from None
        if starts.ndim != 1 or starts.shape != steps.shape or not (steps > 0).all():
            raise StoreError(f"the int8 calibration in {where} is damaged (ranges of unequal length or width <= 0)")
        return cls(starts, steps, model, size)
