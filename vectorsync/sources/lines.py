"""Lines of a stream with a bound on their length, so one endless line never has to fit in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, AnyStr

_ENDS = ("\n", "\r", b"\n", b"\r")


def bounded_lines(stream: IO[AnyStr], limit: int) -> Iterator[AnyStr | None]:
    """Each line of `stream` with its line break, or None for a line over `limit`, which is read past in blocks."""
    while line := stream.readline(limit + 1):
        if len(line) <= limit or line[-1:] in _ENDS:
            yield line
            continue
        while (rest := stream.readline(limit + 1)) and rest[-1:] not in _ENDS:
            pass
        yield None
