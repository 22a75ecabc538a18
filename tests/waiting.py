"""Waiting in the live MongoDB suites: the search index follows writes a moment later, so tests poll, and say so
loudly when what they wait for never comes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def eventually(probe: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 60.0, what: str = "") -> T:
    """`probe()` once `done` holds for it; fails the test, with the last value seen, when not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what or 'condition'} not reached after {timeout_s:g} s; last value: {value!r}")
        time.sleep(0.5)
