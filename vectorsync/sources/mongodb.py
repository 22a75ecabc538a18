"""Embed an existing MongoDB collection in place: find documents whose vector is missing or stale, write vectors back.

A document is stale when its `<vector_field>_fingerprint` is missing or is not the hash of its current text and
the embedder's identity, so a rerun after a crash, an edit or a model change embeds just what needs it.

Texts longer than the model's limit (`LongText`):
- "truncate": embed `truncate(record.text, embedder.tokenizer, embedder.max_tokens)` and `write_back` the vector;
- "chunk": chunk the record into `chunk_store(store)` (`<collection>_chunks`, `document` = the record id,
  `metadata._id` = the parent's `_id`), then `write_back` with vector None to mark the parent as embedded.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from string import Formatter
from typing import Any, Literal

import numpy as np
from pymongo import UpdateOne
from pymongo.collection import Collection

from vectorsync.embedders.base import Tokenizer
from vectorsync.errors import ConfigError
from vectorsync.records import Record, fingerprint
from vectorsync.stores.mongo_commands import VectorFormat, encode_vector
from vectorsync.stores.mongodb import MongoStore, mongo_errors, write_unordered

LongText = Literal["truncate", "chunk"]
TextSpec = Sequence[str] | str
"""Field paths joined by blank lines (`["title", "summary"]`, or `"summary"`), or a template (`"{title}: {body}"`)."""


def is_template(text: TextSpec) -> bool:
    """Whether `text` is a format template rather than field names."""
    return isinstance(text, str) and "{" in text


def text_paths(text: TextSpec) -> tuple[str, ...]:
    """The document fields the text is made of: the named paths, or a template's top-level field names."""
    if not is_template(text):
        paths = (text,) if isinstance(text, str) else tuple(text)
        if not paths:
            raise ConfigError("text fields: name at least one field to embed")
        return paths
    names = [name for _, name, _, _ in Formatter().parse(str(text)) if name is not None]
    if not names or any(not name or name.isdigit() for name in names):
        raise ConfigError(f"text template {text!r} must name its fields, like '{{title}}: {{summary}}'")
    return tuple(dict.fromkeys(re.split(r"[.\[]", name)[0] for name in names))


def stale_query(
    text: TextSpec, *, embedder_identity: str, vector_field: str = "embedding", check_content: bool = True
) -> dict[str, Any]:
    """The server-side part of the staleness test: documents that have text (and, unless `check_content`,
    no fingerprint or another model's).

    Whether the text changed needs its hash, which only the client can compute; `check_content=False` skips
    that and so reads only documents never embedded or embedded by another model.
    """
    paths = text_paths(text)
    if is_template(text):
        has_text: dict[str, Any] = {"$and": [{path: {"$exists": True}} for path in paths]}
    else:
        # $type "string" also requires the field to exist.
        conditions = [{path: {"$type": "string"}} for path in paths]
        has_text = conditions[0] if len(conditions) == 1 else {"$or": conditions}
    if check_content:
        return has_text
    outdated = {
        "$or": [
            {f"{vector_field}_fingerprint": {"$exists": False}},
            {f"{vector_field}_model": {"$ne": embedder_identity}},
        ]
    }
    return {"$and": [has_text, outdated]}


def text_of(document: Mapping[str, Any], text: TextSpec) -> str | None:
    """The text to embed from one document, or None when it has none (missing or blank fields)."""
    if is_template(text):
        try:
            content = str(text).format_map(document)
        except (KeyError, IndexError, AttributeError, TypeError):
            return None
    else:
        values = (_lookup(document, path) for path in text_paths(text))
        content = "\n\n".join(v for v in values if isinstance(v, str) and v.strip())
    return content if content.strip() else None


@dataclass(frozen=True)
class StaleBatch:
    """One step of a pass over the collection: the documents to embed, and how many documents with text it read.

    `scanned - len(records)` of them were current already; `done` says the pass reached the collection's end.
    """

    records: list[Record]
    scanned: int
    done: bool


def find_stale(
    collection: Collection[Any],
    text: TextSpec,
    *,
    embedder_identity: str,
    vector_field: str = "embedding",
    batch_size: int = 500,
    check_content: bool = True,
    after: Any = None,
) -> Iterator[list[Record]]:
    """Batches of records for the documents that need (re-)embedding, in `_id` order.

    Record ids are `db.collection:_id`; `metadata["_id"]` keeps the raw `_id` for `write_back`. One cursor streams
    the collection, so each batch must be handled within the server's cursor idle timeout (10 minutes by default);
    `next_stale` takes one batch per short query instead.
    """
    batch: list[Record] = []
    for record in _scan(collection, text, embedder_identity, vector_field, batch_size, check_content, after):
        if record is None:
            continue
        batch.append(record)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def next_stale(
    collection: Collection[Any],
    text: TextSpec,
    *,
    embedder_identity: str,
    vector_field: str = "embedding",
    size: int = 500,
    after: Any = None,
) -> StaleBatch:
    """The next `size` stale documents past `_id` `after` (from the start when None), counting what it read.

    One pass of these, each starting past the last record of the one before, reads every document's text once:
    the counts of the run come from it, with no pass of their own. `$gt` compares `_id`s of one BSON type, as a
    collection's usually are.
    """
    with closing(_scan(collection, text, embedder_identity, vector_field, size, True, after)) as documents:
        return take_stale(documents, size)


def take_stale(scanned: Iterable[Record | None], size: int) -> StaleBatch:
    """The first `size` records of a scan (None stands for a current document), with how many documents it took."""
    records: list[Record] = []
    count = 0
    for record in scanned:
        count += 1
        if record is not None:
            records.append(record)
            if len(records) == size:
                return StaleBatch(records, count, done=False)
    return StaleBatch(records, count, done=True)


def classify(
    documents: Iterable[Mapping[str, Any]], text: TextSpec, *, embedder_identity: str, vector_field: str, source: str
) -> Iterator[Record | None]:
    """For each document with text: its record when its fingerprint is missing or stale, None when current."""
    stored = f"{vector_field}_fingerprint"
    for document in documents:
        content = text_of(document, text)
        if content is None:
            continue
        if document.get(stored) == fingerprint(content, embedder_identity):
            yield None
        else:
            yield Record(f"{source}:{document['_id']}", source, content, {"_id": document["_id"]})


def _scan(
    collection: Collection[Any],
    text: TextSpec,
    embedder_identity: str,
    vector_field: str,
    batch_size: int,
    check_content: bool,
    after: Any,
) -> Generator[Record | None, None, None]:
    """`classify` over the documents with text past `after`, read in `_id` order by one cursor."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    source = collection.full_name
    query = stale_query(
        text, embedder_identity=embedder_identity, vector_field=vector_field, check_content=check_content
    )
    if after is not None:
        query = {"$and": [query, {"_id": {"$gt": after}}]}
    projection = dict.fromkeys(_without_nested(text_paths(text)), 1) | {f"{vector_field}_fingerprint": 1}
    with (
        mongo_errors("find documents to embed", source),
        collection.find(query, projection).sort("_id", 1).batch_size(batch_size) as cursor,
    ):
        yield from classify(cursor, text, embedder_identity=embedder_identity, vector_field=vector_field, source=source)


def write_back(
    collection: Collection[Any],
    items: Sequence[tuple[Any, np.ndarray | None, str]],
    *,
    model: str,
    vector_field: str = "embedding",
    vector_format: VectorFormat = "float32",
) -> int:
    """Set `(_id, vector, fingerprint)` on each document, with `<vector_field>_fingerprint` and `_model` beside it.

    `model` is the embedder identity `find_stale` compares with. A vector of None marks a document embedded as
    chunks elsewhere and removes any whole-document vector. Returns how many documents the writes found
    (`matched_count`): one deleted since it was read is not counted.
    """
    operations = []
    for _id, vector, text_fingerprint in items:
        marks = {f"{vector_field}_fingerprint": text_fingerprint, f"{vector_field}_model": model}
        if vector is None:
            update: dict[str, Any] = {"$set": marks, "$unset": {vector_field: ""}}
        else:
            update = {"$set": {vector_field: encode_vector(vector, vector_format), **marks}}
        operations.append(UpdateOne({"_id": _id}, update))
    if not operations:
        return 0
    return write_unordered(collection, operations, [item[0] for item in items], "write vectors back").matched_count


def truncate(text: str, tokenizer: Tokenizer, max_tokens: int) -> str:
    """`text` up to the end of its `max_tokens`-th token: the "truncate" way to embed a long field whole."""
    offsets = tokenizer.token_offsets(text)
    return text if len(offsets) <= max_tokens else text[: offsets[max_tokens - 1][1]]


def chunk_store(store: MongoStore) -> MongoStore:
    """The store for the "chunk" way: `<collection>_chunks` beside the source collection, on the same connection."""
    return store.with_collection(f"{store.collection.name}_chunks")


def _lookup(document: Mapping[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _without_nested(paths: Sequence[str]) -> list[str]:
    """`paths` less those inside another one, which a MongoDB projection refuses as a path collision."""
    return [p for p in paths if not any(p.startswith(f"{other}.") for other in paths if other != p)]
