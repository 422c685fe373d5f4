"""flows.gather.WriteGatherer: which finished batches a write step takes, and when."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.gather import FILE_PAGES_PER_WRITE, WriteGatherer, pages_per_write
from pipeline.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_whole_batches_are_written_together_once_there_are_enough() -> None:
    writes: list[list[int]] = []
    clock = Clock()
    with WriteGatherer(writes.append, size=7, clock=clock) as gathered:
        for start in range(0, 20, 3):
            gathered.add(list(range(start, min(start + 3, 20))))
    assert [len(w) for w in writes] == [9, 9, 2]  # 3+3+3 reaches 7; the rest on the way out
    assert [x for w in writes for x in w] == list(range(20))


def test_a_batch_arriving_long_after_the_last_write_is_written_at_once() -> None:
    writes: list[list[str]] = []
    clock = Clock()
    with WriteGatherer(writes.append, size=300, max_wait=10.0, clock=clock) as gathered:
        gathered.add(["a"])
        assert writes == []
        clock.now = 11.0  # a slow, paced run: batches minutes apart
        gathered.add(["b"])
        assert writes == [["a", "b"]]
        clock.now = 12.0
        gathered.add(["c"])
        assert writes == [["a", "b"]]  # 1 s after that write: gathered again
    assert writes == [["a", "b"], ["c"]]


def test_finished_batches_are_written_when_a_later_one_fails() -> None:
    writes: list[list[int]] = []
    with (
        pytest.raises(RuntimeError, match="batch 3 failed"),
        WriteGatherer(writes.append, size=100, clock=Clock()) as gathered,
    ):
        gathered.add([1, 2])
        gathered.add([3])
        raise RuntimeError("batch 3 failed")
    assert writes == [[1, 2, 3]]


def test_a_failed_write_is_not_tried_again_on_the_way_out() -> None:
    calls: list[list[int]] = []

    def failing(items: list[int]) -> None:
        calls.append(list(items))
        raise OSError("catalog down")

    with (
        pytest.raises(OSError, match="catalog down"),
        WriteGatherer(failing, size=2, clock=Clock()) as gathered,
    ):
        gathered.add([1, 2])
    assert calls == [[1, 2]]


def test_pages_per_write_defaults_by_where_the_run_writes(tmp_path: Path) -> None:
    settings = Settings.from_env(warehouse=str(tmp_path / "w.duckdb"))
    assert pages_per_write(settings, tmp_path / "w.duckdb") == FILE_PAGES_PER_WRITE
    lake = f"ducklake:sqlite:{tmp_path / 'catalog.sqlite'}"
    assert pages_per_write(settings, lake) == 1  # a lake writes each batch as it comes
    settings = Settings.from_env(warehouse=str(tmp_path / "w.duckdb"), pages_per_write=50)
    assert pages_per_write(settings, lake) == 50
    assert pages_per_write(settings, tmp_path / "w.duckdb") == 50
