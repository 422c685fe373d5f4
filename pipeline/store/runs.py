"""Runs and their fetches: a run's row and counts, and the fetch rows of every HTTP attempt."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.records import Fetch
from pipeline.store.connection import WarehouseConnection
from pipeline.store.schemas import FETCH_SCHEMA

# The counts a run's row keeps (finish_run ignores any other).
RUN_COUNTS = frozenset(
    {
        "feeds_total",
        "feeds_fetched",
        "feeds_not_modified",
        "feeds_failed",
        "entries_seen",
        "entries_new",
        "pages_fetched",
        "pages_failed",
        "articles_new",
        "articles_linked",
        "articles_updated",
        "fallbacks",
        "duplicates",
        "articles_reextracted",
        "entries_changed",
        "revisits",
        "revisits_unchanged",
        "articles_removed",
    }
)
# The tables Warehouse.counts() reports.
COUNTED_TABLES = (
    "feeds",
    "feed_entries",
    "articles",
    "authors",
    "categories",
    "tags",
    "fetches",
    "runs",
)


def start_run(db: WarehouseConnection, mode: str = "manual") -> int:
    with db.transaction() as con:
        (run_id,) = db.allocate("run_id", 1)  # drawn first: a lake has no RETURNING
        con.execute(
            "INSERT INTO runs (run_id, started_at, status, mode) VALUES (?, ?, 'running', ?)",
            [run_id, datetime.now(UTC), mode or "manual"],
        )
    return run_id


def finish_run(
    db: WarehouseConnection,
    run_id: int,
    counts: dict[str, int],
    status: str = "completed",
    error: str | None = None,
) -> None:
    columns = [c for c in counts if c in RUN_COUNTS]
    assignments = ", ".join(f"{c} = ?" for c in columns)
    with db.transaction() as con:
        con.execute(
            f"UPDATE runs SET finished_at = ?, status = ?, error = ?{', ' if columns else ''}"
            f"{assignments} WHERE run_id = ?",
            [datetime.now(UTC), status, error, *[counts[c] for c in columns], run_id],
        )


def table_counts(db: WarehouseConnection) -> dict[str, int]:
    return {table: db.scalar(f"SELECT count(*) FROM {table}") for table in COUNTED_TABLES}


def insert_fetches(db: WarehouseConnection, run_id: int, fetches: list[Fetch]) -> list[int]:
    """Insert fetch rows (one per redirect hop, then the final answer); return final ids."""
    rows: list[dict[str, Any]] = []
    final_positions = []
    for f in fetches:
        hop_from = f.url
        for status, target in f.redirects:
            rows.append(fetch_row(f, hop_from, target, "redirect", status, None, 0))
            hop_from = target
        final_positions.append(len(rows))
        rows.append(fetch_row(f, hop_from, f.final_url, f.kind, f.status, f.error, len(f.body)))
    ids = db.allocate("fetch_id", len(rows))
    for row, fetch_id in zip(rows, ids, strict=True):
        row["fetch_id"] = fetch_id
        row["run_id"] = run_id
    if rows:
        db.load("fetches", rows, FETCH_SCHEMA)
    return [ids[p] for p in final_positions]


def fetch_row(
    f: Fetch,
    url: str,
    final_url: str | None,
    kind: str,
    status: int | None,
    error: str | None,
    size: int,
) -> dict[str, Any]:
    final = kind != "redirect"
    return {
        "url": url,
        "final_url": final_url,
        "feed_id": f.feed_id,
        "kind": kind,
        "started_at": f.started_at,
        "status": status,
        "error": error,
        "bytes": size,
        "elapsed_ms": f.elapsed_ms if final else 0,
        "content_type": f.headers.get("content-type") if final else None,
        "etag": f.headers.get("etag") if final else None,
        "last_modified": f.headers.get("last-modified") if final else None,
        "retry_after": f.headers.get("retry-after") if final else None,
        "warc_file": f.warc_file if final else None,
        "warc_offset": f.warc_offset if final else None,
        "warc_length": f.warc_length if final else None,
    }
