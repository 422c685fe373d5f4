"""The pages progress bar: drawn in place on a terminal, absent when piped, every line kept in
the run's own log (tests of the filter, then the real CLI on a pseudo-terminal and on a pipe)."""

from __future__ import annotations

import io
import logging
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

from flows.reports import PROGRESS_FLAG, TerminalProgress, log_progress

ROOT = Path(__file__).resolve().parents[1]
CLI_RUN = [sys.executable, "-m", "flows.cli", "run"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def logged(stream: io.StringIO, mode: str) -> tuple[str, list[logging.LogRecord]]:
    """Two progress lines and one other through a console handler with the filter, and a
    second handler standing for the run's log in Prefect."""
    logger = logging.getLogger(f"test_progress.{mode}.{type(stream).__name__}")
    logger.propagate = False
    console = logging.StreamHandler(stream)
    console.addFilter(TerminalProgress(stream, mode))
    kept: list[logging.LogRecord] = []
    run_log = logging.Handler()
    run_log.emit = kept.append  # type: ignore[method-assign]
    logger.handlers = [console, run_log]
    logger.setLevel(logging.INFO)
    log_progress(logger, 7, 50, 100, 5.0)
    log_progress(logger, 7, 100, 100, 10.0)
    logger.info("run 7: finished")
    return stream.getvalue(), kept


def test_on_a_terminal_the_bar_is_redrawn_in_place_then_ended() -> None:
    text, kept = logged(Terminal(), "auto")
    assert text.count("\r\x1b[Krun 7: [") == 2
    assert "50/100 pages" in text and "100/100 pages" in text
    # the bar's line ends before the next log line, which prints whole
    assert text.endswith("100/100 pages, 10.0 pages/s, ETA 0m00s\nrun 7: finished\n")
    assert [getattr(r, PROGRESS_FLAG, False) for r in kept] == [True, True, False]


def test_piped_there_is_no_bar_but_the_run_log_keeps_it() -> None:
    text, kept = logged(io.StringIO(), "auto")
    assert text == "run 7: finished\n"
    assert len(kept) == 3 and "50/100 pages" in kept[0].getMessage()


def test_always_prints_lines_and_never_prints_none() -> None:
    always, _ = logged(io.StringIO(), "always")
    assert always.count("pages/s") == 2 and "\r" not in always
    never, kept = logged(Terminal(), "never")
    assert never == "run 7: finished\n" and len(kept) == 3


def run_on_pty(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """The real CLI with stderr on a pseudo-terminal: (exit code, stdout, what the terminal got)."""
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the follower side closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    os.close(follower)
    reader.join(10)
    os.close(leader)
    return done.returncode, done.stdout, b"".join(chunks).decode("utf-8", "replace")


def test_cli_draws_the_bar_on_a_terminal_and_not_on_a_pipe(  # type: ignore[no-untyped-def]
    prefect_server: str, sample_site, tmp_path: Path
) -> None:
    site, sample = sample_site
    feeds = [arg for p in sample.feed_paths for arg in ("--feed", sample.url(p))]
    env = {
        "PREFECT_API_URL": prefect_server,
        "NEWS_INGEST_ALLOW_HOSTS": "127.0.0.1",
        "NEWS_INGEST_PAGE_BATCH": "5",
        "NEWS_INGEST_PAGES_PER_WRITE": "5",  # a progress line per batch written
    }
    code, out, terminal = run_on_pty(
        ["run", *feeds, "--warehouse", str(tmp_path / "a.duckdb")], env
    )
    assert code == 0, terminal[-2000:]
    assert f"{sample.expected_article_count} new articles" in out
    assert terminal.count("\r\x1b[Krun ") >= 2, terminal[-3000:]
    assert "Traceback" not in terminal

    piped = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "run",
            *feeds,
            "--warehouse",
            str(tmp_path / "b.duckdb"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert piped.returncode == 0, piped.stderr[-2000:]
    assert f"{sample.expected_article_count} new articles" in piped.stdout
    assert "pages/s" not in piped.stderr and "\r" not in piped.stderr
    assert "article pages to fetch" in piped.stderr  # the other lines still come


def test_write_steps_gather_whole_page_batches(  # type: ignore[no-untyped-def]
    prefect_server: str, sample_site, tmp_path: Path
) -> None:
    """NEWS_INGEST_PAGES_PER_WRITE: each write step (one progress line) stores whole page
    batches, at least that many pages but the last, and every page ends up stored."""
    site, sample = sample_site
    feeds = [arg for p in sample.feed_paths for arg in ("--feed", sample.url(p))]
    env = {
        "PREFECT_API_URL": prefect_server,
        "NEWS_INGEST_ALLOW_HOSTS": "127.0.0.1",
        "NEWS_INGEST_PAGE_BATCH": "3",
        "NEWS_INGEST_PAGES_PER_WRITE": "7",
        "NEWS_INGEST_PROGRESS": "always",
    }
    done = subprocess.run(
        [*CLI_RUN, *feeds, "--warehouse", str(tmp_path / "w.duckdb")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [int(n) for n, _ in re.findall(r"(\d+)/(\d+) pages", done.stderr)]
    total = int(re.findall(r"\d+/(\d+) pages", done.stderr)[-1])
    assert steps and steps[-1] == total and total > 7, done.stderr[-3000:]
    gathered = [b - a for a, b in zip([0, *steps], steps, strict=False)]
    assert all(n >= 7 for n in gathered[:-1]), gathered
    assert all(n <= 7 + 2 for n in gathered), gathered  # never more than a batch past the mark
    assert f"{sample.expected_article_count} new articles" in done.stdout
