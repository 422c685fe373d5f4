"""Batch stages: fetch and parse a batch of feeds; fetch and extract a batch of pages."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pipeline.archive import ArchiveWriter, read_record
from pipeline.errors import ExtractionError, FailureKind, FeedError
from pipeline.feeds import parse_feed
from pipeline.fetch import Fetcher
from pipeline.neardup import signature
from pipeline.records import (
    Article,
    Entry,
    FeedResult,
    FeedState,
    Fetch,
    PageResult,
    PendingPage,
    StoredPage,
)

T = TypeVar("T")
R = TypeVar("R")
PARENT_POLL = 0.5  # seconds between an extraction worker's checks that its parent lives


def fetch_feed_batch(
    feeds: list[FeedState],
    fetcher: Fetcher,
    archive_root: Path,
    max_entries: int,
    prefix: str,
    on_entries: Callable[[], None] | None = None,
) -> list[FeedResult]:
    """Fetch feeds concurrently (conditional GET), archive their bytes and parse them.
    `on_entries()` is called as soon as a feed turns out to have entries (pages may follow)."""
    archive = ArchiveWriter(archive_root, prefix)

    def fetch_one(feed: FeedState) -> FeedResult:
        result = _fetch_feed(feed, fetcher, archive, max_entries)
        if on_entries is not None and result.entries:
            on_entries()
        return result

    try:
        with ThreadPoolExecutor(max_workers=max(1, fetcher.settings.fetch_workers)) as threads:
            return list(threads.map(fetch_one, feeds))
    finally:
        archive.close()


def _fetch_feed(
    feed: FeedState, fetcher: Fetcher, archive: ArchiveWriter, max_entries: int
) -> FeedResult:
    fetch = fetcher.fetch(feed.url, "feed", feed.etag, feed.last_modified, feed_id=feed.feed_id)
    result = FeedResult(feed=feed, fetch=fetch, error=fetch.error)
    if fetch.error is not None or fetch.status == 304:
        return result
    archive.write(fetch)
    try:
        parsed = parse_feed(
            fetch.body, fetch.final_url or feed.url, fetch.headers, fetcher.settings.max_bytes
        )
    except FeedError as exc:
        return _failed_feed(result, str(exc), exc.kind)
    if parsed.warning and not parsed.entries:
        # Parse trouble that leaves not one complete item is a broken feed, not an empty one.
        return _failed_feed(result, f"broken feed: {parsed.warning}", FailureKind.SOFT)
    # Feeds list newest first; a cap keeps one huge archive feed from swamping a run.
    parsed.entries = parsed.entries[:max_entries]
    result.parsed = parsed
    return result


def _failed_feed(result: FeedResult, error: str, kind: FailureKind) -> FeedResult:
    """A feed whose body failed after a good fetch: the failure is the fetch's too, so its
    `fetches` row says why (as every failed feed's does) and its kind decides the backoff."""
    result.error = result.fetch.error = error
    result.fetch.failure_kind = kind
    return result


def extract_page(body: bytes, url: str, entry: Entry, headers: dict[str, str]) -> Article:
    """Extract one page, falling back to its feed entry, and sign its text for near-duplicate
    detection; runs in a worker process, so both costs hide behind extraction's."""
    from pipeline.extract import extract_article  # here: the flow's process never needs it

    article = extract_article(body, url, entry, headers)
    sig = signature(article.text) if article.text else None
    if sig is not None:
        article.signature, article.shingles = sig.values, sig.shingles
    return article


def make_extract_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool for extraction. `spawn`, because forking a process that runs threads
    (Prefect, httpx) can copy a held lock into the child."""
    return ProcessPoolExecutor(
        max_workers=max(1, workers),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )


class ExtractPool(Executor):
    """The extraction process pool, started (and warmed) on first need: a run whose feeds all
    answer 304 never spawns workers and imports trafilatura in each, which on a small machine
    would take the CPU the fetching needs."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._pool is not None

    def start(self) -> ProcessPoolExecutor:
        """Start the workers and have them import the extraction stack; idempotent."""
        with self._lock:
            if self._pool is None:
                self._pool = make_extract_pool(self.workers)
                for _ in range(self.workers):
                    self._pool.submit(warm_up)
            return self._pool

    def submit(  # type: ignore[override]
        self, fn: Callable[..., Article], /, *args: object, **kwargs: object
    ) -> Future[Article]:
        return self.start().submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def exit_with_parent(parent_pid: int) -> None:
    """Extraction worker start-up: exit as soon as the process that started the pool is gone.
    A run killed with SIGKILL cannot shut its pool down, and the workers (plus the resource
    tracker waiting on them) would otherwise live on as orphans, blocked on a queue for ever."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def warm_up() -> str:
    """Import the extraction stack in a worker before the first page arrives."""
    import trafilatura

    import pipeline.extract  # noqa: F401 - imported for its cost, here rather than on a page

    return str(trafilatura.__version__)


def fetched_as_completed(
    items: Iterable[T], fetch_one: Callable[[T], R], workers: int
) -> Iterator[R]:
    """`fetch_one` of every item on a pool of threads, yielded as they complete, not in order:
    one slow page must not hold back the others."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:
        for arrival in as_completed([threads.submit(fetch_one, item) for item in items]):
            yield arrival.result()


def extraction_job(
    extractor: Executor | None, body: bytes, url: str, entry: Entry, headers: dict[str, str]
) -> Future[Article]:
    """extract_page on the pool, or (no pool) here and now; either way a future whose
    result() gives the article or raises what extraction raised."""
    if extractor is not None:
        return extractor.submit(extract_page, body, url, entry, headers)
    job: Future[Article] = Future()
    try:
        job.set_result(extract_page(body, url, entry, headers))
    except Exception as exc:  # noqa: BLE001 - raised again by job.result(), as from a pool
        job.set_exception(exc)
    return job


def extraction_failure(exc: Exception) -> str:
    """One line for an extraction that raised (a worker crash names its exception type)."""
    if isinstance(exc, ExtractionError):
        return f"extraction failed: {exc}"
    return f"extraction failed: {type(exc).__name__}: {exc}"


def fetch_page_batch(
    pages: list[PendingPage],
    fetcher: Fetcher,
    archive_root: Path,
    extractor: Executor | None,
    prefix: str,
    gate: Callable[[str], str | None] | None = None,
) -> list[PageResult]:
    """Fetch pages concurrently and hand each to the extraction pool as soon as it arrives, so
    fetching overlaps extraction. Never raises for a bad page: the result says what went wrong.

    `gate(url)`, when given, is asked before each request (a backfill's robots.txt check and
    per-host pacing): it may wait, and returns a reason to skip the URL or None."""
    archive = ArchiveWriter(archive_root, prefix)
    results: list[PageResult] = []
    pending: list[tuple[PageResult, Future[Article]]] = []

    def fetch_one(page: PendingPage) -> tuple[PendingPage, Fetch]:
        refusal = gate(page.url) if gate else None
        if refusal:
            skipped = Fetch(url=page.url, kind="page", started_at=datetime.now(UTC))
            skipped.error, skipped.final_url = refusal, page.url
            skipped.failure_kind = FailureKind.REFUSED  # robots.txt said no: so it stays
            return page, skipped
        fetch = fetcher.fetch(page.url, "page")
        if fetch.ok:
            archive.write(fetch)
        return page, fetch

    try:
        workers = fetcher.settings.fetch_workers
        for page, fetch in fetched_as_completed(pages, fetch_one, workers):
            result = PageResult(page=page, fetch=fetch)
            results.append(result)
            if not fetch.ok:
                reason = fetch.error or f"HTTP {fetch.status}"
                result.error = reason
                result.article = _fallback(page, reason)
                continue
            url = fetch.final_url or page.url
            job = extraction_job(extractor, fetch.body, url, page.entry, fetch.headers)
            pending.append((result, job))
        for result, job in pending:
            _finish(result, job)
    finally:
        archive.close()
    return results


def _finish(result: PageResult, job: Future[Article]) -> None:
    try:
        result.article = job.result()
    except Exception as exc:  # noqa: BLE001 - a worker crash must cost one page, not the batch
        result.error = extraction_failure(exc)
        result.article = _fallback(result.page, result.error)


def _fallback(page: PendingPage, reason: str) -> Article | None:
    """The entry's own text when the page failed; None when the entry has no text either."""
    from pipeline.extract import fallback_article  # the extraction stack, only when needed

    entry = page.entry
    if not (entry.content or entry.summary):
        return None
    return fallback_article(entry, page.url, reason)


def reextract_batch(
    pages: list[StoredPage], archive_root: Path, extractor: Executor | None
) -> list[tuple[int, Article]]:
    """Extract archived pages again, reading the raw responses from the WARC archive: no
    network at all. Pages whose record cannot be read are skipped (their rows stay as they are)."""
    jobs: list[tuple[int, Future[Article] | Article]] = []
    for page in pages:
        try:
            url, headers, body = read_record(archive_root, page.warc_file, page.warc_offset)
        except (OSError, ValueError):
            continue
        entry = page.entry or Entry(guid=page.url, link=page.url)
        if extractor is None:
            jobs.append((page.article_id, extract_page(body, url or page.url, entry, headers)))
        else:
            future = extractor.submit(extract_page, body, url or page.url, entry, headers)
            jobs.append((page.article_id, future))
    results = []
    for article_id, job in jobs:
        try:
            article = job.result() if isinstance(job, Future) else job
        except Exception:  # noqa: BLE001 - a page that no longer extracts keeps its stored row
            continue
        if article.source == "page":
            results.append((article_id, article))
    return results
