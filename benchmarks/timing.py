"""Timing shared by the benchmarks: the best of repeated runs, so one slow run (a cold cache, another process)
does not set the number."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(repeats: int, action: Callable[[], object]) -> float:
    """The shortest wall time (s) of ``repeats`` calls of ``action``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)
