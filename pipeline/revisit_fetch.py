"""Fetching a batch of revisits: a conditional GET per watched article (its last ETag and
Last-Modified), the body hashed, and only a page whose bytes changed extracted again. The
threads and the extraction pool are pipeline.batches' (as fetch_page_batch uses them)."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from pathlib import Path

from pipeline.archive import ArchiveWriter
from pipeline.batches import extraction_failure, extraction_job, fetched_as_completed
from pipeline.changes import body_hash
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
        workers = fetcher.settings.fetch_workers
        for result in fetched_as_completed(targets, fetch_one, workers):
            results.append(result)
            if result.outcome != "changed":
                result.fetch.body = result.fetch.raw_body = b""
                continue
            fetch, target = result.fetch, result.target
            entry = Entry(guid=target.url, link=target.url)
            url = fetch.final_url or target.url
            job = extraction_job(extractor, fetch.body, url, entry, fetch.headers)
            pending.append((result, job))
        for result, job in pending:
            _extract(result, job)
    finally:
        archive.close()
    return results


def _extract(result: RevisitResult, job: Future[Article]) -> None:
    try:
        article = job.result()
    except Exception as exc:  # noqa: BLE001 - a worker crash must cost one page, not the batch
        result.error = extraction_failure(exc)
        return
    # A page whose body text failed falls back to the entry, which a revisit has none of.
    result.article = article if article.source == "page" else None
    result.error = None if result.article else "extraction found no body text"
