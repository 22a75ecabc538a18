"""Benchmark corpora: SciFact abstracts when the shared copy is present, else seeded synthetic paragraphs.

Documents are written as JSON Lines files with an `id` field, the way a user would hand them to vectorsync.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from vectorsync.chunking import Chunker
from vectorsync.records import Record
from vectorsync.sources import LoadOptions, load

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact" / "corpus.jsonl.gz"
DOCS_PER_FILE = 500

_VOCABULARY = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have an "
    "they you were her she there one all we their has been would will if can more when who so what up out "
    "about into than them only other new some time could these two may then do first any like now my over such "
    "our man me even most made after also did many before must through back years where much your way well "
    "down should because each just those people how too little state good very make world still own see men "
    "work long get here between both life being under never day same another know while last might us great "
    "old year off come since against go came right used take three protein cell gene expression patients study "
    "results increased analysis mice treatment model data effect human clinical risk tissue response levels "
    "associated cancer disease control signaling receptor growth higher reduced lower significant population "
    "activity function network storage river harbour engine council library orchestra glacier market festival "
    "vaccine bridge"
)


@dataclass(frozen=True)
class Document:
    """One benchmark document."""

    id: str
    text: str


def scifact_documents() -> list[Document] | None:
    """The 5,183 SciFact abstracts (title and abstract), or None when the shared copy is absent."""
    if not SCIFACT.exists():
        return None
    with gzip.open(SCIFACT, "rt", encoding="utf-8") as stream:
        rows = [json.loads(line) for line in stream]
    return [Document(f"scifact-{row['_id']}", f"{row['title']}. {row['text']}".strip()) for row in rows]


def synthetic_documents(start: int = 0, seed: int = 7) -> Iterator[Document]:
    """Endless paragraphs of 40 to 250 words from a fixed word list; the same seed gives the same documents."""
    rng = random.Random(seed)
    words = _VOCABULARY.split()
    number = start
    while True:
        sentences, remaining = [], rng.randint(40, 250)
        while remaining > 0:
            size = min(remaining, rng.randint(6, 28))
            sentence = " ".join(rng.choice(words) for _ in range(size))
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
            remaining -= size
        yield Document(f"synthetic-{number}", " ".join(sentences))
        number += 1


def documents_for_chunks(target: int, chunker: Chunker) -> list[Document]:
    """The first documents whose chunks add up to at least `target` (SciFact first, synthetic after)."""
    pool: Iterator[Document]
    real = scifact_documents()
    if real is None:
        print(f"SciFact not found at {SCIFACT}: using synthetic paragraphs")
        pool = synthetic_documents()
    else:
        pool = _then_synthetic(real)
    documents: list[Document] = []
    chunks = 0
    for document in pool:
        if chunks >= target:
            break
        documents.append(document)
        chunks += len(chunker.split(document.text))
    if real is not None and len(documents) > len(real):
        print(f"SciFact gives {len(real)} documents; {len(documents) - len(real)} synthetic ones fill up to {target}")
    return documents


def chunk_texts(folder: Path, options: LoadOptions, chunker: Chunker) -> list[str]:
    """The chunk texts vectorsync makes of the files under `folder`, read by its own loaders."""
    return [
        chunk.text for record in load(folder, options) if isinstance(record, Record) for chunk in chunker.chunk(record)
    ]


def documents_count(count: int) -> list[Document]:
    """The first `count` documents (SciFact first, synthetic after)."""
    real = scifact_documents() or []
    pool = _then_synthetic(real)
    return [next(pool) for _ in range(count)]


def write_jsonl(documents: Sequence[Document], folder: Path, per_file: int = DOCS_PER_FILE) -> Path:
    """Write documents as JSON Lines files of `per_file` records under `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(documents), per_file)):
        with (folder / f"part-{number:04d}.jsonl").open("w", encoding="utf-8") as stream:
            for document in documents[start : start + per_file]:
                stream.write(json.dumps({"id": document.id, "text": document.text}) + "\n")
    return folder


def _then_synthetic(real: Sequence[Document]) -> Iterator[Document]:
    yield from real
    yield from synthetic_documents(start=len(real))
