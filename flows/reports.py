"""What a run tells its user: result tables, one-line run summaries, the progress bar in the
run log and the markdown report each run leaves in Prefect."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

from flows.output import table_text, write_rows

PROGRESS_WIDTH = 20  # characters of the progress bar in the run log


def format_rows(names: list[str], rows: Sequence[tuple[Any, ...]], fmt: str) -> str:
    """Render a result as an aligned text table, CSV, JSON (an array of objects) or JSON Lines,
    every DuckDB type written as flows/output.py says."""
    if fmt == "table":
        return table_text(names, rows)
    buffer = io.StringIO()
    write_rows(names, rows, fmt, buffer)
    return buffer.getvalue().rstrip("\n")


def summary_line(counts: dict[str, int]) -> str:
    """One line for an ingest or backfill run's counts."""
    deferred = counts.get("feeds_deferred", 0)
    return (
        f"run {counts.get('run_id')}: {counts.get('feeds_total', 0)} feeds"
        f" ({counts.get('feeds_fetched', 0)} fetched, {counts.get('feeds_not_modified', 0)}"
        f" not modified, {counts.get('feeds_failed', 0)} failed"
        f"{f', {deferred} deferred by Retry-After' if deferred else ''}),"
        f" {counts.get('entries_new', 0)} new entries, {counts.get('articles_new', 0)} new"
        f" articles ({counts.get('fallbacks', 0)} from feed text,"
        f" {counts.get('duplicates', 0)} joining an earlier story),"
        f" {counts.get('articles_updated', 0)} updated,"
        f" {counts.get('pages_failed', 0)} pages failed"
    )


def reextract_line(counts: dict[str, int]) -> str:
    """One line for a reextract run's counts."""
    return (
        f"run {counts['run_id']}: {counts.get('pages_reextracted', 0)} stored pages"
        f" re-extracted, {counts.get('articles_reextracted', 0)} articles changed"
    )


def progress_line(done: int, total: int, elapsed: float) -> str:
    """`[########------------]  40% 600/1500 pages, 12.3 pages/s, ETA 1m13s`"""
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = int((total - done) / rate) if rate > 0 else 0
    filled = PROGRESS_WIDTH * done // max(total, 1)
    bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
    percent = 100 * done // max(total, 1)
    return (
        f"[{bar}] {percent:3d}% {done}/{total} pages, {rate:.1f} pages/s,"
        f" ETA {eta // 60}m{eta % 60:02d}s"
    )


def run_report_markdown(
    run_id: int, mode: str, totals: dict[str, int], feeds: list[dict[str, Any]]
) -> str:
    """A run's markdown report: its counts, then each feed's outcome (a failure with its kind:
    temporary, soft, hard, refused)."""
    lines = [f"# news-ingest run {run_id} ({mode})", "", "| count | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(totals.items())]
    if feeds:
        lines += ["", "| feed | status | entries | kind | error |", "|---|---|---|---|---|"]
        for f in feeds:
            error = (f["error"] or "").replace("|", "\\|")
            lines.append(
                f"| {f['url']} | {f['status'] or '-'} | {f['entries']} | {f['kind'] or '-'}"
                f" | {error} |"
            )
    return "\n".join(lines)


def quiet_task_logs() -> None:
    """Prefect logs every task's completion; on a terminal the flow's own lines say enough."""
    logging.getLogger("prefect.task_runs").setLevel(logging.WARNING)
