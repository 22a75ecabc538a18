"""Hand each file under a path to the loader for its format, and turn whatever goes wrong into a skip."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from vectorsync.records import Record, Skip
from vectorsync.sources.csvfile import load_csv
from vectorsync.sources.discovery import discover, kind_of
from vectorsync.sources.faults import describe, machine_fault
from vectorsync.sources.jsonl import load_jsonl
from vectorsync.sources.names import printable, source_name
from vectorsync.sources.options import DEFAULT_OPTIONS, LoadOptions
from vectorsync.sources.parquet import load_parquet
from vectorsync.sources.pdf import load_pdf
from vectorsync.sources.text import load_text

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


def load_file(path: str | Path, options: LoadOptions = DEFAULT_OPTIONS) -> Iterator[Record | Skip]:
    """Yield the records of one file, and a `Skip` with the reason for anything that cannot be used.

    Never raises for bad input: an unsupported suffix, an empty, vanished, special or unreadable file, and
    any error a parser raises each become a skip naming the file; records read before it are kept.
    Only a fault of the machine (out of file handles or memory for the kernel) propagates.
    """
    path = Path(path)
    source = source_name(path)
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        yield Skip(source, f"unsupported file type '{printable(path.suffix or path.name)}' (supported: {supported})")
        return
    try:
        status = path.stat()
    except OSError as exc:
        yield Skip(source, f"cannot read the file ({describe(exc)})")
        return
    if not stat.S_ISREG(status.st_mode):
        yield Skip(source, f"cannot read the file: it is {kind_of(status.st_mode)}")
        return
    if status.st_size == 0:
        yield Skip(source, "empty file")
        return
    count = 0
    try:
        for item in loader(path, source, options):
            count += 1
            yield item
    except Exception as exc:
        if machine_fault(exc):
            raise
        after = f" after {count} records" if count else ""
        yield Skip(source, f"cannot read the file{after} ({describe(exc)})")
        return
    if not count:
        yield Skip(source, "no records found")


def load(path: str | Path, options: LoadOptions = DEFAULT_OPTIONS) -> Iterator[Record | Skip]:
    """Yield the records and skips of every file under `path`, file by file in sorted order.

    The path is checked at once: `InputError` is raised here, not on the first iteration.
    """
    entries = discover(path)
    return (item for entry in entries for item in ([entry] if isinstance(entry, Skip) else load_file(entry, options)))
