"""Loaders: turn files (text, Markdown, PDF, JSON Lines, CSV, Parquet) into records with stable ids.

`load("examples/docs")` yields a `Record` per document, PDF page, row or part of a huge file,
and a `Skip` for anything left out, with the reason.
"""

from vectorsync.sources.files import SUPPORTED_SUFFIXES, discover, load, load_file
from vectorsync.sources.options import LoadOptions

__all__ = ["SUPPORTED_SUFFIXES", "LoadOptions", "discover", "load", "load_file"]
