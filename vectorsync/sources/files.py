"""Find the files under a path and hand each to the loader for its format."""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from vectorsync.errors import InputError
from vectorsync.records import Record, Skip
from vectorsync.sources.csvfile import load_csv
from vectorsync.sources.jsonl import load_jsonl
from vectorsync.sources.options import DEFAULT_OPTIONS, LoadOptions
from vectorsync.sources.parquet import load_parquet
from vectorsync.sources.pdf import load_pdf
from vectorsync.sources.text import load_text

log = logging.getLogger("vectorsync.sources")

Loader = Callable[[Path, str, LoadOptions], Iterator[Record | Skip]]

_LOADERS: dict[str, Loader] = {
    ".txt": load_text,
    ".md": load_text,
    ".markdown": load_text,
    ".pdf": load_pdf,
    ".jsonl": load_jsonl,
    ".csv": load_csv,
    ".parquet": load_parquet,
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)
_GLOB_CHARS = frozenset("*?[")


def discover(path: str | Path) -> list[Path]:
    """The files a path names, resolved and sorted: the file itself, a folder's files at any depth, or a glob's matches.

    Hidden files and folders (`.git`, `.vectorsync`) are left out of folder walks.
    Raises `InputError` when the path does not exist or names no file.
    """
    given = Path(path).expanduser()
    if given.is_dir():
        found = list(_walk(given))
    elif given.is_file():
        found = [given]
    elif given.exists():
        raise InputError(str(given), "not a regular file or folder")
    elif _GLOB_CHARS & set(str(given)):
        found = [file for match in sorted(glob.glob(str(given), recursive=True)) for file in _expand(Path(match))]
    else:
        raise InputError(str(given), "no such file or folder")
    if not found:
        raise InputError(str(given), "no files found (hidden files and folders are skipped)")
    return sorted({file.resolve() for file in found}, key=Path.as_posix)


def load_file(path: str | Path, options: LoadOptions = DEFAULT_OPTIONS) -> Iterator[Record | Skip]:
    """Yield the records of one file, and a `Skip` with the reason for anything that cannot be used.

    Never raises for bad input: an unsupported suffix, an empty or unreadable file each become one skip.
    """
    path = Path(path)
    source = path.resolve().as_posix()
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        yield Skip(source, f"unsupported file type '{path.suffix or path.name}' (supported: {supported})")
        return
    found = False
    try:
        if path.stat().st_size == 0:
            yield Skip(source, "empty file")
            return
        for item in loader(path, source, options):
            found = True
            yield item
    except OSError as exc:
        yield Skip(source, f"cannot read the file: {exc.strerror or exc}")
        return
    if not found:
        yield Skip(source, "no records found")


def load(path: str | Path, options: LoadOptions = DEFAULT_OPTIONS) -> Iterator[Record | Skip]:
    """Yield the records and skips of every file under `path`, file by file in sorted order.

    The path is checked at once: `InputError` is raised here, not on the first iteration.
    """
    files = discover(path)
    return (item for file in files for item in load_file(file, options))


def _expand(match: Path) -> Iterator[Path]:
    if match.is_dir():
        yield from _walk(match)
    elif match.is_file():
        yield match


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder, onerror=_warn_unreadable):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        for name in files:
            if not name.startswith(".") and (file := Path(root, name)).is_file():
                yield file


def _warn_unreadable(error: OSError) -> None:
    log.warning("%s: cannot list the folder (%s); its files are left out", error.filename, error.strerror)
