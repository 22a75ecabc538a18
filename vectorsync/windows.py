"""Read a path's records in bounded windows, so that a run's memory does not grow with the corpus.

A window closes after `max_records` records or `max_chars` characters of text, whichever comes first; a
record is never split across windows, so every document is chunked and planned whole. The first windows are
smaller (FIRST_WINDOW_RECORDS, doubling up to `max_records`), so the model starts on the first vectors within
a moment instead of waiting for a whole window to be read, tokenized and planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vectorsync.records import Record, Skip
from vectorsync.sources import LoadOptions, discover, load_file, source_name

# Records in the first window; each next window doubles it until it reaches the run's window size. Measured on
# the int8 model (2 cores, 1,500 SciFact chunks), a full first window kept the model idle for 3.5 s of a 66 s run.
FIRST_WINDOW_RECORDS = 64


@dataclass
class Window:
    """Consecutive records of a run, what was skipped while reading them, and the files first read in it."""

    number: int
    records: list[Record] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    chars: int = 0

    def __bool__(self) -> bool:
        return bool(self.records or self.skips or self.files)


def read_windows(
    path: str | Path, options: LoadOptions, max_records: int = 2048, max_chars: int = 4_000_000
) -> Iterator[Window]:
    """Windows of the records under `path`, file by file in sorted order, read lazily.

    Raises `InputError` at once (before the first window) when the path does not exist or names no file.
    """
    return _windows(discover(path), options, max_records, max_chars)


def _windows(found: Iterable[Path | Skip], options: LoadOptions, max_records: int, max_chars: int) -> Iterator[Window]:
    window = Window(1)
    limit = min(FIRST_WINDOW_RECORDS, max_records)
    for file in found:
        if isinstance(file, Skip):  # a link loop, a pipe, a folder that cannot be listed
            window.skips.append(file)
            continue
        window.files.append(source_name(file))
        for item in load_file(file, options):
            if isinstance(item, Skip):
                window.skips.append(item)
                continue
            window.records.append(item)
            window.chars += len(item.text)
            if len(window.records) >= limit or window.chars >= max_chars:
                yield window
                window = Window(window.number + 1)
                limit = min(2 * limit, max_records)
    if window:
        yield window
