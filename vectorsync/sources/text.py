"""Plain text and Markdown files: one record per file, or several parts when the file is huge."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from vectorsync.records import Record, Skip
from vectorsync.sources.decoding import ControlStripper, detect_encoding, open_text
from vectorsync.sources.names import printable
from vectorsync.sources.options import LoadOptions
from vectorsync.sources.parts import bounded_parts, part_id

_READ_CHARS = 1 << 16
# No nested quantifiers: a hostile heading line costs linear time, never quadratic backtracking.
_TITLE = re.compile(r"^#[ \t]+(\S[^\n]*)", re.MULTILINE)
_MAX_TITLE_CHARS = 500
_MARKDOWN = {".md", ".markdown"}


def load_text(path: Path, source: str, options: LoadOptions) -> Iterator[Record | Skip]:
    """Yield the file's text as one record, streamed into parts of at most `options.max_record_chars`."""
    encoding = detect_encoding(path)
    if encoding is None:
        yield Skip(source, "binary content, not text (is the file extension right?)")
        return
    metadata: dict[str, object] = {"type": path.suffix.lower().lstrip("."), "file_name": printable(path.name)}
    strip_controls = ControlStripper(source)
    found = False
    with open_text(path, encoding) as stream:
        blocks = (strip_controls(block) for block in iter(lambda: stream.read(_READ_CHARS), ""))
        for number, text in enumerate(bounded_parts(blocks, options.max_record_chars)):
            if number == 0 and path.suffix.lower() in _MARKDOWN and (title := _TITLE.search(text)):
                metadata["title"] = title.group(1).rstrip(" \t\r#")[:_MAX_TITLE_CHARS]
            found = True
            yield Record(part_id(source, number), source, text, dict(metadata))
    strip_controls.warn()
    if not found:
        yield Skip(source, "no text: only whitespace or control characters")
