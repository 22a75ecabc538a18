"""Embed an existing MongoDB collection in place: the library side of the embed-existing flow.

"truncate" gives each document one vector in its own `vector_field`; "chunk" splits its text into chunks in
`<collection>_chunks` and leaves on the document only the marks that say it was embedded. Either way a document
counts as done once its marks are written, so a run that crashed resumes with the documents still stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vectorsync.chunking import Chunker
from vectorsync.embedders.base import Embedder
from vectorsync.embedding import EmbeddedBatch, embed_chunks
from vectorsync.errors import ConfigError, DimensionMismatch, StoreError, TransientError
from vectorsync.records import Chunk, Hit, Record, fingerprint
from vectorsync.sources.mongodb import StaleBatch, TextSpec, next_stale, text_of, text_paths, truncate, write_back
from vectorsync.stores.base import IndexSpec, IndexStatus
from vectorsync.stores.mongo_commands import (
    decode_vector,
    definition_differences,
    encode_vector,
    index_definition,
    vector_search_pipeline,
)
from vectorsync.stores.mongodb import MongoStore, mongo_errors

# Hits scoring within this of the best one tie with it: documents with the same text have the same vector.
_TIE = 1e-6


@dataclass(frozen=True)
class Written:
    """What writing one batch back did: documents marked embedded, vectors stored, outdated chunks removed."""

    documents: int
    vectors: int
    deleted: int = 0


@dataclass(frozen=True)
class ExistingCollection:
    """A collection embedded in place: where its text is read, where its vectors go, which index serves them.

    `target` is `source` itself, or the side collection of chunks when `chunker` is set (chunk mode).

    >>> existing = ExistingCollection(source, source, "summary", embedder, IndexSpec("vector_index", 384))
    >>> batch = existing.stale_batch(after=None, size=256)
    >>> existing.write(existing.embed(batch.records), batch.records)
    """

    source: MongoStore
    target: MongoStore
    text: TextSpec
    embedder: Embedder
    spec: IndexSpec
    chunker: Chunker | None = None

    def __post_init__(self) -> None:
        if self.chunker is None and self.source.vector_format == "int8" and self.source.int8_scheme == "calibrated":
            raise ConfigError(
                f"embed-existing writes int8 vectors into {self.source.collection.full_name} scaled per vector; "
                "VECTORSYNC_INT8_SCHEME=calibrated works with --long-text chunk (its chunks collection keeps the "
                "ranges): use that, or VECTORSYNC_INT8_SCHEME=per_vector"
            )

    @property
    def identity(self) -> str:
        """What a document's marks record as its model: the embedder's identity, plus the chunking in chunk mode.

        Switching mode or chunk size changes it, so every document is embedded again the new way.
        """
        if self.chunker is None:
            return self.embedder.identity
        return f"{self.embedder.identity}:chunks={self.chunker.max_tokens}+{self.chunker.overlap}"

    def describe(self) -> str:
        """Where the vectors go, safe to print."""
        return f"{self.target.describe()} field {self.target.vector_field}"

    def check_dimensions(self, update: bool = False) -> list[str]:
        """Stop before any work when the model, the stored vectors and the index disagree; say which is which.

        Returns how an existing index differs from the one wanted, which `update` lets `ensure_index` rebuild.
        """
        model, dimensions, where = self.embedder.model_id, self.spec.dimensions, self.target.collection.full_name
        stored = self._stored_dimensions()
        if stored is not None and stored != dimensions:
            raise DimensionMismatch(
                f"model '{model}' produces {dimensions}-dimension vectors but field '{self.target.vector_field}' "
                f"of {where} already holds {stored}-dimension vectors; use the model that made them, "
                "another vector field, or remove the old vectors first"
            )
        index = self.target.index_status(self.spec.name)
        if index.state == "ABSENT":
            return []
        wanted = index_definition(self.spec, self.target.vector_field, self.target.vector_format)
        differences = definition_differences(index.definition, wanted)
        if differences and not update:
            if index.dimensions != dimensions:
                raise DimensionMismatch(
                    f"index '{self.spec.name}' on {where} expects {index.dimensions}-dimension vectors but model "
                    f"'{model}' produces {dimensions}; run with --update-index to rebuild it, "
                    "or choose the model it was built for"
                )
            raise StoreError(
                f"index '{self.spec.name}' on {where} differs from the one wanted ({'; '.join(differences)}); "
                "run with --update-index to rebuild it"
            )
        return differences

    def estimated_documents(self) -> int:
        """About how many documents the source holds, from the collection's metadata: no document is read.

        A progress total only; the run counts documents with text, and the stale ones, from its own pass.
        """
        with mongo_errors("count documents", self.source.collection.full_name):
            return self.source.collection.estimated_document_count()

    def stale_batch(self, after: Any, size: int) -> StaleBatch:
        """The next `size` documents past `_id` `after` (from the start when None) whose vector is missing or stale,
        with how many documents with text were read to find them."""
        return next_stale(
            self.source.collection,
            self.text,
            embedder_identity=self.identity,
            vector_field=self.source.vector_field,
            size=size,
            after=after,
        )

    def chunks(self, records: Sequence[Record]) -> list[Chunk]:
        """What gets embedded: each document's text cut to the model's limit, or its chunks in chunk mode.

        A whole-document chunk carries the fingerprint of the full text, which is what `find_stale` compares.
        """
        if self.chunker is not None:
            return [chunk for record in records for chunk in self.chunker.chunk(record)]
        tokenizer, limit = self.embedder.tokenizer, self.embedder.document_tokens
        return [
            Chunk(r.id, r.id, r.source, truncate(r.text, tokenizer, limit), 0, r.metadata, self._fingerprint(r))
            for r in records
        ]

    def embed(self, records: Sequence[Record], batch_size: int | None = None) -> EmbeddedBatch:
        """Vectors for the chunks of `records`; what the model refuses becomes a dead letter naming the `_id`."""
        batch = embed_chunks(self.embedder, self.chunks(records), batch_size)
        ids: dict[str | None, Any] = {record.id: record.metadata["_id"] for record in records}
        batch.dead_letters = [
            replace(letter, location=f"_id {ids.get(letter.document)}{f' {letter.location}' if self.chunker else ''}")
            for letter in batch.dead_letters
        ]
        return batch

    def write(self, batch: EmbeddedBatch, records: Sequence[Record]) -> Written:
        """Store a batch's vectors and mark its documents embedded; dead-lettered documents stay stale.

        In chunk mode the chunks go first, then the chunks the new text no longer has are removed, then the
        marks: a crash in between leaves the document stale, and the rerun's upserts change nothing twice.
        """
        if self.chunker is None:
            vectors = zip(batch.chunks, batch.vectors, strict=True)
            marked = self._mark([(chunk.metadata["_id"], vector, chunk.fingerprint) for chunk, vector in vectors])
            return Written(marked, marked)
        failed = {letter.document for letter in batch.dead_letters}
        keep = [i for i, chunk in enumerate(batch.chunks) if chunk.document not in failed]
        chunks = [batch.chunks[i] for i in keep]
        self.target.upsert(chunks, batch.vectors[keep], self.embedder.identity)
        done = [record for record in records if record.id not in failed]
        current = {chunk.id for chunk in chunks}
        outdated = [key for key in self.target.fingerprints(r.id for r in done) if key not in current]
        deleted = self.target.delete_chunks(outdated)
        marked = self._mark([(r.metadata["_id"], None, self._fingerprint(r)) for r in done])
        return Written(marked, len(chunks), deleted)

    def ensure_index(self, update: bool = False, timeout_s: float = 300.0) -> IndexStatus:
        """Create the vector index on the target (or rebuild it when `update`), then wait until it is queryable."""
        return self.target.ensure_index(self.spec, timeout_s=timeout_s, update=update, model=self.embedder.model_id)

    def search(self, vector: np.ndarray, k: int, exact: bool = False) -> list[Hit]:
        """The `k` documents (chunks, in chunk mode) nearest to `vector`, with their text; `exact` skips the ANN."""
        if self.chunker is not None:
            return self.target.search(vector, k=k, exact=exact)
        store = self.source
        stage = vector_search_pipeline(
            encode_vector(vector, store.vector_format), index=self.spec.name, path=store.vector_field, k=k, exact=exact
        )[0]
        project = dict.fromkeys(text_paths(self.text), 1) | {"score": {"$meta": "vectorSearchScore"}}
        where = store.collection.full_name
        with mongo_errors("search", where):
            docs = list(store.collection.aggregate([stage, {"$project": project}]))
        return [
            Hit(str(d["_id"]), float(d["score"]), text_of(d, self.text) or "", where, f"{where}:{d['_id']}", 0, {})
            for d in docs
        ]

    def smoke_test(self, query: str | None, k: int) -> list[Hit]:
        """Prove the index answers: `query` must get hits, and a stored vector must find its own document first.

        Raises `TransientError` on a miss, as the index takes in new writes a moment later. With nothing stored
        there is nothing to find, and no hits.
        """
        field, where = self.target.vector_field, self.target.collection.full_name
        with mongo_errors("read a stored vector", where):
            sample = self.target.collection.find_one({field: {"$exists": True}}, {field: 1})
        if sample is None:
            return []
        if query:
            hits = self.search(self.embedder.encode_queries([query])[0], k)
            if not hits:
                raise TransientError(f"smoke test: query {query!r} found nothing in {self.describe()}")
            return hits
        hits = self.search(decode_vector(sample[field]), k)
        best = {hit.id for hit in hits if hit.score >= hits[0].score - _TIE}
        if str(sample["_id"]) not in best:
            raise TransientError(
                f"smoke test: the stored vector of _id {sample['_id']} did not find itself first in {self.describe()}"
            )
        return hits

    def _fingerprint(self, record: Record) -> str:
        """The mark of a document's whole text, as `find_stale` computes it."""
        return fingerprint(record.text, self.identity)

    def _mark(self, items: list[tuple[Any, np.ndarray | None, str]]) -> int:
        return write_back(
            self.source.collection,
            items,
            model=self.identity,
            vector_field=self.source.vector_field,
            vector_format=self.source.vector_format,
        )

    def _stored_dimensions(self) -> int | None:
        """Length of a vector already in the target's vector field, or None when no document has one."""
        field, where = self.target.vector_field, self.target.collection.full_name
        with mongo_errors("read a stored vector", where):
            doc = self.target.collection.find_one({field: {"$exists": True}}, {field: 1})
        if doc is None:
            return None
        try:
            return len(decode_vector(doc[field]))
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"field '{field}' of {where} holds {type(doc[field]).__name__} values, not vectors (_id {doc['_id']}); "
                "choose another vector field"
            ) from exc
