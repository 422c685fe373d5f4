"""Backfill, re-extraction, serve and concurrent runs, end to end over loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from flows.ingest import backfill, ingest, reextract
from pipeline.store import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def sitemap(site, sample) -> bytes:  # type: ignore[no-untyped-def]
    urls = "".join(
        f"<url><loc>{sample.url(a.path)}</loc><lastmod>{a.published}</lastmod></url>"
        for a in sample.articles
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


WINDOW = (datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC))


def in_window(sample) -> set[str]:  # type: ignore[no-untyped-def]
    return {
        sample.url(a.path)
        for a in sample.articles
        if WINDOW[0] <= datetime.fromisoformat(a.published) < WINDOW[1]
    }


def test_backfill_over_a_sitemap_ingests_exactly_the_window(  # type: ignore[no-untyped-def]
    prefect_server, allow_loopback, sample_site, tmp_path
) -> None:
    site, sample = sample_site
    site.set("/sitemap.xml", sitemap(site, sample), "application/xml")
    site.set("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    db = tmp_path / "news.duckdb"
    expected = in_window(sample)
    assert 0 < len(expected) < len(sample.articles)
    counts = backfill(
        since=WINDOW[0], until=WINDOW[1], sitemaps=[site.url("/sitemap.xml")],
        warehouse=str(db), interval=0.0,
    )
    assert counts["articles_new"] == len(expected)
    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query("SELECT canonical_url FROM articles")
        _, feeds = wh.query("SELECT url, active, etag, next_fetch_at FROM feeds")
        _, runs = wh.query("SELECT mode, status FROM runs")
    assert {r[0] for r in rows} == expected
    # Only the backfill's own source row: no polled feed was created or touched.
    assert feeds == [(f"backfill:sitemap:{site.url('/sitemap.xml')}", False, None, None)]
    assert runs == [("backfill", "completed")]
    # Run again (as after an interruption): nothing new, no page fetched twice.
    hits = {p: site.hits[p] for p in sample.article_paths}
    again = backfill(
        since=WINDOW[0], until=WINDOW[1], sitemaps=[site.url("/sitemap.xml")],
        warehouse=str(db), interval=0.0,
    )
    assert again.get("articles_new", 0) == 0
    assert {p: site.hits[p] for p in sample.article_paths} == hits


def test_reextract_makes_no_http_request_and_rewrites_only_changed_rows(  # type: ignore[no-untyped-def]
    prefect_server, allow_loopback, sample_site, tmp_path
) -> None:
    site, sample = sample_site
    db = tmp_path / "news.duckdb"
    ingest(feed_urls=[sample.url(p) for p in sample.feed_paths], warehouse=str(db))
    with Warehouse(db) as wh:
        _, before = wh.query("SELECT article_id, title, text FROM articles ORDER BY article_id")
        # Pretend an older extractor got one title wrong.
        wh.execute("UPDATE articles SET title = 'garbled' WHERE article_id = ?", [before[0][0]])
    site.stop()  # no network at all: any request would fail
    site.reset_stats()
    counts = reextract(warehouse=str(db))
    assert site.log == []
    assert counts["pages_reextracted"] == len(before)
    assert counts["articles_reextracted"] == 1
    with Warehouse(db, read_only=True) as wh:
        _, after = wh.query("SELECT article_id, title, text FROM articles ORDER BY article_id")
        _, fetches = wh.query("SELECT count(*) FROM fetches WHERE run_id = ?", [counts["run_id"]])
    assert after == before
    assert fetches == [(0,)]


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env},
    )


def test_a_run_and_a_backfill_started_together_both_complete(  # type: ignore[no-untyped-def]
    prefect_server, sample_site, tmp_path
) -> None:
    site, sample = sample_site
    site.set("/sitemap.xml", sitemap(site, sample), "application/xml")
    db = str(tmp_path / "news.duckdb")
    env = {"PREFECT_API_URL": prefect_server, "NEWS_INGEST_ALLOW_HOSTS": "127.0.0.1"}
    feeds = [arg for p in sample.feed_paths for arg in ("--feed", sample.url(p))]
    run = _cli(["run", *feeds, "--warehouse", db], env)
    back = _cli(
        ["backfill", "--since", "2026-03-01", "--until", "2026-03-31", "--sitemap",
         site.url("/sitemap.xml"), "--interval", "0", "--warehouse", db],
        env,
    )
    run_out, run_err = run.communicate(timeout=300)
    back_out, back_err = back.communicate(timeout=300)
    assert run.returncode == 0, run_err[-2000:]
    assert back.returncode == 0, back_err[-2000:]
    for text in (run_err, back_err):
        assert "Traceback" not in text and "lock" not in text.lower()
    with Warehouse(Path(db), read_only=True) as wh:
        _, runs = wh.query("SELECT mode, status FROM runs ORDER BY run_id")
        _, articles = wh.query("SELECT count(*), count(DISTINCT url_key) FROM articles")
    assert sorted(runs) == [("backfill", "completed"), ("manual", "completed")]
    assert articles == [(sample.expected_article_count, sample.expected_article_count)]


def test_sql_reads_while_a_run_holds_the_writer_lock(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.store import WriterLock

    db = tmp_path / "news.duckdb"
    Warehouse(db).close()
    with WriterLock(db):  # a run between two of its write steps
        out = subprocess.run(
            [sys.executable, "-m", "flows.cli", "sql", "SELECT 42 AS answer", "--warehouse",
             str(db), "--format", "csv"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1] == "42"


def test_serve_registers_deployments_with_their_schedules(prefect_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client

    env = {"PREFECT_API_URL": prefect_server}
    serving = _cli(
        ["serve", "--cron", "*/7 * * * *", "--maintenance-cron", "15 4 * * *",
         "--warehouse", str(tmp_path / "news.duckdb")],
        env,
    )

    async def deployments() -> dict[str, list[str]]:
        async with get_client() as client:
            found = await client.read_deployments()
            return {
                d.name: [s.schedule.cron for s in d.schedules if hasattr(s.schedule, "cron")]
                for d in found
            }

    try:
        deadline = time.monotonic() + 120
        found: dict[str, list[str]] = {}
        while time.monotonic() < deadline:
            found = asyncio.run(deployments())
            if {"scheduled", "nightly"} <= set(found):
                break
            assert serving.poll() is None, serving.communicate()[1][-2000:]
            time.sleep(1)
        assert found.get("scheduled") == ["*/7 * * * *"]
        assert found.get("nightly") == ["15 4 * * *"]
    finally:
        serving.send_signal(signal.SIGINT)
        try:
            _, err = serving.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serving.kill()
            _, err = serving.communicate()
    assert "Traceback" not in err


def test_progress_line_is_a_bar_with_an_eta() -> None:
    from flows.reports import progress_line

    line = progress_line(600, 1500, 48.8)
    assert line.startswith("[########------------]  40% 600/1500 pages")
    assert line.endswith("ETA 1m13s")
    assert progress_line(1500, 1500, 100.0).startswith("[" + "#" * 20 + "] 100%")
