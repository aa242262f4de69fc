"""Timing helper shared by the benchmarks (run them as `python benchmarks/NAME.py`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    """The best wall time of ``repeats`` calls of ``fn`` (seconds)."""
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best
