"""Edit tracking's costs: planning 100k watched articles, and a simulated day of revisits of
real corpus pages on a loopback site (requests, 304 share, CPU per revisit), turned into the
cost per watched article per day at the default schedule.

    .venv/bin/python scripts/revisit_benchmark.py [--watched 100000] [--pages 40] [--hours 24]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from pipeline import revisit  # noqa: E402
from pipeline.batches import fetch_page_batch  # noqa: E402
from pipeline.corpus import absent_reason  # noqa: E402
from pipeline.fetch import Fetcher  # noqa: E402
from pipeline.loopback import LoopbackSite  # noqa: E402
from pipeline.records import Entry, PendingPage  # noqa: E402
from pipeline.revisit_fetch import fetch_revisit_batch  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.store import Warehouse  # noqa: E402
from pipeline.urls import url_key  # noqa: E402
from tests.edit_site import CORRECTION, HTML, editable_pages  # noqa: E402

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def time_planning(watched: int, folder: Path) -> None:
    schedule = revisit.parse_schedule(revisit.DEFAULT_SCHEDULE)
    rng = np.random.default_rng(7)
    ids = np.arange(1, watched + 1, dtype=np.int64)
    hosts = rng.integers(0, 500, watched)  # host codes, as the warehouse hands them
    now = NOW.timestamp()
    changed = now - rng.uniform(0, 30 * 86400, watched)
    checked = np.minimum(now, changed + rng.uniform(0, 86400, watched))
    best = min(
        _timed(lambda: revisit.plan(ids, hosts, changed, checked, now, schedule, 500, 50))
        for _ in range(5)
    )
    print(f"plan {watched:,} watched articles (numpy, pipeline.revisit.plan): {best * 1000:.1f} ms")
    path = folder / "plan.duckdb"
    with Warehouse(path) as wh:
        wh.execute(
            "INSERT INTO article_revisits (article_id, url, watched, last_changed_at,"
            " last_checked_at, revisits, not_modified)"
            " SELECT i, 'https://host' || (i % 500) || '.example/story/' || i, TRUE,"
            " ?::TIMESTAMPTZ - to_seconds(CAST(random() * 2592000 AS BIGINT)),"
            " ?::TIMESTAMPTZ - to_seconds(CAST(random() * 900 AS BIGINT)), 0, 0"
            " FROM range(1, ? + 1) t(i)",
            [NOW, NOW, watched],
        )
        timings = []
        for step in range(3):
            at = NOW + timedelta(minutes=15 * step)
            timings.append(_timed(lambda at=at: wh.plan_revisits(at, schedule, 500, 50)))
    print(
        f"plan {watched:,} watched articles in the warehouse (read, plan, store next times):"
        f" {min(timings) * 1000:.0f} ms (first {timings[0] * 1000:.0f} ms)"
    )


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def simulate_day(pages_count: int, hours: int, folder: Path) -> None:
    schedule = revisit.parse_schedule(revisit.DEFAULT_SCHEDULE)
    pages = editable_pages(pages_count)
    settings = Settings(allow_hosts=("127.0.0.1",), warehouse=folder / "day.duckdb")
    with LoopbackSite() as site, Fetcher(settings) as fetcher, Warehouse(settings.warehouse) as wh:
        for p in pages:
            site.set(p.path, p.html.encode(), HTML)
        run_id = wh.start_run()
        urls = [site.url(p.path) for p in pages]
        pending = [PendingPage(u, url_key(u), Entry(guid=u, link=u)) for u in urls]
        results = fetch_page_batch(pending, fetcher, folder / "archive", None, "first")
        wh.record_page_results(run_id, results, NOW)
        # Every 10th page gains a correction 2 hours in.
        edits = {timedelta(hours=2): [p for i, p in enumerate(pages) if i % 10 == 0]}
        clock, step = NOW, timedelta(minutes=15)
        requests = not_modified = same_body = changed = 0
        cpu_unchanged, unchanged_n = 0.0, 0
        mixed: list[
            tuple[float, int, int]
        ] = []  # steps with a changed page: cpu, unchanged, changed
        while clock < NOW + timedelta(hours=hours):
            clock += step
            for p in edits.pop(clock - NOW, []):
                site.set(p.path, p.appended(CORRECTION), HTML)
            targets, _ = wh.plan_revisits(clock, schedule, 10_000, 10_000)
            if not targets:
                continue
            # One batch per step, as a run does: fetched, then written in one transaction.
            started = time.process_time()
            results = fetch_revisit_batch(targets, fetcher, folder / "archive", None, "r")
            wh.record_revisits(run_id, results, clock)
            spent = time.process_time() - started
            found = [r.outcome for r in results]
            requests += len(found)
            not_modified += found.count("not-modified")
            same_body += found.count("same-body")
            changed += found.count("changed")
            if "changed" in found:
                mixed.append((spent, len(found) - found.count("changed"), found.count("changed")))
            else:
                cpu_unchanged += spent
                unchanged_n += len(found)
        versions = wh.sql("SELECT count(*) FROM article_changes")[0][0]
    per_article_day = requests / len(pages) / (hours / 24)
    print(
        f"simulated {hours} h of revisits of {len(pages)} corpus pages on a loopback site:"
        f" {requests} requests, {per_article_day:.1f} per article per day in their first"
        f" {hours} h; {not_modified} answered 304 ({not_modified / requests:.1%}),"
        f" {same_body} same body, {changed} changed ({versions} new versions)"
    )
    per_unchanged = cpu_unchanged / max(unchanged_n, 1)
    # A step with changed pages: its CPU less its unchanged revisits' share, per changed page.
    extra = sum(spent - n_same * per_unchanged for spent, n_same, _ in mixed)
    cpu_changed = extra / max(sum(n for _, _, n in mixed), 1) * 1000
    cpu_unchanged = per_unchanged * 1000
    print(
        f"CPU per revisit (client + in-process loopback server, one batch a step):"
        f" {cpu_unchanged:.1f} ms"
        f" unchanged (304), {cpu_changed:.0f} ms changed (fetch, extract, judge, store)"
    )
    daily = schedule.revisits_per_day()
    print(
        f"default schedule: {schedule.revisits_per_window():.1f} revisits over the"
        f" {schedule.window / 86400:.0f}-day window = {daily:.2f} requests per watched article"
        f" per day on average (first day: {12 + 21} requests); at the measured CPU, with no"
        f" edit, {daily * cpu_unchanged:.1f} ms CPU per watched article per day"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watched", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        time_planning(args.watched, Path(tmp))
        reason = absent_reason()
        if reason:
            print(f"loopback day skipped: {reason}")
        else:
            simulate_day(args.pages, args.hours, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
