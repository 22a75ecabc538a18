"""Token counting for hosted models: tiktoken when its encoding is already on disk, else a safe estimate.

tiktoken downloads an encoding on first use, with no timeout. vectorsync runs offline too, so it only
hands tiktoken an encoding that tiktoken's own cache already holds, intact; otherwise it estimates.
The estimate over-counts ordinary text on purpose: chunks come out smaller rather than over the model's limit.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tiktoken
import tiktoken.model

# Where tiktoken fetches each encoding from and the sha256 it checks (tiktoken_ext/openai_public.py).
_ENCODING_FILES: dict[str, tuple[str, str]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}

# Pieces as cl100k pre-tokenises them (contractions, words with one leading mark, up to 3 digits,
# punctuation runs, line breaks, spaces): BPE never merges across pieces, so each costs at least one token.
_PIECE = re.compile(
    r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\w]?[^\W\d_]+|\d{1,3}| ?(?:[^\s\w]|_)+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Long unbroken runs are hashes, base64, URLs and identifiers, which BPE splits finely.
_LONG_RUN = re.compile(r"\S{20,}")
# Weights in sixths of a token, measured against cl100k: an ASCII byte 1/3 (2/3 inside a long run),
# a 2-byte character 4/3 (Greek, Cyrillic), a 3-byte one 2 (CJK, Hangul, Devanagari), a 4-byte one 3 (emoji).
_SIXTHS = 6
_ASCII, _ASCII_IN_LONG_RUN, _TWO_BYTES, _THREE_BYTES, _FOUR_BYTES = 2, 4, 8, 12, 18


class TokenCounter(Protocol):
    """A `Tokenizer` that also counts; `exact` says whether it is the model's real tokenizer."""

    @property
    def exact(self) -> bool: ...

    def token_offsets(self, text: str) -> list[tuple[int, int]]: ...

    def count(self, text: str) -> int: ...


@dataclass(frozen=True)
class TiktokenCounter:
    """The model's own BPE tokenizer, loaded from tiktoken's local cache."""

    encoding: tiktoken.Encoding
    exact: bool = True

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of every token; tokens inside one multi-byte character get empty spans."""
        tokens = self.encoding.encode_ordinary(text)
        _, starts = self.encoding.decode_with_offsets(tokens)
        ends = [*starts[1:], len(text)] if starts else []
        return list(zip(starts, ends, strict=True))

    def count(self, text: str) -> int:
        """Number of tokens the API will bill for `text`."""
        return len(self.encoding.encode_ordinary(text))


@dataclass(frozen=True)
class EstimatedTokenCounter:
    """Pseudo-tokens of about 3 UTF-8 bytes per pre-tokenised piece: at least cl100k's count on ordinary text.

    It over-counts English prose and code by about 1.5-2x; rare names and random letters may come out a
    little under, so chunks meant for the API's hard limit keep some headroom.
    """

    exact: bool = False

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the pseudo-tokens; a heavy character may start several (all but one empty)."""
        in_long_run = bytearray(len(text))
        for run in _LONG_RUN.finditer(text):
            in_long_run[run.start() : run.end()] = b"\x01" * (run.end() - run.start())
        offsets: list[tuple[int, int]] = []
        for piece in _PIECE.finditer(text):
            starts: list[int] = []
            weight = 0
            for index in range(piece.start(), piece.end()):
                weight += _weight(text[index], in_long_run[index])
                while len(starts) * _SIXTHS < weight:
                    starts.append(index)
            offsets.extend(zip(starts, [*starts[1:], piece.end()], strict=True))
        return offsets

    def count(self, text: str) -> int:
        """Estimated tokens in `text`."""
        return len(self.token_offsets(text))


def get_token_counter(model: str) -> TokenCounter:
    """The exact counter for `model` when tiktoken knows it and its encoding is cached, else the estimate."""
    try:
        name = tiktoken.model.encoding_name_for_model(model)
    except KeyError:
        return EstimatedTokenCounter()
    if not _encoding_cached(name):
        return EstimatedTokenCounter()
    try:
        return TiktokenCounter(tiktoken.get_encoding(name))
    except (OSError, ValueError, KeyError):
        return EstimatedTokenCounter()


def _encoding_cached(name: str) -> bool:
    """Whether tiktoken would load `name` from disk (intact) rather than from the network."""
    if name not in _ENCODING_FILES:
        return False
    url, sha256 = _ENCODING_FILES[name]
    # tiktoken's own cache lookup (tiktoken/load.py); it reads these variables itself, vectorsync mirrors it.
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:
        return False
    path = Path(cache_dir) / hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def _weight(char: str, in_long_run: int) -> int:
    """What `char` costs in sixths of a token, by its UTF-8 length."""
    code = ord(char)
    if code < 0x80:
        return _ASCII_IN_LONG_RUN if in_long_run else _ASCII
    if code < 0x800:
        return _TWO_BYTES
    return _THREE_BYTES if code < 0x10000 else _FOUR_BYTES
