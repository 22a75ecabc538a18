"""Token-aware chunking: split text with the embedding model's own tokenizer, never past its limit.

Chunk boundaries prefer paragraph and sentence ends, neighbouring chunks share `overlap` tokens,
and the same input always gives the same chunks (and so the same ids).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from vectorsync.embedders.base import Embedder, Tokenizer
from vectorsync.errors import ConfigError
from vectorsync.records import Chunk, Record, chunk_id, fingerprint


def chunker_for(embedder: Embedder, chunk_tokens: int | None = None, overlap: int = 32) -> Chunker:
    """The chunker for `embedder`: its tokenizer, at most its limit, its identity in every fingerprint."""
    limit = min(chunk_tokens or embedder.max_tokens, embedder.max_tokens)
    return Chunker(embedder.tokenizer, limit, min(overlap, limit // 2 - 1), embedder.identity)


# A boundary is only worth taking when it keeps at least this share of the window.
_MIN_FILL = 0.6


@dataclass(frozen=True)
class Chunker:
    """Splits records into chunks of at most `max_tokens` content tokens with `overlap` shared tokens.

    >>> chunker = Chunker(tokenizer, max_tokens=254, overlap=32, embedder_identity="st:all-MiniLM-L6-v2")
    >>> chunks = list(chunker.chunk(record))
    """

    tokenizer: Tokenizer
    max_tokens: int
    overlap: int
    embedder_identity: str

    def __post_init__(self) -> None:
        if self.max_tokens < 8:
            raise ConfigError(f"chunk_tokens must be at least 8, got {self.max_tokens}")
        if not 0 <= self.overlap < self.max_tokens // 2:
            raise ConfigError(
                f"chunk_overlap must be between 0 and half of chunk_tokens ({self.max_tokens // 2}), got {self.overlap}"
            )

    def chunk(self, record: Record) -> Iterator[Chunk]:
        """The record's chunks in order; empty text gives none."""
        return self._chunks(record, self.split(record.text))

    def chunk_many(self, records: Sequence[Record]) -> list[Chunk]:
        """Every chunk of `records`, in order, the same as `chunk` gives; the texts are tokenized in one call."""
        offsets = token_offsets_many(self.tokenizer, [record.text for record in records])
        return [
            chunk
            for record, found in zip(records, offsets, strict=True)
            for chunk in self._chunks(record, self._split(record.text, found))
        ]

    def _chunks(self, record: Record, pieces: list[str]) -> Iterator[Chunk]:
        for index, text in enumerate(pieces):
            yield Chunk(
                id=chunk_id(record.id, index, text),
                document=record.id,
                source=record.source,
                text=text,
                chunk_index=index,
                metadata=record.metadata,
                fingerprint=fingerprint(text, self.embedder_identity),
            )

    def split(self, text: str) -> list[str]:
        """Split `text` into pieces of at most `max_tokens` tokens each."""
        return self._split(text, self.tokenizer.token_offsets(text))

    def _split(self, text: str, offsets: list[tuple[int, int]]) -> list[str]:
        if not offsets:
            return []
        if len(offsets) <= self.max_tokens:  # the common case: the whole text is one chunk, no second tokenization
            piece = text[offsets[0][0] : offsets[-1][1]].strip()
            return [piece] if piece else []
        pieces: list[str] = []
        start = 0
        while start < len(offsets):
            end = min(start + self.max_tokens, len(offsets))
            if end < len(offsets):
                end = _best_cut(text, offsets, start, end)
            piece = text[offsets[start][0] : offsets[end - 1][1]].strip()
            # A piece cut inside a word can re-tokenise longer than its window: shrink until it fits.
            while end - start > 1 and (excess := len(self.tokenizer.token_offsets(piece)) - self.max_tokens) > 0:
                end -= excess
                piece = text[offsets[start][0] : offsets[end - 1][1]].strip()
            if piece:
                pieces.append(piece)
            if end >= len(offsets):
                break
            start = max(end - self.overlap, start + 1)
        return pieces


def token_offsets_many(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    """`token_offsets` of every text; a tokenizer with a batch method (the Rust fast tokenizer) gets one call."""
    batch = getattr(tokenizer, "token_offsets_batch", None)
    return batch(texts) if batch is not None else [tokenizer.token_offsets(text) for text in texts]


def _best_cut(text: str, offsets: list[tuple[int, int]], start: int, end: int) -> int:
    """The token index to end a chunk at: after a paragraph, else a sentence, else a word, else the window's end."""
    floor = start + max(1, int((end - start) * _MIN_FILL))
    for ends_unit in (_ends_paragraph, _ends_sentence, _ends_word):
        for cut in range(end, floor, -1):
            if ends_unit(text, offsets[cut - 1][1], offsets[cut][0]):
                return cut
    return end


def _ends_paragraph(text: str, token_end: int, next_start: int) -> bool:
    return text[token_end:next_start].count("\n") >= 2


def _ends_sentence(text: str, token_end: int, next_start: int) -> bool:
    return text[token_end - 1 : token_end] in {".", "!", "?", ":", ";"} and next_start > token_end


def _ends_word(text: str, token_end: int, next_start: int) -> bool:
    return next_start > token_end
