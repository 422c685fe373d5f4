"""A hook for measuring the store's costly steps from outside (benchmarks, evaluations)
without patching it: observers hear each step's name, wall seconds and item count."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# (step, seconds, items). Steps: "cluster" (items: new articles clustered) and
# "record_pages" (items: page results stored, band index refresh included).
StepObserver = Callable[[str, float, int], None]

_observers: list[StepObserver] = []


@contextmanager
def observe_steps(observer: StepObserver) -> Iterator[None]:
    """Call `observer` after every store step in this process while the block runs."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


@contextmanager
def timed_step(step: str, items: int) -> Iterator[None]:
    """Time the block for the observers, if any (the step's cost is unchanged without)."""
    if not _observers:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        for observer in list(_observers):
            observer(step, elapsed, items)
