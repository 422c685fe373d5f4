"""Fetching a batch of revisits: a conditional GET per watched article (its last ETag and
Last-Modified), the body hashed, and only a page whose bytes changed extracted again."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path

from pipeline.archive import ArchiveWriter
from pipeline.batches import extract_page
from pipeline.changes import body_hash
from pipeline.errors import ExtractionError
from pipeline.fetch import Fetcher
from pipeline.records import Article, Entry, RevisitResult, RevisitTarget
from pipeline.revisit import outcome


def fetch_revisit_batch(
    targets: list[RevisitTarget],
    fetcher: Fetcher,
    archive_root: Path,
    extractor: Executor | None,
    prefix: str,
) -> list[RevisitResult]:
    """Revisit pages concurrently. Never raises for a bad page: the result says what it found
    (a 304 or the same bytes cost no extraction; a changed page is extracted and archived)."""
    archive = ArchiveWriter(archive_root, prefix)
    results: list[RevisitResult] = []
    pending: list[tuple[RevisitResult, Future[Article]]] = []

    def fetch_one(target: RevisitTarget) -> RevisitResult:
        fetch = fetcher.fetch(target.url, "page", target.etag, target.last_modified)
        digest = body_hash(fetch.body) if fetch.ok else None
        found = outcome(fetch.status, fetch.error, target.url, fetch.final_url, digest,
                        target.body_hash)  # fmt: skip
        if found == "changed":
            archive.write(fetch)
        return RevisitResult(target, fetch, found, digest)

    try:
        with ThreadPoolExecutor(max_workers=max(1, fetcher.settings.fetch_workers)) as threads:
            for arrival in as_completed([threads.submit(fetch_one, t) for t in targets]):
                result = arrival.result()
                results.append(result)
                if result.outcome != "changed":
                    result.fetch.body = result.fetch.raw_body = b""
                    continue
                fetch, target = result.fetch, result.target
                entry = Entry(guid=target.url, link=target.url)
                url = fetch.final_url or target.url
                if extractor is None:
                    _extract(result, partial(extract_page, fetch.body, url, entry, fetch.headers))
                else:
                    job = extractor.submit(extract_page, fetch.body, url, entry, fetch.headers)
                    pending.append((result, job))
        for result, job in pending:
            _extract(result, job.result)
    finally:
        archive.close()
    return results


def _extract(result: RevisitResult, run: Callable[[], Article]) -> None:
    try:
        article = run()
    except ExtractionError as exc:
        result.error = f"extraction failed: {exc}"
        return
    except Exception as exc:  # noqa: BLE001 - a worker crash must cost one page, not the batch
        result.error = f"extraction failed: {type(exc).__name__}: {exc}"
        return
    # A page whose body text failed falls back to the entry, which a revisit has none of.
    result.article = article if article.source == "page" else None
    result.error = None if result.article else "extraction found no body text"
