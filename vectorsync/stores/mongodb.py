"""MongoDB Atlas Vector Search as the store: chunks as documents, a `vectorSearch` index, `$vectorSearch` queries.

Works against Atlas and against `mongodb/mongodb-atlas-local`; a plain `mongod` stores chunks but cannot search.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
from bson import UuidRepresentation
from bson.errors import BSONError, InvalidDocument
from pydantic import SecretStr
from pymongo import IndexModel, MongoClient, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import (
    BulkWriteError,
    CollectionInvalid,
    ConfigurationError,
    ConnectionFailure,
    CursorNotFound,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
)
from pymongo.operations import SearchIndexModel
from pymongo.results import BulkWriteResult

from vectorsync.errors import ConfigError, DimensionMismatch, StoreError, TransientError
from vectorsync.filters import to_mongo
from vectorsync.records import Chunk, Hit
from vectorsync.redaction import redact
from vectorsync.settings import Settings
from vectorsync.stores.base import DeadLetter, IndexSpec, IndexStatus, VectorStore
from vectorsync.stores.mongo_calibration import calibrate, calibration_collection, read_calibration
from vectorsync.stores.mongo_commands import (
    Int8Scheme,
    VectorFormat,
    batched,
    bulk_write_failures,
    chunk_document,
    decode_vector,
    encode_vector,
    filter_paths,
    index_definition,
    upsert_operations,
    vector_field_of,
    vector_search_pipeline,
)
from vectorsync.stores.mongo_index import GONE, Info, converge
from vectorsync.stores.quantization import Int8Calibration

log = logging.getLogger(__name__)

_IN_SLICE = 1000
_NAMESPACE_NOT_FOUND = 26
_NAMESPACE_EXISTS = 48
_INDEX_ALREADY_EXISTS = 68
_SEARCH_NOT_ENABLED = 31082
# Server errors that heal by themselves: host unreachable or not found, network timeout, shutdown in progress,
# primary stepped down, time limit exceeded, socket exception, interrupted at shutdown, not primary, node recovering.
_TRANSIENT_CODES = frozenset({6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})
_TRANSIENT_LABELS = ("RetryableWriteError", "TransientTransactionError")


def client_for(uri: str) -> MongoClient[dict[str, Any]]:
    """A client for `uri`: UUIDs as BSON binary subtype 4 (`uuidRepresentation=standard`), connecting lazily.

    connect=False: the first operation connects, so a store built before a fork still works after it.
    """
    return MongoClient(uri, appname="vectorsync", connect=False, uuidRepresentation="standard")


@contextmanager
def mongo_errors(action: str, where: str, *secrets: str | None) -> Iterator[None]:
    """Turn every pymongo and BSON error into vectorsync's: what may heal is a `TransientError`, the rest a
    `StoreError` (`ConfigError` for the connection string).

    Messages name the action and the `db.collection`, with passwords and `secrets` redacted.
    """
    try:
        yield
    except (ConnectionFailure, ExecutionTimeout, CursorNotFound) as exc:
        # ConnectionFailure covers AutoReconnect, NetworkTimeout and ServerSelectionTimeoutError; a cursor the
        # server dropped is read again by the retry.
        raise TransientError(f"{action} on {where}: {redact(str(exc), *secrets)}") from exc
    except OperationFailure as exc:
        if exc.code in _TRANSIENT_CODES or exc.timeout or any(exc.has_error_label(x) for x in _TRANSIENT_LABELS):
            raise TransientError(f"{action} on {where}: {redact(str(exc), *secrets)}") from exc
        hint = ""
        if exc.code == _SEARCH_NOT_ENABLED:
            hint = "; vector search needs MongoDB Atlas or the mongodb/mongodb-atlas-local image"
        raise StoreError(f"{action} on {where}: {redact(str(exc), *secrets)}{hint}") from exc
    except ConfigurationError as exc:
        raise ConfigError(f"MONGODB_URI for {where}: {redact(str(exc), *secrets)}") from exc
    except InvalidDocument as exc:
        raise StoreError(f"{action} on {where}: a value cannot be stored in BSON ({exc}); check the metadata") from exc
    except BSONError as exc:
        raise StoreError(f"{action} on {where}: a document cannot be read or written as BSON ({exc})") from exc
    except PyMongoError as exc:
        if exc.timeout:
            raise TransientError(f"{action} on {where}: {redact(str(exc), *secrets)}") from exc
        raise StoreError(f"{action} on {where}: {redact(str(exc), *secrets)}") from exc


def write_unordered(
    collection: Collection[Any], operations: Sequence[UpdateOne], ids: Sequence[Any], action: str, *secrets: str | None
) -> BulkWriteResult:
    """One unordered `bulk_write`; failed writes become a `StoreError` naming their ids and the server's reasons.

    `ids[i]` names `operations[i]`. Unordered, so one bad document does not stop the others. Returns the server's
    counts: `matched_count` says how many filters found a document.
    """
    with mongo_errors(action, collection.full_name, *secrets):
        try:
            return collection.bulk_write(list(operations), ordered=False)
        except BulkWriteError as exc:
            raise StoreError(
                f"{action} on {collection.full_name} failed for {bulk_write_failures(exc.details, ids)} "
                "(the other documents of the batch were written)"
            ) from exc


def create_collection(database: Database[Any], name: str, where: str, *secrets: str | None) -> None:
    """Create collection `name` unless it exists; one created meanwhile by another process (NamespaceExists) is fine.

    Atlas creates search indexes on existing collections only.
    """
    with mongo_errors("create collection", where, *secrets):
        try:
            database.create_collection(name)
        except CollectionInvalid:
            return  # listed already
        except OperationFailure as exc:
            if exc.code != _NAMESPACE_EXISTS:
                raise


class MongoStore(VectorStore):
    """Chunks in one MongoDB collection, searched through an Atlas `vectorSearch` index.

    `int8_scheme="calibrated"` stores int8 vectors quantised with per-dimension ranges, calibrated on the
    collection's first write and kept in `<collection>_calibration` for every later write and query.

    >>> store = MongoStore("mongodb+srv://user:pass@cluster.example.net", "vectorsync", "chunks")
    >>> store.ensure_index(IndexSpec("vector_index", dimensions=384, filter_fields=("source",)))
    """

    kind = "mongodb"

    def __init__(
        self,
        uri: str | SecretStr,
        database: str,
        collection: str,
        *,
        vector_field: str = "embedding",
        vector_format: VectorFormat = "float32",
        int8_scheme: Int8Scheme = "per_vector",
        index_name: str = "vector_index",
        write_batch: int = 500,
        client: MongoClient[dict[str, Any]] | None = None,
    ) -> None:
        if write_batch < 1:
            raise ConfigError(f"write_batch must be at least 1, got {write_batch}")
        self._uri = uri if isinstance(uri, SecretStr) else SecretStr(uri)
        self._secrets = _uri_secrets(self._uri.get_secret_value())
        self.database = database
        self.vector_field = vector_field
        self.vector_format = vector_format
        self.int8_scheme = int8_scheme
        self.index_name = index_name
        self.write_batch = write_batch
        self._where = f"{database}.{collection}"
        self._owns_client = client is None
        if client is None:
            try:
                client = client_for(self._uri.get_secret_value())
            except (ConfigurationError, ValueError) as exc:
                raise ConfigError(
                    f"MONGODB_URI is not a valid connection string: {redact(str(exc), *self._secrets)}"
                ) from exc
        self._client = client
        # UUIDs as standard binary even on a client given without uuidRepresentation, so a UUID value encodes.
        codec = client.codec_options.with_options(uuid_representation=UuidRepresentation.STANDARD)
        self.collection: Collection[dict[str, Any]] = client[database].get_collection(collection, codec_options=codec)
        self._filter_fields: tuple[str, ...] | None = None
        self._dimensions: int | None = None
        self._document_index = False
        self._calibration: Int8Calibration | None = None
        self._calibration_checked = False

    @classmethod
    def from_settings(cls, settings: Settings, client: MongoClient[dict[str, Any]] | None = None) -> MongoStore:
        """The store that `settings` describe (`MONGODB_URI`, database, collection, vector format, index name)."""
        if settings.mongodb_uri is None:
            raise ConfigError("MONGODB_URI is not set: the MongoDB store needs a connection string")
        return cls(
            settings.mongodb_uri,
            settings.mongodb_database,
            settings.mongodb_collection,
            vector_format=settings.vector_format,
            int8_scheme=settings.int8_scheme,
            index_name=settings.index_name,
            client=client,
        )

    def with_collection(self, collection: str) -> MongoStore:
        """A store on another collection of the same database, sharing this store's connection."""
        return MongoStore(
            self._uri,
            self.database,
            collection,
            vector_field=self.vector_field,
            vector_format=self.vector_format,
            int8_scheme=self.int8_scheme,
            index_name=self.index_name,
            write_batch=self.write_batch,
            client=self._client,
        )

    def describe(self) -> str:
        return f"mongodb {redact(self._uri.get_secret_value(), *self._secrets)} {self._where}"

    def __repr__(self) -> str:
        return f"MongoStore({self.describe()!r})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, model: str, new: bool = False) -> int:
        if not chunks:
            return 0
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(chunks) != len(vectors):
            raise StoreError(f"{len(chunks)} chunks but vectors of shape {vectors.shape} in one write to {self._where}")
        if not np.isfinite(vectors).all():
            bad = [c.id for c, v in zip(chunks, vectors, strict=True) if not np.isfinite(v).all()]
            raise StoreError(f"vectors of chunks {bad[:5]} hold NaN or infinity; nothing was written to {self._where}")
        self._check_dimensions(int(vectors.shape[1]), model)
        self._ensure_document_index()
        calibration = self._write_calibration(vectors, model)
        now = datetime.now(UTC)
        for batch in batched(range(len(chunks)), self.write_batch):
            docs = [
                chunk_document(
                    chunks[i],
                    vectors[i],
                    model=model,
                    updated_at=now,
                    vector_field=self.vector_field,
                    vector_format=self.vector_format,
                    calibration=calibration,
                )
                for i in batch
            ]
            write_unordered(
                self.collection, upsert_operations(docs), [d["_id"] for d in docs], "upsert", *self._secrets
            )
        self._dimensions = int(vectors.shape[1])
        return len(chunks)

    def fingerprints(self, documents: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for batch in batched(list(dict.fromkeys(documents)), _IN_SLICE):
            with self._errors("read fingerprints"):
                for doc in self.collection.find({"document": {"$in": list(batch)}}, {"fingerprint": 1}):
                    found[doc["_id"]] = doc["fingerprint"]
        return found

    def documents(self) -> dict[str, str]:
        pipeline = [{"$group": {"_id": "$document", "source": {"$first": "$source"}}}]
        with self._errors("list documents"):
            return {doc["_id"]: doc["source"] for doc in self.collection.aggregate(pipeline, allowDiskUse=True)}

    def delete_chunks(self, ids: Iterable[str]) -> int:
        return self._delete_in(self.collection, "_id", ids)

    def delete_documents(self, documents: Iterable[str]) -> int:
        return self._delete_in(self.collection, "document", documents)

    def count(self) -> int:
        with self._errors("count chunks"):
            return self.collection.estimated_document_count()

    def stored_dimensions(self) -> int | None:
        with self._errors("read dimensions"):
            doc = self.collection.find_one({"dimensions": {"$exists": True}}, {"dimensions": 1})
        return int(doc["dimensions"]) if doc else None

    def stored_models(self) -> set[str]:
        with self._errors("list models"):
            return {m for m in self.collection.distinct("embedding_model") if m is not None}

    def get_vector(self, chunk_id: str) -> np.ndarray | None:
        with self._errors("read a vector"):
            doc = self.collection.find_one({"_id": chunk_id}, {self.vector_field: 1, "dimensions": 1})
        if doc is None or self.vector_field not in doc:
            return None
        return decode_vector(doc[self.vector_field], doc.get("dimensions"), self._read_calibration())

    def ensure_index(
        self, spec: IndexSpec, timeout_s: float = 300.0, update: bool = False, model: str | None = None
    ) -> IndexStatus:
        """Create the index, or check an existing one, then wait until it serves the wanted definition.

        An existing index with another definition is an error unless `update` is set, which rebuilds it (and waits
        for an index of that name that is being deleted, to create it anew); `model` names the embedder in the
        dimension-mismatch message. A STALE index serves, with a warning logged.
        """
        wanted = index_definition(spec, self.vector_field, self.vector_format)
        served = converge(
            _AtlasIndexes(self),
            spec.name,
            wanted,
            where=self._where,
            update=update,
            timeout_s=timeout_s,
            mismatch=lambda info, found: self._mismatch(spec, info.get("latestDefinition", {}), list(found), model),
        )
        if served.warning:
            log.warning("%s", served.warning)
        self._filter_fields = tuple(spec.filter_fields)
        return status_of(spec.name, served.info)

    def index_status(self, name: str) -> IndexStatus:
        return status_of(name, self._index_info(name))

    def search(
        self,
        vector: np.ndarray,
        k: int = 5,
        filter: dict[str, Any] | None = None,
        num_candidates: int | None = None,
        exact: bool = False,
    ) -> list[Hit]:
        pipeline = vector_search_pipeline(
            encode_vector(vector, self.vector_format, self._query_calibration()),
            index=self.index_name,
            path=self.vector_field,
            k=k,
            filter=to_mongo(filter, self._allowed_filter_fields()) if filter else None,
            num_candidates=num_candidates,
            exact=exact,
        )
        with self._errors("search"):
            docs = list(self.collection.aggregate(pipeline))
        return [
            Hit(
                id=str(doc["_id"]),
                score=float(doc["score"]),
                text=doc.get("text", ""),
                source=doc.get("source", ""),
                document=doc.get("document", ""),
                chunk_index=int(doc.get("chunk_index", 0)),
                metadata=dict(doc.get("metadata") or {}),
            )
            for doc in docs
        ]

    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        now = datetime.now(UTC)
        latest = {_letter_key(x): x for x in letters}
        operations = [
            UpdateOne(
                {"_id": key},
                {
                    "$set": {
                        "source": x.source,
                        "location": x.location,
                        "document": x.document,
                        "reason": x.reason,
                        "recorded_at": now,
                    }
                },
                upsert=True,
            )
            for key, x in latest.items()
        ]
        write_unordered(self._dead_letter_collection(), operations, list(latest), "record dead letters", *self._secrets)

    def dead_letters(self) -> list[DeadLetter]:
        with self._errors("read dead letters"):
            docs = list(self._dead_letter_collection().find({}, sort=[("source", 1), ("location", 1)]))
        return [DeadLetter(d["source"], d["reason"], d.get("location"), d.get("document")) for d in docs]

    def clear_dead_letters(self, sources: Iterable[str]) -> None:
        self._delete_in(self._dead_letter_collection(), "source", sources)

    def _errors(self, action: str) -> AbstractContextManager[None]:
        return mongo_errors(action, self._where, *self._secrets)

    def _delete_in(self, collection: Collection[Any], field: str, values: Iterable[str]) -> int:
        removed = 0
        for batch in batched(list(dict.fromkeys(values)), _IN_SLICE):
            with self._errors(f"delete by {field}"):
                removed += collection.delete_many({field: {"$in": list(batch)}}).deleted_count
        return removed

    def _dead_letter_collection(self) -> Collection[dict[str, Any]]:
        name = f"{self.collection.name}_dead_letters"
        return self.collection.database.get_collection(name, codec_options=self.collection.codec_options)

    def _write_calibration(self, vectors: np.ndarray, model: str) -> Int8Calibration | None:
        """The ranges this write quantises with: the stored ones, or ones from `vectors` on a first calibrated write."""
        if self.vector_format != "int8" or self.int8_scheme != "calibrated":
            self._read_calibration()
            return None
        if self._calibration is None or self._calibration.model != model:
            with self._errors("calibrate int8 vectors"):
                self._calibration = calibrate(self.collection, self.vector_field, vectors, model)
            self._calibration_checked = True
        return self._calibration

    def _query_calibration(self) -> Int8Calibration | None:
        """The ranges a query is quantised with; a calibrated collection with nothing written yet has none to use."""
        calibration = self._read_calibration()
        if calibration is None and self.vector_format == "int8" and self.int8_scheme == "calibrated":
            raise StoreError(
                f"{self._where} holds no int8 calibration ({calibration_collection(self.collection).full_name}): "
                "nothing was written with VECTORSYNC_INT8_SCHEME=calibrated yet; run vectorsync run first, or set "
                "VECTORSYNC_INT8_SCHEME=per_vector if its vectors were written that way"
            )
        return calibration

    def _read_calibration(self) -> Int8Calibration | None:
        """The stored int8 ranges (read once); refuses a collection quantised by the other int8 scheme."""
        if self.vector_format != "int8":
            return None
        if not self._calibration_checked:
            with self._errors("read the int8 calibration"):
                self._calibration = read_calibration(self.collection, self.vector_field)
            self._calibration_checked = True
        if self._calibration is not None and self.int8_scheme != "calibrated":
            raise StoreError(
                f"{self._where} holds int8 vectors quantised with calibrated ranges "
                f"({calibration_collection(self.collection).full_name}): set VECTORSYNC_INT8_SCHEME=calibrated"
            )
        return self._calibration

    def _check_dimensions(self, dimensions: int, model: str) -> None:
        if self._dimensions is None:
            self._dimensions = self.stored_dimensions()
        if self._dimensions is not None and self._dimensions != dimensions:
            raise DimensionMismatch(
                f"{self._where} holds {self._dimensions}-dimension vectors but model '{model}' produces {dimensions}; "
                "use another collection, or delete the old vectors"
            )

    def _ensure_document_index(self) -> None:
        """Plain indexes on `document`, which fingerprint look-ups and document deletes filter on, and on
        `embedding_model`, so that `stored_models` (doctor, info) is a distinct over index keys, not a scan."""
        if not self._document_index:
            with self._errors("create the document index"):
                self.collection.create_indexes([IndexModel("document"), IndexModel("embedding_model")])
            self._document_index = True

    def _create_collection(self) -> None:
        create_collection(self.collection.database, self.collection.name, self._where, *self._secrets)

    def _index_info(self, name: str) -> Mapping[str, Any] | None:
        with self._errors(f"read index '{name}'"):
            try:
                found = list(self.collection.list_search_indexes(name))
            except OperationFailure as exc:
                if exc.code == _NAMESPACE_NOT_FOUND:
                    return None  # no collection yet, so no index either
                raise
        return found[0] if found else None

    def _allowed_filter_fields(self) -> tuple[str, ...]:
        if self._filter_fields is None:
            info = self._index_info(self.index_name)
            self._filter_fields = filter_paths(info.get("latestDefinition", {})) if info else ()
        return self._filter_fields

    def _mismatch(
        self, spec: IndexSpec, current: Mapping[str, Any], differences: list[str], model: str | None
    ) -> Exception:
        dims = vector_field_of(current).get("numDimensions")
        if dims != spec.dimensions:
            named = f"the model '{model}'" if model else "the model"
            return DimensionMismatch(
                f"index '{spec.name}' on {self._where} has numDimensions {dims} but {named} produces "
                f"{spec.dimensions}; run with --update-index to rebuild it, or choose the matching model"
            )
        return StoreError(
            f"index '{spec.name}' on {self._where} differs from the one wanted ({'; '.join(differences)}); "
            "run with --update-index to rebuild it"
        )


class _AtlasIndexes:
    """The search-index commands of one store's collection, as `converge` uses them."""

    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def find(self, name: str) -> Info | None:
        return self._store._index_info(name)

    def create(self, name: str, definition: Mapping[str, Any]) -> bool:
        store = self._store
        store._create_collection()
        with store._errors(f"create index '{name}'"):
            try:
                store.collection.create_search_index(
                    SearchIndexModel(definition=dict(definition), name=name, type="vectorSearch")
                )
            except OperationFailure as exc:
                if exc.code == _INDEX_ALREADY_EXISTS or "already exists" in str(exc).lower():
                    return False  # another process created it, or the old one is still being removed
                raise
        return True

    def update(self, name: str, definition: Mapping[str, Any]) -> None:
        with self._store._errors(f"update index '{name}'"):
            self._store.collection.update_search_index(name, dict(definition))


def status_of(name: str, info: Mapping[str, Any] | None) -> IndexStatus:
    """What the store reports of an index; absent and DOES_NOT_EXIST alike are ABSENT."""
    if info is None or info.get("status") == GONE:
        return IndexStatus(name=name, state="ABSENT", queryable=False)
    definition = dict(info.get("latestDefinition", {}))
    return IndexStatus(
        name=name,
        state=str(info.get("status", "UNKNOWN")),
        queryable=bool(info.get("queryable")),
        dimensions=vector_field_of(definition).get("numDimensions"),
        definition=definition,
    )


def _uri_secrets(uri: str) -> tuple[str, ...]:
    """The password of a connection string, as written and percent-decoded, so that both forms get redacted."""
    try:
        password = urlsplit(uri).password
    except ValueError:
        return ()
    return tuple(dict.fromkeys((password, unquote(password)))) if password else ()


def _letter_key(letter: DeadLetter) -> str:
    return json.dumps([letter.source, letter.location])
