"""The `ingest` flow: feeds → entries → pages → articles → DuckDB, one writer task."""

from __future__ import annotations

import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from pipeline.batches import fetch_feed_batch, fetch_page_batch, make_extract_pool
from pipeline.fetch import Fetcher
from pipeline.records import FeedState
from pipeline.settings import Settings
from pipeline.store import FeedResult, PageResult, PendingPage, Warehouse

CONCURRENT_BATCHES = 4  # batch tasks in flight; each fetches with its own thread pool

# The flow's process holds the warehouse's only read-write connection (DuckDB's rule); tasks
# receive its path, never the connection, which Prefect would try to hash.
_open_warehouses: dict[str, Warehouse] = {}
_open_lock = threading.Lock()


def warehouse_at(path: Path) -> Warehouse:
    key = str(Path(path).resolve())
    with _open_lock:
        wh = _open_warehouses.get(key)
        if wh is None:
            wh = Warehouse(Path(path))
            _open_warehouses[key] = wh
        return wh


def close_warehouse(path: Path) -> None:
    with _open_lock:
        wh = _open_warehouses.pop(str(Path(path).resolve()), None)
    if wh is not None:
        wh.close()


@task(name="fetch-feeds", cache_policy=NONE, persist_result=False)
def fetch_feeds(
    feeds: list[FeedState], fetcher: Fetcher, settings: Settings, prefix: str
) -> list[FeedResult]:
    return fetch_feed_batch(
        feeds, fetcher, settings.archive_path, settings.max_entries_per_feed, prefix
    )


@task(name="fetch-extract-pages", cache_policy=NONE, persist_result=False)
def fetch_pages(
    pages: list[PendingPage],
    fetcher: Fetcher,
    settings: Settings,
    extractor: ProcessPoolExecutor,
    prefix: str,
) -> list[PageResult]:
    return fetch_page_batch(pages, fetcher, settings.archive_path, extractor, prefix)


@task(name="write-warehouse", cache_policy=NONE, persist_result=False)
def write_warehouse(path: Path, operation: str, run_id: int | None, payload: Any) -> dict[str, int]:
    """The only task that writes the warehouse. Called (never submitted) from the flow, so
    writes happen one at a time on the flow's thread, each batch in one transaction."""
    wh = warehouse_at(path)
    if operation == "start_run":
        return {"run_id": wh.start_run()}
    if operation == "register_feeds":
        return {"feeds_added": wh.add_feeds(payload)}
    assert run_id is not None
    if operation == "feed_results":
        return wh.record_feed_results(run_id, payload)
    if operation == "page_results":
        return wh.record_page_results(run_id, payload)
    if operation == "finish_run":
        counts, status, error = payload
        wh.finish_run(run_id, counts, status, error)
        return {}
    raise ValueError(f"unknown warehouse operation {operation!r}")


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    size = max(1, size)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value


@flow(
    name="ingest",
    persist_result=False,
    task_runner=ThreadPoolTaskRunner(max_workers=CONCURRENT_BATCHES),  # type: ignore[arg-type]
)
def ingest(feed_urls: list[str] | None = None, warehouse: str | None = None) -> dict[str, int]:
    """Fetch every given feed (all registered feeds when none is given), fetch and extract the
    pages of new entries, and load the warehouse. Returns the run's counts."""
    logger = get_run_logger()
    settings = Settings.from_env(warehouse=Path(warehouse) if warehouse else None)
    path = settings.warehouse
    wh = warehouse_at(path)
    totals: dict[str, int] = {}
    run_id = write_warehouse(path, "start_run", None, None)["run_id"]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    extractor = make_extract_pool(settings.extract_workers)
    try:
        with Fetcher(settings) as fetcher:
            if feed_urls:
                write_warehouse(path, "register_feeds", run_id, list(feed_urls))
            feeds = wh.feed_states(feed_urls)
            totals["feeds_total"] = len(feeds)
            logger.info("run %d: fetching %d feeds", run_id, len(feeds))
            futures: list[PrefectFuture[Any]] = [
                fetch_feeds.submit(  # type: ignore[call-overload]  # quote: Prefect skips the walk
                    quote(batch), fetcher, settings, f"feeds-{stamp}-{i}"
                )
                for i, batch in enumerate(_chunks(feeds, settings.feed_batch))
            ]
            for future in as_completed(futures):
                results: list[FeedResult] = future.result()
                for r in results:
                    if r.error:
                        logger.warning("feed %s failed: %s", r.feed.url, r.error)
                _add(totals, write_warehouse(path, "feed_results", run_id, quote(results)))

            pages = wh.pending_pages()
            logger.info("run %d: %d new article pages to fetch", run_id, len(pages))
            futures = [
                fetch_pages.submit(  # type: ignore[call-overload]
                    quote(batch), fetcher, settings, extractor, f"pages-{stamp}-{i}"
                )
                for i, batch in enumerate(_chunks(pages, settings.page_batch))
            ]
            done = 0
            for future in as_completed(futures):
                page_results: list[PageResult] = future.result()
                done += len(page_results)
                _add(totals, write_warehouse(path, "page_results", run_id, quote(page_results)))
                logger.info("run %d: pages %d/%d", run_id, done, len(pages))
        write_warehouse(path, "finish_run", run_id, (totals, "completed", None))
    except BaseException as exc:
        write_warehouse(path, "finish_run", run_id, (totals, "failed", str(exc)[:500]))
        raise
    finally:
        extractor.shutdown(wait=True, cancel_futures=True)
    logger.info("run %d: %s", run_id, ", ".join(f"{k}={v}" for k, v in sorted(totals.items())))
    return {"run_id": run_id, **totals}
