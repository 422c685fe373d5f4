"""pipeline/revisit.py: the revisit schedule's arithmetic, planning, and what a revisit found."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from pipeline.changes import body_hash
from pipeline.fetch import Fetcher
from pipeline.loopback import LoopbackSite
from pipeline.records import RevisitTarget
from pipeline.revisit import (
    DEFAULT_SCHEDULE,
    is_section_redirect,
    outcome,
    parse_duration,
    parse_schedule,
    plan,
    removal_reason,
)
from pipeline.revisit_fetch import fetch_revisit_batch
from pipeline.settings import Settings, SettingsError

MIN, HOUR, DAY = 60.0, 3600.0, 86400.0
NOW = 1_800_000_000.0
SCHEDULE = parse_schedule(DEFAULT_SCHEDULE)


def test_default_is_newsdiffs_schedule() -> None:
    assert SCHEDULE.intervals == (15 * MIN, HOUR, 3 * HOUR, 3 * DAY)
    assert SCHEDULE.untils == (3 * HOUR, DAY, 7 * DAY, 30 * DAY)


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (0, 15 * MIN),
        (3 * HOUR - 1, 15 * MIN),
        (3 * HOUR, HOUR),
        (DAY - 1, HOUR),
        (DAY, 3 * HOUR),
        (7 * DAY - 1, 3 * HOUR),
        (7 * DAY, 3 * DAY),
        (30 * DAY - 1, 3 * DAY),
        (30 * DAY, None),
    ],
)
def test_interval_by_time_since_last_change(age: float, interval: float | None) -> None:
    assert SCHEDULE.interval_after(age) == interval


def test_revisits_over_the_window() -> None:
    # 3 h / 15 min + 21 h / 1 h + 6 d / 3 h + 23 d / 3 d = 12 + 21 + 48 + 7 2/3.
    assert SCHEDULE.revisits_per_window() == pytest.approx(88 + 2 / 3)
    assert SCHEDULE.revisits_per_day() == pytest.approx((88 + 2 / 3) / 30)


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("3h", 10800), ("1d", 86400), ("2w", 1209600), ("90s", 90)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["15m", "1h/1h,2h/30m", "0m/1h", "x/1h", ""])
def test_bad_schedules_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(bad)
    with pytest.raises(SettingsError, match="REVISIT_SCHEDULE"):
        Settings(revisit_schedule=bad)


def test_settings_set_the_schedule() -> None:
    schedule = Settings(revisit_schedule="5m/1h,1d/10d").schedule
    assert schedule.intervals == (300, 86400) and schedule.window == 10 * DAY


def arrays(
    changed_ago: list[float], checked_ago: list[float | None], hosts: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = len(changed_ago)
    ids = np.arange(1, n + 1, dtype=np.int64)
    host = np.array(hosts or ["a.example"] * n, dtype=object)
    changed = NOW - np.array(changed_ago, dtype=np.float64)
    checked = np.array([np.nan if c is None else NOW - c for c in checked_ago], dtype=np.float64)
    return ids, host, changed, checked


def test_plan_picks_due_articles_by_their_tier() -> None:
    ids, hosts, changed, checked = arrays(
        [10 * MIN, 1 * HOUR, 5 * HOUR, 5 * HOUR, 3 * DAY, 10 * DAY, 40 * DAY],
        [10 * MIN, 16 * MIN, 30 * MIN, 61 * MIN, 2 * HOUR, 3 * DAY, 1 * DAY],
    )
    p = plan(ids, hosts, changed, checked, NOW, SCHEDULE, budget=100, per_host=100)
    # 1: checked 10 min ago, 15-min tier: not yet. 2: 16 min > 15: due. 3: hourly, 30 min ago:
    # not yet. 4: 61 min: due. 5: 3-hourly, 2 h: not yet. 6: 3-daily, 3 d: due. 7: past 30 d.
    assert sorted(p.due.tolist()) == [2, 4, 6]
    assert p.unwatch.tolist() == [7]
    assert np.isnan(p.next_at[6])
    assert p.next_at[0] == pytest.approx(NOW + 5 * MIN)
    assert p.deferred == 0


def test_never_revisited_counts_from_the_change() -> None:
    ids, hosts, changed, checked = arrays([20 * MIN, 5 * MIN], [None, None])
    p = plan(ids, hosts, changed, checked, NOW, SCHEDULE, budget=10, per_host=10)
    assert p.due.tolist() == [1]


def test_an_edit_puts_the_article_back_on_the_fast_schedule() -> None:
    # Checked 40 min ago: on the hourly tier (changed 5 h ago) it is not due; changed 1 h ago
    # (an edit), the 15-minute tier makes it due.
    ids, hosts, changed, checked = arrays([5 * HOUR, 1 * HOUR], [40 * MIN, 40 * MIN])
    p = plan(ids, hosts, changed, checked, NOW, SCHEDULE, budget=10, per_host=10)
    assert p.due.tolist() == [2]


def test_budget_and_per_host_bound_most_overdue_first() -> None:
    ids, hosts, changed, checked = arrays(
        [HOUR] * 6,
        [20 * MIN, 50 * MIN, 30 * MIN, 40 * MIN, 45 * MIN, 16 * MIN],
        ["a", "a", "a", "b", "b", "c"],
    )
    p = plan(ids, hosts, changed, checked, NOW, SCHEDULE, budget=3, per_host=2)
    # Lateness: 2 (35 min) > 5 (30) > 4 (25) > 3 (15) > 1 (5) > 6 (1). Host a takes 2 and 3
    # at most; the budget of 3 stops at 2, 5, 4.
    assert p.due.tolist() == [2, 5, 4]
    assert p.deferred == 3
    p = plan(ids, hosts, changed, checked, NOW, SCHEDULE, budget=10, per_host=2)
    assert p.due.tolist() == [2, 5, 4, 3, 6]


def test_all_watched_are_due_but_not_those_past_the_window() -> None:
    ids, hosts, changed, checked = arrays([MIN, DAY, 31 * DAY], [0, 0, 0])
    p = plan(ids, hosts, changed, checked, NOW, SCHEDULE, 10, 10, all_watched=True)
    assert sorted(p.due.tolist()) == [1, 2]
    assert p.unwatch.tolist() == [3]


def test_empty_plan() -> None:
    ids, hosts, changed, checked = arrays([], [])
    p = plan(ids, hosts, changed, checked, NOW, SCHEDULE, 10, 10)
    assert len(p.due) == 0 and len(p.unwatch) == 0


@pytest.mark.parametrize(
    ("url", "final", "section"),
    [
        ("https://news.example/politics/2026/12/tram-vote", "https://news.example/politics/", True),
        ("https://news.example/politics/2026/12/tram-vote", "https://news.example/", True),
        ("https://news.example/a/b/story", "https://www.news.example/a", True),
        ("https://news.example/a/b/story", "https://news.example/a/b/story-renamed", False),
        ("https://news.example/a/b/story", "https://other.example/", False),
        ("https://news.example/a/b/story", "https://news.example/x/", False),
        ("https://news.example/a/b/story", None, False),
    ],
)
def test_section_redirects(url: str, final: str | None, section: bool) -> None:
    assert is_section_redirect(url, final) is section


def test_outcomes() -> None:
    url = "https://news.example/a/story"
    assert outcome(304, None, url, url, None, "h") == "not-modified"
    assert outcome(200, None, url, url, "h", "h") == "same-body"
    assert outcome(200, None, url, url, "h2", "h") == "changed"
    assert outcome(410, "HTTP 410", url, url, None, "h") == "removed"
    assert outcome(404, "HTTP 404", url, url, None, "h") == "removed"
    assert outcome(200, None, url, "https://news.example/a/", "x", "h") == "removed"
    assert outcome(503, "HTTP 503", url, url, None, "h") == "failed"
    assert outcome(None, "timed out", url, url, None, "h") == "failed"
    assert removal_reason(410, url, url) == "gone-410"
    assert removal_reason(200, url, "https://news.example/") == "redirect-to-section"


@pytest.mark.parametrize("pool", [False, True], ids=["inline", "pool"])
def test_a_batch_of_revisits_on_a_real_site(
    allow_loopback: None, tmp_path: Path, pool: bool
) -> None:
    """fetch_revisit_batch against a loopback site, extracting inline or on a pool: a 304, the
    same bytes, an edited page extracted again, a page with no body text, a page taken down."""
    from pipeline.corpus import absent_reason

    if absent_reason():
        pytest.skip(absent_reason() or "")
    from tests.edit_site import HTML, editable_pages

    names = ("unchanged", "same-bytes", "edited", "emptied", "gone")
    pages = dict(zip(names, editable_pages(len(names)), strict=True))
    with LoopbackSite() as site, Fetcher(Settings()) as fetcher:
        for p in pages.values():
            site.set(p.path, p.html.encode(), HTML)
        targets = {}
        for name, p in pages.items():
            first = fetcher.fetch(site.url(p.path), "page")
            keep = name != "same-bytes"  # no validators kept: a full answer, its hash compared
            targets[name] = RevisitTarget(
                len(targets) + 1, site.url(p.path),
                first.headers.get("etag") if keep else None,
                first.headers.get("last-modified") if keep else None,
                body_hash(first.body), p.title,
            )  # fmt: skip
        site.set(pages["edited"].path, pages["edited"].headline("A rewritten headline"), HTML)
        site.set(pages["emptied"].path, b"<html><body></body></html>", HTML)
        site.fail(pages["gone"].path, 410)
        executor = ThreadPoolExecutor(2) if pool else None
        try:
            results = fetch_revisit_batch(
                list(targets.values()), fetcher, tmp_path / "archive", executor, "t"
            )
        finally:
            if executor is not None:
                executor.shutdown()
    found = {r.target.url: r for r in results}
    by_name = {name: found[t.url] for name, t in targets.items()}
    assert {n: r.outcome for n, r in by_name.items()} == {
        "unchanged": "not-modified", "same-bytes": "same-body", "edited": "changed",
        "emptied": "changed", "gone": "removed",
    }  # fmt: skip
    edited = by_name["edited"]
    assert edited.article is not None and edited.article.title == "A rewritten headline"
    assert edited.error is None and edited.fetch.body
    emptied = by_name["emptied"]
    assert emptied.article is None and emptied.error == "extraction found no body text"
    for name in ("unchanged", "same-bytes", "gone"):
        assert by_name[name].article is None and by_name[name].fetch.body == b""
