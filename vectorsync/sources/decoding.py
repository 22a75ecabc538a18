"""Bytes to clean text: guess the encoding, recognise binary files, remove control characters."""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

log = logging.getLogger("vectorsync.sources")

_HEAD_BYTES = 8192
_BLOCK_BYTES = 1 << 16
# Terminal colour codes, then control characters other than tab, newline and carriage return: C0, DEL and C1.
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Lone surrogates (from JSON escapes such as "\ud800", or a parser's bug) cannot be written as UTF-8 by any store.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Vertical tab and form feed separate lines and pages: they become newlines, so words either side stay apart.
_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})
# Any character the stripper changes (an escape sequence starts with ESC, \x1b): one scan finds most texts clean.
_NEEDS_CLEANING = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Above this share of control characters in the first 8 KiB, a file is binary, not text with stray bytes.
_BINARY_SHARE = 0.10
# UTF-32 before UTF-16: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Tried in order without a byte-order mark; latin-1 decodes any bytes, so it ends the list.
_FALLBACKS = ("utf-8", "cp1252", "latin-1")
# UTF-8 text with some cp1252 bytes pasted in (a file edited with two editors): decoded as UTF-8, each
# byte that is not UTF-8 as cp1252, so neither part turns into mojibake.
MIXED = "utf-8+cp1252"
_MIXED_ERRORS = "vectorsync-cp1252-bytes"
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def detect_encoding(path: Path) -> str | None:
    """The encoding that decodes the whole of `path`, or None when its content is binary.

    A byte-order mark decides; otherwise UTF-8, then `MIXED` when UTF-8 fails on a file that holds
    UTF-8 sequences, then cp1252, then latin-1. Reads the file in blocks.
    """
    head = head_of(path)
    bom = next((name for mark, name in _BOMS if head.startswith(mark)), None)
    candidates = [bom] if bom else [name for name in _FALLBACKS if _decodes(name, [head], final=False)]
    if looks_binary(head, candidates[0]):
        return None
    if bom:
        return bom
    chosen = next(name for name in candidates if name == "latin-1" or _decodes_file(path, name))
    return MIXED if chosen != "utf-8" and _UTF8_SEQUENCE.search(head) else chosen


def looks_binary(head: bytes, encoding: str = "utf-8") -> bool:
    """Whether the first bytes of a file are binary data (over 10% control characters), not text with stray bytes."""
    sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    return bool(sample) and len(_CONTROL.findall(sample)) / len(sample) > _BINARY_SHARE


def head_of(path: Path) -> bytes:
    """The first 8 KiB of `path`, enough to tell text from binary."""
    with path.open("rb") as stream:
        return stream.read(_HEAD_BYTES)


def open_text(path: Path, encoding: str, newline: str | None = None) -> TextIO:
    """`path` opened for reading text in `encoding`; bytes that changed since detection become U+FFFD."""
    if encoding == MIXED:
        return path.open("r", encoding="utf-8", errors=_MIXED_ERRORS, newline=newline)
    return path.open("r", encoding=encoding, errors="replace", newline=newline)


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    """Decode the bytes that are not UTF-8 one by one as cp1252 (latin-1 where cp1252 leaves a byte undefined)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(bytes([byte]).decode("cp1252", errors="ignore") or chr(byte) for byte in bad), error.end


codecs.register_error(_MIXED_ERRORS, _cp1252_bytes)


class ControlStripper:
    """Removes control characters and terminal colour codes, and counts them, so a loader warns once per file.

    Tab and newline stay; vertical tab and form feed become newlines; a lone surrogate becomes U+FFFD.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.removed = 0
        self.replaced = 0

    def __call__(self, text: str) -> str:
        if not _NEEDS_CLEANING.search(text):
            return text  # the common case, in a seventh of the time of the three passes below
        cleaned, count = _CONTROL.subn("", text.translate(_BREAKS))
        self.removed += count
        return self.valid(cleaned)

    def valid(self, text: str) -> str:
        """`text` with every lone surrogate replaced by U+FFFD, so it encodes as UTF-8 (field names, metadata)."""
        if not _SURROGATE.search(text):
            return text
        cleaned, count = _SURROGATE.subn("\ufffd", text)
        self.replaced += count
        return cleaned

    def warn(self) -> None:
        """Log how many control characters were removed from the file, and invalid characters replaced, if any."""
        if self.removed:
            log.warning("%s: removed %d control characters", self.source, self.removed)
        if self.replaced:
            log.warning("%s: replaced %d lone surrogates (invalid Unicode) with U+FFFD", self.source, self.replaced)


def _decodes(encoding: str, blocks: Iterable[bytes], *, final: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        for block in blocks:
            decoder.decode(block)
        decoder.decode(b"", final=final)
    except UnicodeDecodeError:
        return False
    return True


def _decodes_file(path: Path, encoding: str) -> bool:
    with path.open("rb") as stream:
        return _decodes(encoding, iter(lambda: stream.read(_BLOCK_BYTES), b""), final=True)
