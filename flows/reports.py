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


def quiet_task_logs(progress: str = "auto") -> None:
    """Prefect logs every task's completion; on a terminal the flow's own lines say enough.
    The pages progress lines reach the terminal as `progress` says (see TerminalProgress)."""
    logging.getLogger("prefect.task_runs").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        stream = getattr(handler, "stream", None)
        if stream is None or any(isinstance(f, TerminalProgress) for f in handler.filters):
            continue
        handler.addFilter(TerminalProgress(stream, progress))


PROGRESS_FLAG = "news_ingest_progress"  # a log record's attribute marking a progress line


def log_progress(logger: Any, run_id: int, done: int, total: int, elapsed: float) -> None:
    """One progress line in the run's log, marked so the terminal can draw it as a bar."""
    logger.info(
        "run %d: %s", run_id, progress_line(done, total, elapsed), extra={PROGRESS_FLAG: True}
    )


class TerminalProgress(logging.Filter):
    """On a console handler: progress records become one bar redrawn in place when the stream
    is a terminal, and are left out when it is piped (mode `auto`); `always` prints each as a
    line, `never` none. Other handlers (the run's log in Prefect) still get every record."""

    def __init__(self, stream: Any, mode: str = "auto") -> None:
        super().__init__()
        self.stream = stream
        self.mode = mode
        self.on_terminal = bool(getattr(stream, "isatty", lambda: False)())
        self.drawn = False  # a bar is on the screen without its newline

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, PROGRESS_FLAG, False):
            self.end_bar()
            return True
        if self.mode == "always":
            return True
        if self.mode == "auto" and self.on_terminal:
            self.stream.write("\r\x1b[K" + record.getMessage())
            self.stream.flush()
            self.drawn = True
        return False

    def end_bar(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.drawn = False
