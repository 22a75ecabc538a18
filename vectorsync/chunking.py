"""Token-aware chunking: split text with the embedding model's own tokenizer, never past its limit.

Chunk boundaries prefer paragraph and sentence ends, neighbouring chunks share `overlap` tokens,
and the same input always gives the same chunks (and so the same ids). Text the tokenizer cannot split
(a megabyte with no space, which a WordPiece tokenizer reads as one `[UNK]`) is cut by characters instead,
so that no chunk holds more than `MAX_CHARS_PER_TOKEN` characters per token, with a warning.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from vectorsync.embedders.base import Embedder, Tokenizer
from vectorsync.errors import ConfigError
from vectorsync.records import Chunk, Record, chunk_id, fingerprint


def chunker_for(embedder: Embedder, chunk_tokens: int | None = None, overlap: int = 32) -> Chunker:
    """The chunker for `embedder`: its tokenizer, at most its limit less the document prompt, its identity in every
    fingerprint."""
    limit = min(chunk_tokens or embedder.document_tokens, embedder.document_tokens)
    return Chunker(embedder.tokenizer, limit, min(overlap, limit // 2 - 1), embedder.identity)


log = logging.getLogger("vectorsync.chunking")

# Ordinary text runs 3 to 6 characters per token, and no real token spans more than a few dozen: a longer
# span is text the tokenizer gave up on, and a chunk this sparse in tokens has a meaningless vector.
MAX_CHARS_PER_TOKEN = 50

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
        """The record's chunks in order; empty text gives none. Warns, naming the record, when cutting by characters."""
        return self._chunks(record, self.tokenizer.token_offsets(record.text))

    def chunk_many(self, records: Sequence[Record]) -> list[Chunk]:
        """Every chunk of `records`, in order, the same as `chunk` gives; the texts are tokenized in one call."""
        offsets = token_offsets_many(self.tokenizer, [record.text for record in records])
        return [chunk for record, found in zip(records, offsets, strict=True) for chunk in self._chunks(record, found)]

    def _chunks(self, record: Record, offsets: list[tuple[int, int]]) -> Iterator[Chunk]:
        pieces, unsplittable = self._pieces(record.text, offsets)
        if unsplittable:
            log.warning(
                "%s: %d characters the tokenizer cannot split (no spaces or punctuation) were cut by characters, "
                "at most %d per token of each chunk",
                record.id,
                unsplittable,
                MAX_CHARS_PER_TOKEN,
            )
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
        """Split `text` into pieces of at most `max_tokens` tokens and `MAX_CHARS_PER_TOKEN` characters per token."""
        return self._pieces(text, self.tokenizer.token_offsets(text))[0]

    def _pieces(self, text: str, offsets: list[tuple[int, int]]) -> tuple[list[str], int]:
        """The pieces of `text` (whose token `offsets` are given), and how many characters were cut by characters."""
        if len(offsets) <= self.max_tokens and all(end - start <= MAX_CHARS_PER_TOKEN for start, end in offsets):
            # The common case: the whole text is one chunk, and needs no second tokenization.
            piece = text[offsets[0][0] : offsets[-1][1]].strip() if offsets else ""
            return ([piece] if piece else []), 0
        pieces: list[str] = []
        unsplittable = 0
        segment = 0
        for index, (start, end) in enumerate(offsets):
            if end - start > MAX_CHARS_PER_TOKEN:
                pieces += self._by_tokens(text, offsets[segment:index])
                pieces += self._by_characters(text[start:end])
                unsplittable += end - start
                segment = index + 1
        pieces += self._by_tokens(text, offsets[segment:])
        return pieces, unsplittable

    def _by_characters(self, run: str, width: int = 0) -> list[str]:
        """Cut a run the tokenizer could not split into the widest windows that it splits densely enough.

        The width is found on the run's first window; a later window that is still too sparse is cut again.
        """
        width = width or self._dense_width(run)
        windows = [run[start : start + width] for start in range(0, len(run), width)]
        pieces: list[str] = []
        for window, count in zip(windows, self._token_counts(windows), strict=True):
            if not count:  # a window with no token at all carries nothing to embed
                continue
            if width == 1 or self._dense(window, count):
                if window := window.strip():
                    pieces.append(window)
            else:
                pieces += self._by_characters(window, width // 2)
        return pieces

    def _dense_width(self, run: str) -> int:
        width = self.max_tokens * MAX_CHARS_PER_TOKEN
        while width > 1:
            window = run[:width]
            count = len(self.tokenizer.token_offsets(window))
            if not count or self._dense(window, count):
                return width
            width //= 2
        return 1

    def _dense(self, window: str, count: int) -> bool:
        return len(window.strip()) <= MAX_CHARS_PER_TOKEN * count and count <= self.max_tokens

    def _token_counts(self, windows: list[str]) -> list[int]:
        """Tokens per window, from one tokenizer call over the windows joined by line breaks (no token spans one)."""
        offsets = self.tokenizer.token_offsets("\n".join(windows))
        starts = [start for start, _ in offsets]
        counts, begin = [], 0
        for window in windows:
            end = begin + len(window)
            counts.append(bisect.bisect_left(starts, end) - bisect.bisect_left(starts, begin))
            begin = end + 1
        return counts

    def _by_tokens(self, text: str, offsets: list[tuple[int, int]]) -> list[str]:
        """Windows of at most `max_tokens` of `offsets`, ending at paragraph, sentence or word ends where possible."""
        if not offsets:
            return []
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
