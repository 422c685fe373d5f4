"""Recording a pass of revisits: changed pages through the page path (judged, maybe a new
version), every revisit's state, removals. One transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.records import RevisitResult
from pipeline.store.articles import record_page_results
from pipeline.store.connection import WarehouseConnection
from pipeline.store.edits import record_revisit_state, revisit_page


def record_revisits(
    db: WarehouseConnection, run_id: int, results: list[RevisitResult], now: datetime | None
) -> dict[str, int]:
    """Store a batch of revisits: changed pages as page results of their known articles (a
    new version when pipeline.changes says so), then each revisit's validators, body hash
    and count, and the pages taken down. Returns the counts for the run."""
    now = now or datetime.now(UTC)
    counts = {"revisits": len(results), "articles_updated": 0}
    with db.transaction():
        pages = [
            revisit_page(r.target, r.fetch, r.article)
            for r in results
            if r.outcome == "changed" and r.article is not None
        ]
        if pages:
            counts["articles_updated"] = record_page_results(db, run_id, pages, now)[
                "articles_updated"
            ]
        visits = [
            (
                r.target,
                r.fetch,
                r.outcome if r.outcome != "changed" or r.article is not None else "failed",
                r.body_hash,
            )
            for r in results
        ]
        counts.update(record_revisit_state(db, run_id, visits, now))
    return counts
