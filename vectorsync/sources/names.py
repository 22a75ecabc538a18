"""File names as text that every later step can store: undecodable bytes are shown as escapes.

Linux allows any bytes but `/` and NUL in a name; Python hands the ones that are not UTF-8 over as lone
surrogates, which Arrow, LanceDB, BSON and JSON loggers refuse. `bad_\\xff.txt` (with the byte 0xFF) is
written as the text `bad_\\\\xff.txt`: the same name gives the same text on every run, so ids stay stable
and `--prune` still matches the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_SURROGATES = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with every undecodable byte written as `\\xNN`, and any other lone surrogate as `\\udNNN`."""
    if not _SURROGATES.search(text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no byte produced: show its code point
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def absolute(path: Path) -> Path:
    """`path` made absolute with symbolic links resolved; a link loop keeps the unresolved absolute path."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # Python before 3.13 raises RuntimeError on a symbolic link loop
        return Path(os.path.abspath(path))


def source_name(path: Path) -> str:
    """The `source` of every record of `path`: its resolved absolute path, printable (see `printable`)."""
    return printable(absolute(path).as_posix())
