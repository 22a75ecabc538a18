"""How hits and sources read on a terminal or a Prefect artifact: one-line snippets, paths that tell files apart."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

# Characters of a hit's text shown in a table cell.
SNIPPET_CHARS = 160


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """`text` on one line, cut at the last word boundary before `limit` characters, with an ellipsis when cut."""
    flat = _flat(text)
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:.") + "…"


def display_sources(sources: Sequence[str], root: str | None = None) -> list[str]:
    """Paths relative to `root` (or the sources' common folder), never shorter than their last two parts.

    Two files of the same name in different folders must not look the same; non-path sources stay as they are.
    """
    paths = [s for s in sources if "/" in s]
    base = root or (os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else "")
    shown = []
    for source in sources:
        if "/" not in source:
            shown.append(source)
            continue
        relative = os.path.relpath(source, base) if base and source.startswith(base.rstrip("/") + "/") else source
        parts = [p for p in relative.split("/") if p]
        tail = "/".join([p for p in source.split("/") if p][-2:])
        shown.append(relative if len(parts) >= 2 else tail)
    return shown


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
