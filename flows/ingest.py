"""The Prefect flows: `ingest` (feeds → entries → pages → articles → DuckDB), `reextract`
and `maintenance`; one writer task, one writing run per warehouse at a time.

The fetch and extract tasks of `ingest` and `reextract` run where NEWS_INGEST_TASK_RUNNER says:
on threads in the flow's process, sharing one HTTP client and a local extraction pool, or on
Dask workers (prefect-dask), each task with its own client, extracting inline. Either way the
results come back to the flow, whose thread alone writes the warehouse."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from flows.gather import WriteGatherer, pages_per_write
from flows.reports import log_progress, run_report_markdown
from flows.revisits import track_edits
from flows.runners import (
    CONCURRENT_BATCHES,
    SettingsTaskRunner,
    batch_arg,
    release,
    tasks_run_here,
    thread_runner,
)
from flows.search_upkeep import rebuild_search, refresh_search
from pipeline.batches import (
    ExtractPool,
    fetch_feed_batch,
    fetch_page_batch,
    reextract_batch,
)
from pipeline.discover import (
    Discovered,
    HostRateLimiter,
    RobotsCache,
    discover_feed_archive,
    discover_sitemap,
    merge_discovered,
    read_url_list,
)
from pipeline.fetch import Fetcher
from pipeline.records import Article, Entry, FeedState
from pipeline.schedule import failure_kind, retry_after_holds
from pipeline.settings import Settings
from pipeline.store import (
    FeedResult,
    PageResult,
    PendingPage,
    StoredPage,
    Warehouse,
    commit_section_stats,
    writer_lock,
)
from pipeline.warehouse_ops import maintain_location, maintenance_report_lines
from pipeline.websub import push_polling

WarehousePath = Path | str  # a DuckDB file, or a `ducklake:` URL
FEEDS_PER_WRITE = 250  # feed results gathered into one write step
STEP_WAIT = 600.0  # seconds a write step waits for a reader (`news-ingest sql`) to let go
# Network tasks record fetch errors rather than raise; these retries cover the unexpected.
RETRIES = 2
RETRY_DELAYS = exponential_backoff(backoff_factor=5)
RETRY_JITTER = 0.5
# The batch tasks: results kept in memory only (never cached or persisted: they carry page
# bodies), retried with backoff when something unexpected raises.
BATCH_TASK: dict[str, Any] = {
    "cache_policy": NONE,
    "persist_result": False,
    "retries": RETRIES,
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_jitter_factor": RETRY_JITTER,
}
MODES = ("manual", "scheduled", "backfill")


def task_fetcher(fetcher: Fetcher | None, settings: Settings) -> AbstractContextManager[Fetcher]:
    """The run's shared Fetcher, or a task's own (a task on a Dask worker cannot be given one)."""
    return nullcontext(fetcher) if fetcher is not None else Fetcher(settings)


def run_fetcher(settings: Settings, here: bool) -> AbstractContextManager[Fetcher | None]:
    """The Fetcher a run shares with its tasks when they run in its process; else None."""
    return Fetcher(settings) if here else nullcontext(None)


def open_step(path: WarehousePath) -> Warehouse:
    """A connection for one step. The run never holds a file between steps, so readers and
    other processes get their turn; the run-level WriterLock keeps writers apart. On a lake
    the store hands each step the process's attached lake again (attaching costs ~0.4 s)."""
    return Warehouse(path, migrate=False, wait=STEP_WAIT)


@contextmanager
def writing_run(path: WarehousePath, log: Callable[[str], None]) -> Iterator[None]:
    """Hold a file warehouse's writer lock for a whole run, queueing behind another run. A lake
    has none: runs write it at once, each write step in the lake's commit section."""
    lock = writer_lock(path)
    if lock is not None:
        lock.acquire(on_wait=lambda: log(f"waiting for another run writing {path} to finish"))
    try:
        Warehouse(path, wait=STEP_WAIT).close()  # apply pending migrations once, up front
        yield
    finally:
        if lock is not None:
            lock.release()


@contextmanager
def recorded_run(
    path: WarehousePath, mode: str, settings: Settings, logger: Any, pool: bool = True
) -> Iterator[tuple[int, dict[str, int], ExtractPool | None]]:
    """A writing run: the writer lock, its `runs` row (completed, or failed with the reason),
    an extraction pool, started on first need (None without `pool`: tasks on Dask extract
    where they run), and its counts, logged at the end."""
    totals: dict[str, int] = {}
    with writing_run(path, logger.info):
        run_id = write_warehouse(path, "start_run", None, mode)["run_id"]
        # Started when the first feed with entries arrives (or the first page is submitted),
        # so the workers spawn and import while the other feeds are fetched.
        extractor = ExtractPool(settings.extract_workers) if pool else None
        try:
            yield run_id, totals, extractor
            write_warehouse(path, "finish_run", run_id, (totals, "completed", None))
            refresh_search(path, settings, logger, run_id, mode)
        except BaseException as exc:
            write_warehouse(path, "finish_run", run_id, (totals, "failed", str(exc)[:500]))
            raise
        finally:
            if extractor is not None:
                extractor.shutdown(wait=True, cancel_futures=True)
    logger.info("run %d: %s", run_id, ", ".join(f"{k}={v}" for k, v in sorted(totals.items())))
    sections = commit_section_stats()
    if sections.sections:  # a lake: how much its writers queued on one another
        logger.info(
            "run %d: %d commit sections, %.1f s waiting for the lake's commit lock (longest"
            " %.2f s), %.1f s holding it",
            run_id,
            sections.sections,
            sections.waited_s,
            sections.longest_wait_s,
            sections.held_s,
        )


def run_name() -> str:
    """Flow-run names that say what ran and when: ingest-scheduled-…, backfill-<window>-…"""
    params = flow_run.parameters or {}
    now = f"{datetime.now(UTC):%Y-%m-%dT%H%M}"
    if flow_run.flow_name == "backfill":
        since, until = params.get("since"), params.get("until")
        window = f"{since:%Y-%m-%d}..{until:%Y-%m-%d}" if since and until else "window"
        return f"backfill-{window}-{now}"
    if flow_run.flow_name == "ingest":
        return f"ingest-{params.get('mode', 'manual')}-{now}"
    return f"{flow_run.flow_name}-{now}"


@task(name="fetch-feeds", **BATCH_TASK)
def fetch_feeds(
    feeds: list[FeedState],
    fetcher: Fetcher | None,
    settings: Settings,
    prefix: str,
    on_entries: Callable[[], Any] | None = None,
) -> list[FeedResult]:
    """Fetch and parse a batch of feeds; `fetcher` None: with a client of the task's own.
    `on_entries` is called once a feed has entries (the run then starts its extraction pool)."""
    with task_fetcher(fetcher, settings) as client:
        return fetch_feed_batch(
            feeds, client, settings.archive_path, settings.max_entries_per_feed, prefix, on_entries
        )


@task(name="fetch-extract-pages", **BATCH_TASK)
def fetch_pages(
    pages: list[PendingPage],
    fetcher: Fetcher | None,
    settings: Settings,
    extractor: ExtractPool | None,
    prefix: str,
    gate: Callable[[str], str | None] | None = None,
) -> list[PageResult]:
    """Fetch and extract a batch of pages; `fetcher` None: with a client of the task's own,
    `extractor` None: extracting inline, in the task's process (a Dask worker's)."""
    with task_fetcher(fetcher, settings) as client:
        return fetch_page_batch(pages, client, settings.archive_path, extractor, prefix, gate=gate)


@task(name="reextract-pages", **BATCH_TASK)
def reextract_pages(pages: list[StoredPage], settings: Settings) -> list[tuple[int, Article]]:
    """Extract a batch of archived pages again, inline (the Dask path of `reextract`)."""
    return reextract_batch(pages, settings.archive_path, None)


@task(name="write-warehouse", cache_policy=NONE, persist_result=False)
def write_warehouse(
    path: WarehousePath, operation: str, run_id: int | None, payload: Any
) -> dict[str, int]:
    """The only task that writes the warehouse. Called (never submitted) from a flow, so
    writes happen one at a time on the flow's thread, each batch in one transaction."""
    with open_step(path) as wh:
        if operation == "start_run":
            return {"run_id": wh.start_run(payload)}
        if operation == "register_feeds":
            return {"feeds_added": wh.add_feeds(payload)}
        assert run_id is not None
        if operation == "feed_results":
            return wh.record_feed_results(run_id, payload)
        if operation == "page_results":
            return wh.record_page_results(run_id, payload)
        if operation == "backfill_entries":
            source, entries = payload
            return wh.add_backfill_entries(run_id, source, entries)
        if operation == "reextracted":
            return wh.record_reextraction(payload)
        if operation == "revisit_results":  # flows/revisits.py
            results, now = payload
            return wh.record_revisits(run_id, results, now)
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


def _progress(logger: Any, run_id: int, done: int, total: int, started: float) -> None:
    log_progress(logger, run_id, done, total, time.monotonic() - started)


def fetch_and_load_pages(
    path: WarehousePath,
    run_id: int,
    settings: Settings,
    fetcher: Fetcher | None,
    extractor: ExtractPool | None,
    feed_ids: list[int] | None,
    totals: dict[str, int],
    gate: Callable[[str], str | None] | None = None,
) -> None:
    """Fetch and extract every pending page (of `feed_ids`, or all) in batches that overlap,
    loading finished batches together in write steps (flows.gather) as they complete."""
    logger = get_run_logger()
    with open_step(path) as wh:
        pages = wh.pending_pages(feed_ids=feed_ids)
    logger.info("run %d: %d article pages to fetch", run_id, len(pages))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    futures: list[PrefectFuture[Any]] = [
        fetch_pages.submit(
            batch_arg(batch), fetcher, settings, extractor, f"pages-{stamp}-{i}", gate
        )
        for i, batch in enumerate(_chunks(pages, settings.page_batch))
    ]
    done, started = 0, time.monotonic()

    def write(results: list[PageResult]) -> None:
        nonlocal done
        _add(totals, write_warehouse(path, "page_results", run_id, quote(results)))
        for result in results:  # stored and archived: the bodies need not stay in memory
            result.fetch.body = b""
        done += len(results)
        _progress(logger, run_id, done, len(pages), started)

    with WriteGatherer(write, pages_per_write(settings, path)) as gathered:
        for future in as_completed(futures):
            gathered.add(future.result())
            release(future)


def report(run_id: int, mode: str, totals: dict[str, int], feeds: list[dict[str, Any]]) -> None:
    """A markdown artifact per run: its counts, then each feed's outcome (a failure with its
    kind: temporary, soft, hard, refused; a feed deferred by its Retry-After says until when)."""
    create_markdown_artifact(
        markdown=run_report_markdown(run_id, mode, totals, feeds),
        key="ingest-run-report",
        description=f"run {run_id}",
    )


def honour_retry_after(
    run_id: int,
    feeds: list[FeedState],
    holds: dict[int, datetime],
    force: bool,
    per_feed: list[dict[str, Any]],
    totals: dict[str, int],
) -> list[FeedState]:
    """The feeds to fetch: without those whose server's Retry-After holds (`holds`), each
    deferred in the log and the report and counted in `feeds_deferred`; all of them with
    `force`, which the log says."""
    logger = get_run_logger()
    if force:
        logger.warning(
            "run %d: --force: fetching %d feeds despite their Retry-After", run_id, len(holds)
        )
        return feeds
    for f in feeds:
        if f.feed_id in holds:
            until = f"deferred until {holds[f.feed_id]:%Y-%m-%d %H:%M:%S} UTC (Retry-After)"
            logger.info("feed %s %s", f.url, until)
            per_feed.append(
                {"url": f.url, "status": None, "error": None, "kind": until, "entries": 0}
            )
    logger.info(
        "run %d: %d feeds deferred by their Retry-After (--force fetches them)", run_id, len(holds)
    )
    totals["feeds_deferred"] = len(holds)
    return [f for f in feeds if f.feed_id not in holds]


@flow(
    name="ingest",
    flow_run_name=run_name,
    persist_result=False,
    task_runner=SettingsTaskRunner(),
)
def ingest(
    feed_urls: list[str] | None = None,
    warehouse: str | None = None,
    mode: str = "manual",
    force: bool = False,
) -> dict[str, int]:
    """Fetch feeds (the given ones; with mode "scheduled" only the due ones; else all
    registered), fetch and extract the pages of new or updated entries, load the warehouse.
    A feed whose server's Retry-After has not passed is deferred (`feeds_deferred`), unless
    `force`. Returns the run's counts."""
    logger = get_run_logger()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    settings = Settings.from_env(warehouse=warehouse or None)
    path = settings.warehouse
    per_feed: list[dict[str, Any]] = []
    here = tasks_run_here()
    with (
        recorded_run(path, mode, settings, logger, pool=here) as (run_id, totals, extractor),
        run_fetcher(settings, here) as fetcher,
    ):
        if not here:
            logger.info("run %d: fetch and extract tasks run on Dask workers", run_id)
        if feed_urls:
            write_warehouse(path, "register_feeds", run_id, list(feed_urls))
        with open_step(path) as wh:
            feeds = wh.feed_states(feed_urls, mode == "scheduled", push_polling(settings))
            holds = retry_after_holds(wh, feeds, datetime.now(UTC))
        if holds:
            feeds = honour_retry_after(run_id, feeds, holds, force, per_feed, totals)
        totals["feeds_total"] = len(feeds)
        logger.info("run %d (%s): fetching %d feeds", run_id, mode, len(feeds))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        on_entries = extractor.start if extractor is not None else None
        futures: list[PrefectFuture[Any]] = [
            fetch_feeds.submit(
                batch_arg(batch), fetcher, settings, f"feeds-{stamp}-{i}", on_entries
            )
            for i, batch in enumerate(_chunks(feeds, settings.feed_batch))
        ]
        # Feed batches are written FEEDS_PER_WRITE at a time: each write step opens the
        # warehouse and commits, a fixed cost that a run of unchanged feeds would mostly be.
        unwritten: list[FeedResult] = []
        for future in as_completed(futures):
            results: list[FeedResult] = future.result()
            for r in results:
                if r.error:
                    logger.warning("feed %s failed: %s", r.feed.url, r.error)
                per_feed.append(
                    {
                        "url": r.feed.url,
                        "status": r.fetch.status,
                        "error": r.error,
                        "kind": failure_kind(r.fetch) if r.error else None,
                        "entries": len(r.entries),
                    }
                )
            unwritten.extend(results)
            release(future)
            if len(unwritten) >= FEEDS_PER_WRITE:
                _add(totals, write_warehouse(path, "feed_results", run_id, quote(unwritten)))
                unwritten = []
        if unwritten:
            _add(totals, write_warehouse(path, "feed_results", run_id, quote(unwritten)))
        fetch_and_load_pages(path, run_id, settings, fetcher, extractor, None, totals)
        revisit = mode == "scheduled" and settings.revisit_in_ingest
        track_edits(
            path, run_id, settings, fetcher, extractor, totals, write_warehouse, revisit=revisit
        )
    report(run_id, mode, totals, per_feed)
    return {"run_id": run_id, **totals}


@flow(
    name="reextract",
    flow_run_name=run_name,
    persist_result=False,
    task_runner=SettingsTaskRunner(),
)
def reextract(
    warehouse: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    site: str | None = None,
) -> dict[str, int]:
    """Re-run extraction over stored raw responses, without a single HTTP request; only
    articles whose extracted values changed are rewritten."""
    logger = get_run_logger()
    settings = Settings.from_env(warehouse=warehouse or None)
    path = settings.warehouse
    pool = tasks_run_here()
    with recorded_run(path, "reextract", settings, logger, pool) as (run_id, totals, extractor):
        with open_step(path) as wh:
            stored = wh.stored_pages(since=since, until=until, site=site)
        logger.info("run %d: re-extracting %d stored pages", run_id, len(stored))
        started, done = time.monotonic(), 0
        batches = _chunks(stored, settings.page_batch)
        rewritten: list[int] = []  # their text changed with no new fetch: the index is told
        for size, results in _reextracted(batches, settings, extractor):
            done += size
            _add(totals, write_warehouse(path, "reextracted", run_id, quote(results)))
            rewritten += [article_id for article_id, _ in results]
            _progress(logger, run_id, done, len(stored), started)
        refresh_search(path, settings, logger, run_id, "reextract", rewritten)
    report(run_id, "reextract", totals, [])
    return {"run_id": run_id, **totals}


def _reextracted(
    batches: list[list[StoredPage]], settings: Settings, extractor: ExtractPool | None
) -> Iterator[tuple[int, list[tuple[int, Article]]]]:
    """Each batch's size and changed articles: batch after batch through the local pool, or
    (no pool: Dask) as `reextract-pages` tasks, in the order they complete."""
    if extractor is not None:
        for batch in batches:
            yield len(batch), reextract_batch(batch, settings.archive_path, extractor)
        return
    sizes: dict[PrefectFuture[Any], int] = {
        reextract_pages.submit(batch_arg(batch), settings): len(batch) for batch in batches
    }
    for future in as_completed(list(sizes)):
        yield sizes[future], future.result()
        release(future)


@flow(name="maintenance", persist_result=False)
def maintenance(warehouse: str | None = None) -> dict[str, int]:
    """Nightly: checkpoint the warehouse (fold the write-ahead log in), bring the band index
    files up to date, and report feed health."""
    logger = get_run_logger()
    settings = Settings.from_env(warehouse=warehouse or None)
    lake_lines: list[str] = []
    with writing_run(settings.warehouse, logger.info), open_step(settings.warehouse) as wh:
        wh.checkpoint()
        if wh.location.is_lake:
            # Inside the commit section: compaction and expiry rewrite tables that writers'
            # steps touch, and DuckLake conflicts are per table.
            with wh.backend.commit_section():
                result = maintain_location(
                    wh.location, expire_older_than=timedelta(days=settings.lake_expire_days)
                )
            lake_lines = maintenance_report_lines(result)
            for line in lake_lines:
                logger.info("maintenance: %s", line)
        if wh.refresh_band_index(force=True):
            logger.info("maintenance: band index rebuilt, %d band rows", wh.bands.rows)
        if settings.search_index:
            lake_lines.append(rebuild_search(wh))
            logger.info("maintenance: %s", lake_lines[-1])
        health = wh.feed_health(push_polling(settings).silent_after)
    export_lines = nightly_export(settings)
    for line in export_lines:
        logger.info("maintenance: %s", line)
    failing = [f for f in health if f["state"] in ("failing", "retired")]
    for f in failing:
        logger.warning("feed %s is %s: %s", f["url"], f["state"], f["last_error"])
    logger.info("maintenance: %d feeds, %d failing or retired", len(health), len(failing))
    silent = [f for f in health if f["hub_status"] in ("silent", "expired")]
    report = [f"# news-ingest maintenance of {wh.location.describe()}", ""]
    report += [f"- {line}" for line in lake_lines + export_lines]
    report += [f"- feeds: {len(health)}, failing or retired: {len(failing)}"]
    report += [f"  - {f['url']}: {f['state']} ({f['last_error']})" for f in failing]
    report += [f"- WebSub hubs silent or expired: {len(silent)}"]
    create_markdown_artifact(
        markdown="\n".join(report), key="maintenance-report", description="nightly maintenance"
    )
    return {"feeds": len(health), "failing": len(failing), "hubs_silent": len(silent)}


def nightly_export(settings: Settings) -> list[str]:
    """The optional nightly export (NEWS_INGEST_NIGHTLY_EXPORT_DIR); what it wrote, as lines."""
    if settings.nightly_export_dir is None:
        return []
    from pipeline.warehouse_ops.export import export_tables

    folder = settings.nightly_export_dir
    manifest = export_tables(
        settings.warehouse, folder, settings.nightly_export_format, wait=settings.wait
    )
    rows = sum(entry["rows"] for entry in manifest["tables"].values())
    return [f"export: {len(manifest['tables'])} tables, {rows} rows to {folder}"]


@flow(
    name="backfill",
    flow_run_name=run_name,
    persist_result=False,
    task_runner=thread_runner(CONCURRENT_BATCHES),
)
def backfill(
    since: datetime,
    until: datetime,
    sitemaps: list[str] | None = None,
    feeds: list[str] | None = None,
    url_files: list[str] | None = None,
    warehouse: str | None = None,
    interval: float = Settings.default_of("backfill_interval"),
    include_undated: bool = False,
) -> dict[str, int]:
    """Reach back in time: discover article URLs published in [since, until) from sitemaps,
    paged feed archives and URL lists, fetch them politely (robots.txt, one request per host
    every `interval` seconds) and load them like any run. Polled feeds' state is untouched;
    run again after an interruption, it resumes where it stopped."""
    logger = get_run_logger()
    settings = Settings.from_env(warehouse=warehouse or None)
    path = settings.warehouse
    if settings.task_runner == "dask":
        logger.info("backfill runs its tasks on threads here: its per-host pacing is in-process")
    with (
        recorded_run(path, "backfill", settings, logger) as (run_id, totals, extractor),
        Fetcher(settings) as fetcher,
    ):
        robots = RobotsCache(fetcher)
        limiter = HostRateLimiter(interval, robots)
        sources: list[tuple[str, list[Discovered], list[str]]] = []
        for kind, urls, discover in (
            ("sitemap", sitemaps, discover_sitemap),
            ("feed-archive", feeds, discover_feed_archive),
        ):
            for url in urls or []:
                found, errors = discover(
                    url, fetcher, since, until, robots,
                    include_undated=include_undated, limiter=limiter,
                )  # fmt: skip
                sources.append((f"{kind}:{url}", found, errors))
        for name in url_files or []:
            sources.append((f"urls:{name}", read_url_list(Path(name), since, until), []))
        feed_ids = []
        for source, found, errors in sources:
            for error in errors:
                logger.warning("%s: %s", source, error)
            entries = [
                d.entry or Entry(guid=d.url, link=d.url, published_at=d.published_at)
                for d in merge_discovered(found)
            ]
            logger.info("run %d: %s: %d URLs in the window", run_id, source, len(entries))
            added = write_warehouse(path, "backfill_entries", run_id, (source, entries))
            feed_ids.append(added.pop("backfill_feed_id"))
            _add(totals, added)

        def gate(url: str) -> str | None:
            if not robots.allowed(url):
                return "disallowed by robots.txt"
            limiter.wait(url)
            return None

        fetch_and_load_pages(path, run_id, settings, fetcher, extractor, feed_ids, totals, gate)
    report(run_id, "backfill", totals, [])
    return {"run_id": run_id, **totals}
