"""Cut long text into records of bounded size, at paragraph, line or word ends."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

_BREAKS = ("\n\n", "\n", " ")


def bounded_parts(blocks: Iterable[str], max_chars: int) -> Iterator[str]:
    """Join `blocks` as they arrive and yield pieces of at most `max_chars` characters, stripped, blank ones left out.

    Holds at most about `max_chars` plus one block in memory, so a huge file can be streamed through it.
    Where a piece ends depends only on the text, never on how it was split into blocks.
    """
    pending: list[str] = []
    size = 0
    for block in blocks:
        pending.append(block)
        size += len(block)
        if size <= max_chars:
            continue
        text = "".join(pending)
        start = 0
        while len(text) - start > max_chars:
            end = _cut(text, start, start + max_chars)
            if piece := text[start:end].strip():
                yield piece
            start = end
        pending, size = [text[start:]], len(text) - start
    if tail := "".join(pending).strip():
        yield tail


def part_id(base: str, number: int) -> str:
    """The id of part `number` of a record: the first part keeps `base`, so unsplit records keep a simple id."""
    return base if number == 0 else f"{base}#part-{number}"


def _cut(text: str, start: int, limit: int) -> int:
    """Where to end a piece that starts at `start` and may not pass `limit`: the last break in its second half."""
    for separator in _BREAKS:
        found = text.rfind(separator, start + (limit - start) // 2, limit)
        if found != -1:
            return found + len(separator)
    return limit
