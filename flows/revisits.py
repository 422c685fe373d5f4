"""Edit tracking's pass: revisit the watched articles whose revisit time has come
(pipeline.revisit's schedule), each with a conditional GET, and records what changed; the
scheduled `ingest` runs the same pass after its feeds (NEWS_INGEST_REVISIT_IN_INGEST)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.futures import PrefectFuture, as_completed
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from flows.reports import log_progress
from flows.runners import batch_arg, release
from pipeline.batches import ExtractPool
from pipeline.fetch import Fetcher
from pipeline.records import RevisitResult, RevisitTarget
from pipeline.revisit_fetch import fetch_revisit_batch
from pipeline.settings import Settings
from pipeline.store import Warehouse

WarehousePath = Path | str
STEP_WAIT = 600.0  # as flows/ingest.py's steps: seconds a step waits for a reader
# As flows/ingest.py's batch tasks: results in memory only, retried when something raises.
REVISIT_TASK: dict[str, Any] = {
    "cache_policy": NONE,
    "persist_result": False,
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=5),
    "retry_jitter_factor": 0.5,
}
# flows.ingest.write_warehouse, handed in: this module is imported by flows.ingest.
Write = Callable[[WarehousePath, str, int | None, Any], dict[str, int]]


@task(name="revisit-pages", **REVISIT_TASK)
def revisit_pages(
    targets: list[RevisitTarget],
    fetcher: Fetcher | None,
    settings: Settings,
    extractor: ExtractPool | None,
    prefix: str,
) -> list[RevisitResult]:
    """Revisit a batch of watched pages; `fetcher` None: with a client of the task's own."""
    client: AbstractContextManager[Fetcher] = (
        nullcontext(fetcher) if fetcher is not None else Fetcher(settings)
    )
    with client as fetching:
        return fetch_revisit_batch(targets, fetching, settings.archive_path, extractor, prefix)


def track_edits(
    path: WarehousePath,
    run_id: int,
    settings: Settings,
    fetcher: Fetcher | None,
    extractor: ExtractPool | None,
    totals: dict[str, int],
    write: Write,
    revisit: bool = True,
    all_watched: bool = False,
    now: datetime | None = None,
) -> None:
    """With `revisit`, revisit the due watched articles (all of them with `all_watched`), in
    batches written as they complete; then count the run's edits per kind into `totals`
    (feed-announced ones too). `now`: the clock the schedule reads (tests pass a fake one)."""
    logger = get_run_logger()
    if revisit:
        clock = now or datetime.now(UTC)
        with Warehouse(path, migrate=False, wait=STEP_WAIT) as wh:
            targets, plan_counts = wh.plan_revisits(
                clock,
                settings.schedule,
                settings.revisit_budget,
                settings.revisit_per_host,
                all_watched,
            )
        for key, value in plan_counts.items():
            totals[key] = totals.get(key, 0) + value
        logger.info(
            "run %d: %d watched articles to revisit (%d held back by the budget or per-host"
            " bound, %d no longer watched)",
            run_id,
            len(targets),
            plan_counts["revisits_deferred"],
            plan_counts["articles_unwatched"],
        )
        if extractor is not None and targets:
            extractor.start()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        size = max(1, settings.page_batch)
        futures: list[PrefectFuture[Any]] = [
            revisit_pages.submit(
                batch_arg(targets[i : i + size]),
                fetcher,
                settings,
                extractor,
                f"revisits-{stamp}-{i // size}",
            )  # fmt: skip
            for i in range(0, len(targets), size)
        ]
        done, started = 0, time.monotonic()
        for future in as_completed(futures):
            results: list[RevisitResult] = future.result()
            done += len(results)
            for result in results:
                if result.outcome == "removed":
                    logger.info("article %d taken down: %s", result.target.article_id,
                                result.fetch.status)  # fmt: skip
            counts = write(path, "revisit_results", run_id, quote((results, now)))
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            release(future)
            log_progress(logger, run_id, done, len(targets), time.monotonic() - started)
    with Warehouse(path, migrate=False, wait=STEP_WAIT) as wh:
        totals.update(wh.edit_counts(run_id))
