"""Pure builders for the MongoDB store: index definitions, `$vectorSearch` pipelines, bulk writes, BSON vectors.

Nothing here talks to a server, so every command the store sends can be checked without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

import numpy as np
from bson.binary import Binary, BinaryVectorDtype
from pymongo import UpdateOne

from vectorsync.errors import ConfigError, StoreError
from vectorsync.records import Chunk
from vectorsync.stores.base import IndexSpec
from vectorsync.stores.quantization import Int8Calibration

VectorFormat = Literal["float32", "array", "int8", "packed_bit"]
Int8Scheme = Literal["per_vector", "calibrated"]

# Atlas caps numCandidates at 10,000.
MAX_NUM_CANDIDATES = 10_000

_T = TypeVar("_T")


def index_definition(
    spec: IndexSpec, vector_field: str = "embedding", vector_format: VectorFormat = "float32"
) -> dict[str, Any]:
    """The `vectorSearch` index definition for `spec`: one vector field, then one filter field per filterable path.

    Raises `ConfigError` for combinations Atlas refuses: int1 vectors compare by Hamming distance (euclidean only)
    and need a multiple of 8 dimensions; pre-quantized vectors take no further quantization.
    """
    if vector_format == "packed_bit":
        if spec.similarity != "euclidean":
            raise ConfigError(
                "vector_format packed_bit needs similarity euclidean (Atlas compares bit vectors by Hamming "
                f"distance), got {spec.similarity}; set VECTORSYNC_SIMILARITY=euclidean"
            )
        if spec.dimensions % 8:
            raise ConfigError(
                f"vector_format packed_bit needs a multiple of 8 dimensions, the model gives {spec.dimensions}"
            )
    if vector_format == "int8" and spec.similarity != "cosine":
        raise ConfigError(
            "vector_format int8 scales each vector to the int8 range, which keeps only its direction; "
            f"use similarity cosine, not {spec.similarity}"
        )
    if spec.quantization and vector_format in ("int8", "packed_bit"):
        raise ConfigError(
            f"quantization {spec.quantization} applies to float vectors only; "
            f"vector_format {vector_format} is already quantized"
        )
    vector: dict[str, Any] = {
        "type": "vector",
        "path": vector_field,
        "numDimensions": spec.dimensions,
        "similarity": spec.similarity,
    }
    if spec.quantization:
        vector["quantization"] = spec.quantization
    return {"fields": [vector, *({"type": "filter", "path": path} for path in spec.filter_fields)]}


def vector_field_of(definition: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `vector` entry of an index definition, or an empty mapping when it has none."""
    return next((f for f in definition.get("fields", ()) if f.get("type") == "vector"), {})


def filter_paths(definition: Mapping[str, Any]) -> tuple[str, ...]:
    """The paths an index definition allows `$vectorSearch` filters on, in definition order."""
    return tuple(f["path"] for f in definition.get("fields", ()) if f.get("type") == "filter")


def definition_differences(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """What tells `current` apart from `wanted`, one phrase per difference; empty when they index the same way.

    Only what changes the index counts: the server may add defaults of its own to the definition it reports.
    """
    have, want = vector_field_of(current), vector_field_of(wanted)
    differences = [
        f"{key} {have.get(key, default)!r} -> {want.get(key, default)!r}"
        for key, default in (("path", None), ("numDimensions", None), ("similarity", None), ("quantization", "none"))
        if have.get(key, default) != want.get(key, default)
    ]
    if set(filter_paths(current)) != set(filter_paths(wanted)):
        differences.append(f"filter fields {sorted(filter_paths(current))} -> {sorted(filter_paths(wanted))}")
    return differences


def default_num_candidates(k: int) -> int:
    """Candidates for an ANN search of `k` results: 20 per result as Atlas recommends, at least 100."""
    return min(max(20 * k, 100), MAX_NUM_CANDIDATES)


def vector_search_pipeline(
    query_vector: Binary | list[float],
    *,
    index: str,
    path: str,
    k: int,
    filter: Mapping[str, Any] | None = None,
    num_candidates: int | None = None,
    exact: bool = False,
) -> list[dict[str, Any]]:
    """`$vectorSearch` then a `$project` of the hit's fields and score; `filter` must already be in Mongo form."""
    if k < 1:
        raise StoreError(f"search needs k >= 1, got {k}")
    stage: dict[str, Any] = {"index": index, "path": path, "queryVector": query_vector, "limit": k}
    if exact:
        stage["exact"] = True
    else:
        if k > MAX_NUM_CANDIDATES:
            raise StoreError(
                f"k={k} exceeds the {MAX_NUM_CANDIDATES:,} candidates an ANN search may consider; search exact"
            )
        candidates = default_num_candidates(k) if num_candidates is None else num_candidates
        stage["numCandidates"] = min(max(candidates, k), MAX_NUM_CANDIDATES)
    if filter:
        stage["filter"] = dict(filter)
    project = {
        "_id": 1,
        "text": 1,
        "source": 1,
        "document": 1,
        "chunk_index": 1,
        "metadata": 1,
        "score": {"$meta": "vectorSearchScore"},
    }
    return [{"$vectorSearch": stage}, {"$project": project}]


def encode_vector(
    vector: np.ndarray | Sequence[float],
    vector_format: VectorFormat = "float32",
    calibration: Int8Calibration | None = None,
) -> Binary | list[float]:
    """One float vector in the stored form: a BSON binary vector (float32, int8, packed bits) or a plain array.

    int8 uses the collection's per-dimension `calibration` when given (sentence-transformers' calibrated int8),
    else scales the vector so its largest component is ±127 (direction kept, so cosine only). Packed bits keep
    the sign of each component (1 when > 0): sentence-transformers' "ubinary", Atlas's own binary midpoint.
    """
    values = np.asarray(vector, dtype=np.float32)
    if values.ndim != 1:
        raise StoreError(f"a vector must be one-dimensional, got shape {values.shape}")
    if vector_format == "array":
        return values.tolist()
    if vector_format == "float32":
        return Binary.from_vector(values, BinaryVectorDtype.FLOAT32)
    if vector_format == "int8" and calibration is not None:
        return Binary.from_vector(calibration.quantize(values).tolist(), BinaryVectorDtype.INT8)
    if vector_format == "int8":
        peak = float(np.abs(values).max()) if values.size else 0.0
        scaled = np.rint(values * (127.0 / peak)) if peak > 0 else np.zeros_like(values)
        return Binary.from_vector(scaled.astype(np.int8).tolist(), BinaryVectorDtype.INT8)
    if vector_format == "packed_bit":
        bits = np.packbits(values > 0)
        return Binary.from_vector(bits.tolist(), BinaryVectorDtype.PACKED_BIT, padding=(-values.size) % 8)
    raise ConfigError(f"vector_format must be float32, array, int8 or packed_bit, got {vector_format!r}")


def decode_vector(
    value: Binary | Sequence[float], dimensions: int | None = None, calibration: Int8Calibration | None = None
) -> np.ndarray:
    """A stored vector back as float32, in a form `encode_vector` turns into the same stored value.

    Calibrated int8 comes back inside each code's bin; per-vector int8 as its integers (the scale is gone, the
    direction kept); packed bits as ±1 per component, cut to `dimensions` when given.
    """
    if not isinstance(value, Binary):
        return np.asarray(value, dtype=np.float32)
    vector = value.as_vector()
    if vector.dtype == BinaryVectorDtype.PACKED_BIT:
        bits = np.unpackbits(np.asarray(vector.data, dtype=np.uint8))
        bits = bits[: dimensions if dimensions is not None else bits.size - vector.padding]
        return np.where(bits == 1, 1.0, -1.0).astype(np.float32)
    if vector.dtype == BinaryVectorDtype.INT8 and calibration is not None:
        return calibration.dequantize(np.asarray(vector.data))
    return np.asarray(vector.data, dtype=np.float32)


def chunk_document(
    chunk: Chunk,
    vector: np.ndarray,
    *,
    model: str,
    updated_at: datetime,
    vector_field: str = "embedding",
    vector_format: VectorFormat = "float32",
    calibration: Int8Calibration | None = None,
) -> dict[str, Any]:
    """The MongoDB document of one chunk, keyed by the chunk id; int8 `calibration` as `encode_vector` takes it."""
    return {
        "_id": chunk.id,
        "document": chunk.document,
        "source": chunk.source,
        "text": chunk.text,
        "chunk_index": chunk.chunk_index,
        "metadata": chunk.metadata,
        vector_field: encode_vector(vector, vector_format, calibration),
        "embedding_model": model,
        "dimensions": int(np.asarray(vector).shape[-1]),
        "fingerprint": chunk.fingerprint,
        "updated_at": updated_at,
    }


def upsert_operations(documents: Iterable[Mapping[str, Any]]) -> list[UpdateOne]:
    """One idempotent `UpdateOne(upsert=True)` per document, matched by `_id`, so a rerun never duplicates."""
    return [
        UpdateOne({"_id": doc["_id"]}, {"$set": {k: v for k, v in doc.items() if k != "_id"}}, upsert=True)
        for doc in documents
    ]


def batched(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    """Consecutive slices of at most `size` items."""
    if size < 1:
        raise ConfigError(f"batch size must be at least 1, got {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bulk_write_failures(details: Mapping[str, Any], ids: Sequence[Any], limit: int = 5) -> str:
    """The ids and server reasons of a `BulkWriteError`, at most `limit` of them, for an error message."""
    errors = details.get("writeErrors", [])
    named = [f"{ids[e['index']]!s} ({e.get('errmsg', 'no reason given')})" for e in errors[:limit]]
    if len(errors) > limit:
        named.append(f"and {len(errors) - limit} more")
    named += [f"write concern: {e.get('errmsg', e)}" for e in details.get("writeConcernErrors", [])]
    return "; ".join(named) or "no detail from the server"


def index_message(info: Mapping[str, Any]) -> str | None:
    """The server's explanation of an index state, from `$listSearchIndexes` output, when it gives one."""
    messages = [info.get("message")]
    for host in info.get("statusDetail", ()):
        messages += [host.get("message"), (host.get("mainIndex") or {}).get("message")]
    found = list(dict.fromkeys(m for m in messages if m))
    return "; ".join(found) or None
