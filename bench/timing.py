"""Timing helpers shared by the bench groups (wall clock, one call per sample)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def sample_ms(fn: Callable[[T], object], items: Iterable[T]) -> list[float]:
    """Milliseconds of `fn(item)` for each item, in order."""
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def repeat_s(fn: Callable[[], object], runs: int) -> list[float]:
    """Seconds of `runs` calls of `fn()`."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out
