"""Read a labelled retrieval set in BEIR's layout: `corpus.jsonl[.gz]`, `queries.jsonl`, `qrels/<split>.tsv`.

Corpus documents become records whose text is `(title + " " + text).strip()`, the way BEIR's SentenceBERT
wrapper (and so MTEB) encodes them, so figures compare with published ones.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vectorsync.errors import InputError
from vectorsync.records import Record

CORPUS_FILES = ("corpus.jsonl", "corpus.jsonl.gz")


@dataclass(frozen=True)
class BeirDataset:
    """A labelled set: the queries of one split with their judgements, and where the corpus lies."""

    name: str
    root: Path
    split: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    corpus_file: Path

    def records(self) -> Iterator[Record]:
        """The corpus documents as records, streamed from disk."""
        return load_corpus(self.corpus_file, self.name)


def load_dataset(root: str | Path, split: str = "test") -> BeirDataset:
    """The queries and judgements of `split` under `root`; only queries that have judgements are kept, as in BEIR."""
    folder = Path(root)
    if not folder.is_dir():
        raise InputError(str(folder), "not a folder; a BEIR dataset needs corpus.jsonl, queries.jsonl and qrels/")
    corpus = next((folder / name for name in CORPUS_FILES if (folder / name).is_file()), None)
    if corpus is None:
        raise InputError(str(folder), "no corpus.jsonl or corpus.jsonl.gz")
    qrels_file = folder / "qrels" / f"{split}.tsv"
    if not qrels_file.is_file():
        raise InputError(str(qrels_file), f"missing: no judgements for split '{split}'")
    qrels = load_qrels(qrels_file)
    queries = load_queries(folder / "queries.jsonl", wanted=set(qrels))
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise InputError(
            str(qrels_file), f"{len(missing)} judged queries are not in queries.jsonl, e.g. {missing[0]!r}"
        )
    return BeirDataset(dataset_name(folder), folder, split, queries, qrels, corpus)


def dataset_name(folder: Path) -> str:
    """A name safe for table and collection names: the folder's name, lower-case, other characters as `_`."""
    return re.sub(r"[^a-z0-9_]", "_", folder.resolve().name.lower()) or "dataset"


def load_corpus(path: Path, name: str) -> Iterator[Record]:
    """One record per corpus line; the corpus `_id` is kept in `metadata["corpus_id"]` so hits map back to it."""
    seen: set[str] = set()
    for number, line in _lines(path):
        row = _json_object(line, path, number)
        doc_id = _string_field(row, "_id", path, number)
        if doc_id in seen:
            raise InputError(str(path), f"duplicate _id {doc_id!r}", f"line {number}")
        seen.add(doc_id)
        title = _string_field(row, "title", path, number, required=False)
        text = _string_field(row, "text", path, number)
        yield Record(
            id=f"beir:{name}:{doc_id}",
            source=str(path),
            text=(title + " " + text).strip(),
            metadata={"corpus_id": doc_id},
        )


def load_queries(path: Path, wanted: set[str] | None = None) -> dict[str, str]:
    """Query id -> text, limited to `wanted` ids when given."""
    if not path.is_file():
        raise InputError(str(path), "missing: a BEIR dataset needs queries.jsonl")
    queries: dict[str, str] = {}
    for number, line in _lines(path):
        row = _json_object(line, path, number)
        query_id = _string_field(row, "_id", path, number)
        if wanted is None or query_id in wanted:
            queries[query_id] = _string_field(row, "text", path, number)
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Query id -> corpus id -> relevance, from a `query-id<TAB>corpus-id<TAB>score` file (header line optional)."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in _lines(path):
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) != 3:
            raise InputError(str(path), f"expected 3 tab-separated columns, found {len(parts)}", f"line {number}")
        query_id, doc_id, score = parts
        if number == 1 and not score.strip().lstrip("-").isdigit():
            continue  # the header line BEIR's qrels start with
        try:
            qrels.setdefault(query_id, {})[doc_id] = int(score)
        except ValueError:
            raise InputError(str(path), f"score {score!r} is not an integer", f"line {number}") from None
    if not qrels:
        raise InputError(str(path), "no judgements")
    return qrels


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered non-blank lines of a text file, plain or gzip; unreadable bytes become an `InputError`."""
    number = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    yield number, line
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}", f"line {number + 1}") from None


def _json_object(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not valid JSON: {exc.msg}", f"line {number}") from None
    if not isinstance(row, dict):
        raise InputError(str(path), "expected a JSON object", f"line {number}")
    return row


def _string_field(row: dict[str, Any], name: str, path: Path, number: int, required: bool = True) -> str:
    value = row.get(name)
    if value is None and not required:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and name == "_id":
        return str(value)
    if not isinstance(value, str):
        reason = f"missing field {name!r}" if value is None else f"field {name!r} is not a string"
        raise InputError(str(path), reason, f"line {number}")
    return value
