"""`python -m vectorsync.cli` runs the same command line as `vectorsync`."""

from vectorsync.cli import main

main()
