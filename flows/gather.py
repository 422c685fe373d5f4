"""Page results gathered into write steps: whole page batches, written together once they hold
`size` pages, or as soon as a batch arrives more than `max_wait` seconds after the last write."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, Self, TypeVar

from pipeline.lake import parse_warehouse_url
from pipeline.settings import Settings

T = TypeVar("T")
FILE_PAGES_PER_WRITE = 300  # NEWS_INGEST_PAGES_PER_WRITE's default on a DuckDB file
# A slow run (a backfill paced at a second per host) writes each batch as it comes: what a
# crash loses, and how long the progress bar stands still, stay as they were per batch.
WRITE_MAX_WAIT = 10.0


class WriteGatherer(Generic[T]):
    """Gathers items for `write`. Used as a context manager, it writes what it holds on the
    way out, also when the block raised (a later batch failing must not cost the batches that
    already finished), unless a write itself failed (it would only fail again)."""

    def __init__(
        self,
        write: Callable[[list[T]], None],
        size: int,
        max_wait: float = WRITE_MAX_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self.size = size
        self.max_wait = max_wait
        self._clock = clock
        self._items: list[T] = []
        self._last_write = clock()
        self._write_failed = False

    def add(self, items: Sequence[T]) -> None:
        """Gather a finished batch; write the gathered ones when there are enough, or when
        the last write was long enough ago."""
        self._items.extend(items)
        if len(self._items) >= self.size or self._clock() - self._last_write >= self.max_wait:
            self.flush()

    def flush(self) -> None:
        if not self._items:
            return
        try:
            self._write(self._items)
        except BaseException:
            self._write_failed = True
            raise
        self._items = []
        self._last_write = self._clock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._write_failed:
            self.flush()


def pages_per_write(settings: Settings, warehouse: Path | str) -> int:
    """NEWS_INGEST_PAGES_PER_WRITE, or its default for where the run writes: 300 pages on a
    DuckDB file, each batch on a lake (see the setting)."""
    if settings.pages_per_write is not None:
        return settings.pages_per_write
    return 1 if parse_warehouse_url(str(warehouse)).is_lake else FILE_PAGES_PER_WRITE
