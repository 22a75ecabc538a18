"""PDF files: one record per page that has extractable text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pypdf import PdfReader

from vectorsync.records import Record, Skip
from vectorsync.sources.decoding import ControlStripper
from vectorsync.sources.faults import describe, machine_fault
from vectorsync.sources.names import printable
from vectorsync.sources.options import LoadOptions
from vectorsync.sources.parts import bounded_parts, part_id


def load_pdf(path: Path, source: str, options: LoadOptions) -> Iterator[Record | Skip]:
    """Yield a record per page with text (`metadata.page` counts from 1); damaged files and pages become skips."""
    # pypdf raises many exception types on damaged input (PdfReadError, ValueError, KeyError, RecursionError,
    # ...); every one of them means "this file (or page) cannot be read": a skip with the reason, not a crash.
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            yield Skip(source, "encrypted PDF: needs a password")
            return
        pages = list(reader.pages)
    except Exception as exc:
        if machine_fault(exc):
            raise
        yield Skip(source, f"not a readable PDF ({describe(exc)})")
        return
    strip_controls = ControlStripper(source)
    found = False
    for number, page in enumerate(pages, start=1):
        try:
            text = strip_controls(page.extract_text()).strip()
        except Exception as exc:
            if machine_fault(exc):
                raise
            yield Skip(source, f"cannot extract text ({describe(exc)})", f"page {number}")
            continue
        metadata = {"type": "pdf", "file_name": printable(path.name), "page": number}
        for index, part in enumerate(bounded_parts([text], options.max_record_chars)):
            found = True
            yield Record(part_id(f"{source}#page-{number}", index), source, part, dict(metadata))
    strip_controls.warn()
    if not found:
        yield Skip(source, "no extractable text (a scanned PDF needs OCR first)")
