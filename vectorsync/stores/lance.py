"""The embedded default store: a LanceDB table on disk, with an ANN index and SQL pre-filtering."""

from __future__ import annotations

import fcntl
import json
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import IvfFlat

from vectorsync.errors import DimensionMismatch, StoreError
from vectorsync.filters import to_lance_sql
from vectorsync.records import Chunk, Hit
from vectorsync.stores.base import DeadLetter, FingerprintSource, IndexSpec, IndexStatus, VectorStore

log = logging.getLogger(__name__)

# Up to this many rows a search scans every vector: exact, and about 0.1 s for 384 dimensions on 2 busy cores
# (benchmarks/ann_recall.py measures the crossover); larger tables get an ANN index.
EXACT_MAX_ROWS = 25_000
# Atlas recommends 10-20x k candidates and caps numCandidates at 10,000; the same numbers set the effort here.
CANDIDATES_PER_RESULT = 20
MIN_CANDIDATES = 100
MAX_NUM_CANDIDATES = 10_000
# IVF_FLAT keeps full-precision vectors, so its scores are true ones and it builds in seconds (IVF_HNSW_SQ took
# 553 s for 100,000 vectors on 2 cores, and its scalar quantisation clips vectors unlike the bulk of the table).
ANN_INDEX_TYPE = "IvfFlat"
# An index is retrained once the table has grown this much past the rows its partitions were trained on.
RETRAIN_GROWTH = 2.0
# Vectors per partition that train the centroids: FAISS's floor is 39; LanceDB's default of 256 doubled the build
# time at 100,000 rows (16 s against 8 s on 2 cores) with no recall to show for it (benchmarks/ann_recall.py).
TRAINING_VECTORS_PER_PARTITION = 64
# Probing: every query scans at least MIN_PROBED of the partitions (and MIN_PROBES of them), and enough of them
# to hold SCANNED_PER_CANDIDATE rows per candidate; measured for recall@10 >= 0.98 by benchmarks/ann_recall.py.
MIN_PROBES = 20
MIN_PROBED = 0.05
SCANNED_PER_CANDIDATE = 50
MAX_REFINE_FACTOR = 20
_SQL_IN_SLICE = 500
# LanceDB's session caches, bounded: its default metadata cache kept a manifest per table version, and a run that
# opens the table for each of its 1,000 writes grew by 560 MiB. Even a 32 MiB bound filled only as the manifests
# grew with the table: 8 MiB held a million-chunk run 35 MiB lower, at the same speed (benchmarks/scale.py).
METADATA_CACHE_BYTES = 8 << 20
INDEX_CACHE_BYTES = 256 << 20
# Below this many rows a lookup scan costs less than keeping b-tree indexes on `document` and `id`.
LOOKUP_INDEX_MIN_ROWS = 10_000
_LOOKUP_COLUMNS = ("document", "id")
_LANCE_METRIC = {"cosine": "cosine", "dotProduct": "dot", "euclidean": "l2"}
_DEAD_LETTER_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("source", pa.string()),
        ("location", pa.string()),
        ("document", pa.string()),
        ("reason", pa.string()),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
    ]
)


def chunk_schema(dimensions: int) -> pa.Schema:
    """Column layout of the chunks table; `metadata` is a Lance JSON column so filters can reach inside."""
    return pa.schema(
        [
            ("id", pa.string()),
            ("document", pa.string()),
            ("source", pa.string()),
            ("text", pa.string()),
            ("chunk_index", pa.int64()),
            ("metadata", pa.json_()),
            ("embedding_model", pa.string()),
            ("dimensions", pa.int32()),
            ("fingerprint", pa.string()),
            ("updated_at", pa.timestamp("us", tz="UTC")),
            ("vector", pa.list_(pa.float32(), dimensions)),
        ]
    )


class LanceStore(VectorStore):
    """Chunks in a LanceDB table under `path`; the index definition is kept beside it as JSON."""

    kind = "lancedb"

    def __init__(
        self,
        path: str | Path,
        table: str = "chunks",
        filter_fields: Sequence[str] = (),
        exact_max_rows: int = EXACT_MAX_ROWS,
    ) -> None:
        self.path = Path(path)
        self.table_name = table
        self.default_filter_fields = tuple(filter_fields)
        self.exact_max_rows = exact_max_rows
        self.path.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path)

    def describe(self) -> str:
        return f"lancedb {self.path} table {self.table_name}"

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, model: str, new: bool = False) -> int:
        if not chunks:
            return 0
        if len(chunks) != len(vectors):
            raise StoreError(f"{len(chunks)} chunks but {len(vectors)} vectors in one write")
        dims = int(vectors.shape[1])
        table = self._table()
        stored = None if table is None else int(table.schema.field("vector").type.list_size)
        if stored is not None and stored != dims:
            raise DimensionMismatch(
                f"{self.describe()} holds {stored}-dimension vectors but model '{model}' produces {dims}; "
                "use another table or data directory, or delete the old vectors"
            )
        rows = _to_arrow(chunks, vectors, model, dims)
        table = table or self._create_table(rows, dims)
        if table is None:
            return len(chunks)
        if new:  # an append: matching ids would scan the whole id column, seconds per write at a million rows
            table.add(rows)
        else:
            table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(rows)
        return len(chunks)

    def _create_table(self, rows: pa.Table, dims: int) -> Any:
        """Create the table with `rows`, or return it when a concurrent writer created it first.

        Two first writes racing to create the table would otherwise lose one batch or fail.
        """
        with open(self.path / f".{self.table_name}.create.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            table = self._table()
            if table is None:
                self._db.create_table(self.table_name, rows, schema=chunk_schema(dims))
            return table

    def fingerprints(self, documents: Iterable[str]) -> dict[str, str]:
        return _fingerprints(self._table(), documents)

    def snapshot(self) -> FingerprintSource:
        """The table as it is now, pinned: lookups never scan the rows this run appends after it."""
        table = self._table()
        return _Pinned(self.path, self.table_name, None if table is None else table.version)

    def documents(self) -> dict[str, str]:
        table = self._table()
        if table is None:
            return {}
        rows = table.search().select(["document", "source"]).limit(None).to_arrow()
        return dict(zip(rows["document"].to_pylist(), rows["source"].to_pylist(), strict=True))

    def delete_chunks(self, ids: Iterable[str]) -> int:
        return self._delete("id", ids)

    def delete_documents(self, documents: Iterable[str]) -> int:
        return self._delete("document", documents)

    def count(self) -> int:
        table = self._table()
        return table.count_rows() if table is not None else 0

    def stored_dimensions(self) -> int | None:
        table = self._table()
        if table is None:
            return None
        return int(table.schema.field("vector").type.list_size)

    def stored_models(self) -> set[str]:
        table = self._table()
        if table is None:
            return set()
        rows = table.search().select(["embedding_model"]).limit(None).to_arrow()
        return set(rows["embedding_model"].to_pylist())

    def get_vector(self, chunk_id: str) -> np.ndarray | None:
        table = self._table()
        if table is None:
            return None
        where = next(_in_clauses("id", [chunk_id]))
        rows = table.search().where(where).select(["vector"]).limit(1).to_arrow()
        return np.asarray(rows["vector"][0].as_py(), dtype=np.float32) if rows.num_rows else None

    def ensure_index(self, spec: IndexSpec, timeout_s: float = 300.0) -> IndexStatus:
        stored = self.stored_dimensions()
        if stored is not None and stored != spec.dimensions:
            raise DimensionMismatch(
                f"index '{spec.name}' is asked for {spec.dimensions} dimensions but {self.describe()} "
                f"holds {stored}-dimension vectors"
            )
        self._spec_file().write_text(json.dumps(_spec_to_json(spec), indent=2))
        table = self._table()
        if table is not None:
            self._build_indexes(table, spec)
            # Above the exact-search size the ANN step has just optimized the table, lookup indexes included.
            _index_lookups(table, fold_new_rows=table.count_rows() <= self.exact_max_rows)
        return self.index_status(spec.name)

    def index_status(self, name: str) -> IndexStatus:
        spec = self._spec()
        if spec is None or spec.name != name:
            return IndexStatus(name=name, state="ABSENT", queryable=False)
        table = self._table()
        rows = table.count_rows() if table is not None else 0
        ann = table is not None and self._ann_index(table, name) is not None
        state = "READY" if ann or rows <= self.exact_max_rows else "STALE"
        return IndexStatus(
            name=name,
            state=state,
            queryable=state == "READY",
            dimensions=spec.dimensions,
            definition={**_spec_to_json(spec), "ann": ann, "rows": rows, "exact_max_rows": self.exact_max_rows},
        )

    def search(
        self,
        vector: np.ndarray,
        k: int = 5,
        filter: dict[str, Any] | None = None,
        num_candidates: int | None = None,
        exact: bool = False,
    ) -> list[Hit]:
        """The `k` nearest chunks; exact on small tables, else the ANN index with every hit re-scored exactly."""
        table = self._table()
        if table is None:
            return []
        spec = self._spec()
        similarity = spec.similarity if spec else "cosine"
        query = table.search(np.asarray(vector, dtype=np.float32)).distance_type(_LANCE_METRIC[similarity]).limit(k)
        if filter:
            allowed = spec.filter_fields if spec else self.default_filter_fields
            query = query.where(to_lance_sql(filter, allowed), prefilter=True)
        rows = table.count_rows()
        if exact or rows <= self.exact_max_rows:
            query = query.bypass_vector_index()
        else:
            effort = search_effort(rows, self._trained_partitions(rows), k, num_candidates)
            # A narrow filter may leave too few rows in the probed partitions: then probe on until k are found.
            query = (
                query.minimum_nprobes(effort.nprobes)
                .maximum_nprobes(0 if filter else effort.nprobes)
                .ef(effort.candidates)
                .refine_factor(effort.refine_factor)
            )
        found = query.select(["id", "text", "source", "document", "chunk_index", "metadata", "_distance"]).to_list()
        return [_to_hit(row, similarity) for row in found]

    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        now = datetime.now(UTC)
        rows = pa.Table.from_pylist(
            [
                {
                    "key": _letter_key(x),
                    "source": x.source,
                    "location": x.location,
                    "document": x.document,
                    "reason": x.reason,
                    "recorded_at": now,
                }
                for x in {_letter_key(x): x for x in letters}.values()
            ],
            schema=_DEAD_LETTER_SCHEMA,
        )
        table = self._dead_letter_table(create=True)
        table.merge_insert("key").when_matched_update_all().when_not_matched_insert_all().execute(rows)

    def dead_letters(self) -> list[DeadLetter]:
        table = self._dead_letter_table()
        if table is None:
            return []
        rows = table.search().limit(None).to_list()
        return [DeadLetter(r["source"], r["reason"], r["location"], r["document"]) for r in rows]

    def clear_dead_letters(self, sources: Iterable[str]) -> None:
        table = self._dead_letter_table()
        if table is not None:
            for where in _in_clauses("source", sources):
                table.delete(where)

    def _table(self) -> Any:
        try:
            return self._db.open_table(self.table_name)
        except ValueError:
            return None

    def _dead_letter_table(self, create: bool = False) -> Any:
        name = f"{self.table_name}_dead_letters"
        try:
            return self._db.open_table(name)
        except ValueError:
            return self._db.create_table(name, schema=_DEAD_LETTER_SCHEMA) if create else None

    def _delete(self, column: str, values: Iterable[str]) -> int:
        table = self._table()
        if table is None:
            return 0
        removed = 0
        for where in _in_clauses(column, values):
            removed += table.count_rows(where)
            table.delete(where)
        return removed

    def _build_indexes(self, table: Any, spec: IndexSpec) -> None:
        rows = table.count_rows()
        if rows > self.exact_max_rows:
            index = self._ann_index(table, spec.name)
            trained = self._trained().get("rows", 0)
            if index is None or index.index_type != ANN_INDEX_TYPE or rows > RETRAIN_GROWTH * trained:
                self._train_ann_index(table, spec, rows)
            else:
                table.optimize()  # new rows join the trained partitions
        existing = {ix.name for ix in table.list_indices()}
        for field in spec.filter_fields:
            if "." not in field and f"{field}_idx" not in existing:
                table.create_scalar_index(field, name=f"{field}_idx")

    def _train_ann_index(self, table: Any, spec: IndexSpec, rows: int) -> None:
        """(Re)build the IVF_FLAT index with partitions sized for `rows`, and note what it was trained on."""
        partitions = ann_partitions(rows)
        log.info("building ANN index %s: IVF_FLAT, %d partitions over %d vectors", spec.name, partitions, rows)
        config = IvfFlat(
            distance_type=_LANCE_METRIC[spec.similarity],  # type: ignore[arg-type]
            num_partitions=partitions,
            sample_rate=TRAINING_VECTORS_PER_PARTITION,
        )
        table.create_index("vector", config=config, name=f"{spec.name}_ann", replace=True)
        self._trained_file().write_text(json.dumps({"rows": rows, "partitions": partitions}))

    def _ann_index(self, table: Any, name: str) -> Any:
        return next((ix for ix in table.list_indices() if ix.name == f"{name}_ann"), None)

    def _trained(self) -> dict[str, int]:
        try:
            return dict(json.loads(self._trained_file().read_text()))
        except (OSError, ValueError):
            return {}

    def _trained_partitions(self, rows: int) -> int:
        return int(self._trained().get("partitions") or ann_partitions(rows))

    def _trained_file(self) -> Path:
        return self.path / f"{self.table_name}.ann.json"

    def _spec_file(self) -> Path:
        return self.path / f"{self.table_name}.index.json"

    def _spec(self) -> IndexSpec | None:
        try:
            data = json.loads(self._spec_file().read_text())
        except (OSError, ValueError):
            return None
        return IndexSpec(**{**data, "filter_fields": tuple(data.get("filter_fields", ()))})


def _index_lookups(table: Any, fold_new_rows: bool = True) -> None:
    """B-tree indexes on the columns a run looks chunks up by, folded up to date once a fifth of rows are new.

    Without them every window's fingerprint lookup scans the table: 3 s per window at a million rows.
    """
    existing = {ix.name for ix in table.list_indices()}
    if table.count_rows() < LOOKUP_INDEX_MIN_ROWS:
        return
    for column in _LOOKUP_COLUMNS:
        if f"{column}_idx" not in existing:
            table.create_scalar_index(column, name=f"{column}_idx")
    stats = table.index_stats(f"{_LOOKUP_COLUMNS[0]}_idx")
    if fold_new_rows and stats is not None and stats.num_unindexed_rows * 5 > stats.num_indexed_rows:
        table.optimize()


class _Pinned:
    """Fingerprint lookups against one version of the chunks table (or none, before the first write).

    It keeps the table's place and version, not an open table, so it travels to other processes (Dask workers).
    """

    def __init__(self, path: Path, table: str, version: int | None) -> None:
        self.path, self.table, self.version = path, table, version
        self._open: Any = None

    def fingerprints(self, documents: Iterable[str]) -> dict[str, str]:
        if self.version is None:
            return {}
        if self._open is None:
            self._open = connect(self.path).open_table(self.table)
            self._open.checkout(self.version)
        return _fingerprints(self._open, documents)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "table": self.table, "version": self.version, "_open": None}


def _fingerprints(table: Any, documents: Iterable[str]) -> dict[str, str]:
    if table is None:
        return {}
    found: dict[str, str] = {}
    for where in _in_clauses("document", documents):
        rows = table.search().where(where).select(["id", "fingerprint"]).limit(None).to_arrow()
        found.update(zip(rows["id"].to_pylist(), rows["fingerprint"].to_pylist(), strict=True))
    return found


@dataclass(frozen=True)
class SearchEffort:
    """How hard one ANN query looks: Atlas's numCandidates, the IVF partitions probed, the refine factor."""

    candidates: int
    nprobes: int
    refine_factor: int


def search_effort(rows: int, partitions: int, k: int, num_candidates: int | None = None) -> SearchEffort:
    """The effort for `k` hits: partitions enough to hold the candidates several times over, at least a share.

    The refine step re-reads the full vectors of `refine_factor * k` candidates and ranks them by true distance,
    so a hit's score is the same whichever path found it, even on an index built by an older, quantised release.
    """
    candidates = min(max(num_candidates or CANDIDATES_PER_RESULT * k, MIN_CANDIDATES, k), MAX_NUM_CANDIDATES)
    per_partition = max(rows / max(partitions, 1), 1.0)
    wanted = max(math.ceil(SCANNED_PER_CANDIDATE * candidates / per_partition), math.ceil(MIN_PROBED * partitions))
    nprobes = min(max(wanted, MIN_PROBES), partitions)
    return SearchEffort(candidates, nprobes, max(1, min(candidates // max(k, 1), MAX_REFINE_FACTOR)))


def connect(path: Path) -> Any:
    """A LanceDB connection to the folder `path` whose caches stay within bounds however many writes it makes."""
    session = lancedb.Session(index_cache_size_bytes=INDEX_CACHE_BYTES, metadata_cache_size_bytes=METADATA_CACHE_BYTES)
    return lancedb.connect(str(path), session=session)


def ann_partitions(rows: int) -> int:
    """IVF partitions for a table of `rows`: about sqrt(rows), so a probe and the centroid scan cost alike."""
    return max(1, round(math.sqrt(rows)))


def _to_arrow(chunks: Sequence[Chunk], vectors: np.ndarray, model: str, dims: int) -> pa.Table:
    now = datetime.now(UTC)
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel())
    columns = {
        "id": [c.id for c in chunks],
        "document": [c.document for c in chunks],
        "source": [c.source for c in chunks],
        "text": [c.text for c in chunks],
        "chunk_index": [c.chunk_index for c in chunks],
        "metadata": pa.array([json.dumps(c.metadata, default=str) for c in chunks], type=pa.json_()),
        "embedding_model": [model] * len(chunks),
        "dimensions": [dims] * len(chunks),
        "fingerprint": [c.fingerprint for c in chunks],
        "updated_at": [now] * len(chunks),
        "vector": pa.FixedSizeListArray.from_arrays(flat, dims),
    }
    return pa.table(columns, schema=chunk_schema(dims))


def _to_hit(row: dict[str, Any], similarity: str) -> Hit:
    distance = float(row["_distance"])
    # Scores on Atlas's scale, so one threshold works on both stores.
    score = 1.0 / (1.0 + distance**0.5) if similarity == "euclidean" else 1.0 - distance / 2.0
    metadata = row["metadata"]
    return Hit(
        id=row["id"],
        score=score,
        text=row["text"],
        source=row["source"],
        document=row["document"],
        chunk_index=int(row["chunk_index"]),
        metadata=json.loads(metadata) if isinstance(metadata, str | bytes) else dict(metadata or {}),
    )


def _in_clauses(column: str, values: Iterable[str]) -> Iterator[str]:
    """`column IN (...)` predicates over slices of `values`, with string literals escaped."""
    batch = sorted(set(values))
    for start in range(0, len(batch), _SQL_IN_SLICE):
        quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in batch[start : start + _SQL_IN_SLICE])
        yield f"{column} IN ({quoted})"


def _letter_key(letter: DeadLetter) -> str:
    return f"{letter.source}\x00{letter.location or ''}"


def _spec_to_json(spec: IndexSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "dimensions": spec.dimensions,
        "similarity": spec.similarity,
        "filter_fields": list(spec.filter_fields),
        "quantization": spec.quantization,
    }
