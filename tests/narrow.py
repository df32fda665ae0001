"""Type narrowing for tests: a value the test has just made sure exists."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def some(value: T | None) -> T:
    """The value, which must not be None here (a pipe the test opened, a reading's part)."""
    assert value is not None
    return value
