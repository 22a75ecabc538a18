"""Loaders: turn files (text, Markdown, PDF, JSON Lines, CSV, Parquet) into records with stable ids.

`load("examples/docs")` yields a `Record` per document, PDF page, row or part of a huge file,
and a `Skip` for anything left out, with the reason. `discover` finds the files lazily and names the
entries it cannot read; `source_name` is the printable source string of a file (see `names`).
"""

from vectorsync.sources.discovery import discover
from vectorsync.sources.files import SUPPORTED_SUFFIXES, load, load_file
from vectorsync.sources.names import source_name
from vectorsync.sources.options import LoadOptions

__all__ = ["SUPPORTED_SUFFIXES", "LoadOptions", "discover", "load", "load_file", "source_name"]
