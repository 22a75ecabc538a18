"""File names as text that every later step can store: undecodable bytes are shown as escapes.

Linux allows any bytes but `/` and NUL in a name; Python hands the ones that are not UTF-8 over as lone
surrogates, which Arrow, LanceDB, BSON and JSON loggers refuse, and a newline in a name splits log lines.
`bad_\\xff.txt` (with the byte 0xFF) is written as the text `bad_\\\\xff.txt`: the same name gives the
same text on every run, so ids stay stable and `--prune` still matches the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# Undecodable bytes (as Python's lone surrogates) and control characters, which would break a log line in two.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with each undecodable byte and control character written as `\\xNN` (another lone surrogate `\\udNNN`)."""
    return _UNPRINTABLE.sub(_escape, text) if _UNPRINTABLE.search(text) else text


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # the byte that surrogateescape stood in for
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def absolute(path: Path) -> Path:
    """`path` made absolute with symbolic links resolved; a link loop keeps the unresolved absolute path."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # Python before 3.13 raises RuntimeError on a symbolic link loop
        return Path(os.path.abspath(path))


def source_name(path: Path) -> str:
    """The `source` of every record of `path`: its resolved absolute path, printable (see `printable`)."""
    return printable(absolute(path).as_posix())
