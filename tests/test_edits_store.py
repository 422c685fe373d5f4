"""Edit tracking in the warehouse (migration 007): article_changes, the views and example
queries, revisit state and removals, on a DuckDB file and on lakes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.records import Article, Entry, Fetch, PageResult, PendingPage, RevisitResult
from pipeline.revisit import DEFAULT_SCHEDULE, parse_schedule
from pipeline.store import Warehouse
from pipeline.store.edits import REVISIT_CLAIM
from pipeline.urls import url_key
from tests.test_store import article, page_fetch

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
URL = "https://news.example/politics/2026/12/tram-vote"
BODY = (
    "The city council voted on Tuesday to expand the tram network by twelve kilometres.\n"
    "The plan costs 240 million euros and should open in 2029.\n"
    "Opposition members said the budget was unrealistic."
)
QUERIES = Path(__file__).parent.parent / "warehouse" / "queries"


def page(text: str = BODY, title: str = "Council expands tram", **kw: object) -> Article:
    return replace(article(URL), title=title, text=text, content_hash=f"h-{hash(text)}", **kw)  # type: ignore[arg-type]


@pytest.fixture
def stored(warehouse_at: Any) -> Iterator[tuple[Warehouse, int]]:
    """A warehouse with one article, first fetched at T0."""
    with Warehouse(warehouse_at) as wh:
        pending = PendingPage(URL, url_key(URL), Entry(guid=URL, link=URL))
        wh.record_page_results(wh.start_run(), [PageResult(pending, page_fetch(URL), page())], T0)
        (article_id,) = wh.sql("SELECT article_id FROM articles")[0]
        yield wh, int(article_id)


def again(wh: Warehouse, article_id: int, art: Article, at: datetime) -> int:
    pending = PendingPage(URL, url_key(URL), Entry(guid=URL, link=URL), article_id=article_id)
    result = PageResult(pending, page_fetch(URL), art)
    return wh.record_page_results(wh.start_run(), [result], at)["articles_updated"]


def test_new_article_is_watched_from_its_first_fetch(stored: tuple[Warehouse, int]) -> None:
    wh, article_id = stored
    assert wh.sql(
        "SELECT watched, last_changed_at, last_checked_at, revisits FROM article_revisits"
    ) == [(True, T0, T0, 0)]
    assert wh.sql("SELECT removed_at, removal_reason FROM articles") == [(None, None)]


def test_edits_are_classified_one_row_per_version_pair(stored: tuple[Warehouse, int]) -> None:
    wh, article_id = stored
    t1, t2, t3 = (T0 + timedelta(hours=h) for h in (1, 2, 3))
    assert again(wh, article_id, page(title="Council votes for a bigger tram network"), t1) == 1
    corrected = BODY + "\nCorrection: An earlier version gave the cost as 420 million euros."
    assert again(wh, article_id, page(corrected, "Council votes for a bigger tram network"), t2)
    # Whitespace only: no version, no row.
    noisy = corrected.replace(" ", "  ")
    assert again(wh, article_id, page(noisy, "Council votes for a bigger tram network"), t3) == 0
    rows = wh.sql(
        "SELECT from_version, to_version, kind, fields_changed, notice_kind, sentences_added,"
        " detected_at FROM article_changes ORDER BY to_version"
    )
    assert rows == [
        (1, 2, "headline", ["headline"], None, 0, t1),
        (2, 3, "correction", ["body"], "correction", 1, t2),
    ]
    assert wh.sql("SELECT version, title FROM articles") == [
        (3, "Council votes for a bigger tram network")
    ]
    assert wh.sql("SELECT count(*) FROM article_versions") == [(3,)]
    assert wh.sql("SELECT old_title, new_title FROM headline_changes") == [
        ("Council expands tram", "Council votes for a bigger tram network")
    ]
    ((kind, text),) = wh.sql("SELECT notice_kind, notice_text FROM corrections")
    assert kind == "correction" and "420 million" in text
    # The edit put the article back on the fast schedule.
    assert wh.sql("SELECT last_changed_at FROM article_revisits") == [(t2,)]
    # Every example query runs, and the edit ones see the edits.
    results = {q.stem: wh.sql(q.read_text()) for q in QUERIES.glob("*.sql")}
    assert results["corrections_per_outlet_week"][0][-1] == 1
    assert results["stealth_edits"] == []
    ((_, edited, share),) = [r[1:] for r in results["edited_within_24h"]]
    assert (edited, share) == (1, 1.0)
    ((_, n, median),) = results["time_to_first_edit"]
    assert n == 1 and median == timedelta(hours=1)


def test_stealth_edit_and_flip_flop(stored: tuple[Warehouse, int]) -> None:
    wh, article_id = stored
    edited = BODY.replace("Opposition members said", "Opposition members warned")
    assert again(wh, article_id, page(edited), T0 + timedelta(hours=1)) == 1
    # Back to the first text: A→B→A, suppressed.
    assert again(wh, article_id, page(BODY), T0 + timedelta(hours=2)) == 0
    assert wh.sql("SELECT version FROM articles") == [(2,)]
    (stealth,) = wh.sql((QUERIES / "stealth_edits.sql").read_text())
    assert stealth[2] == 2 and stealth[4:7] == (0, 0, 1)


def test_short_extraction_counts_only_when_seen_twice(stored: tuple[Warehouse, int]) -> None:
    wh, article_id = stored
    short = page("The city council voted on Tuesday.")
    assert again(wh, article_id, short, T0 + timedelta(hours=1)) == 0
    assert wh.sql("SELECT short_fingerprint IS NOT NULL FROM article_revisits") == [(True,)]
    assert again(wh, article_id, short, T0 + timedelta(hours=2)) == 1
    assert wh.sql("SELECT short_fingerprint FROM article_revisits") == [(None,)]


def visit(wh: Warehouse, status: int, final_url: str = URL, **kw: Any) -> dict[str, int]:
    (target,), _ = wh.plan_revisits(
        T0 + timedelta(hours=1), parse_schedule("15m/3h,1h/1d"), 10, 10, all_watched=True
    )
    fetch = Fetch(url=URL, kind="page", started_at=T0, status=status, final_url=final_url,
                  headers={"etag": '"v2"'} if status == 200 else {})  # fmt: skip
    outcome = kw.pop("outcome")
    result = RevisitResult(target, fetch, outcome, **kw)
    return wh.record_revisits(wh.start_run(), [result], T0 + timedelta(hours=1))


def test_revisit_304_costs_no_version_and_counts(stored: tuple[Warehouse, int]) -> None:
    wh, _ = stored
    counts = visit(wh, 304, outcome="not-modified")
    assert counts["revisits"] == 1 and counts["revisits_unchanged"] == 1
    assert wh.sql("SELECT revisits, not_modified, last_checked_at FROM article_revisits") == [
        (1, 1, T0 + timedelta(hours=1))
    ]
    assert wh.sql("SELECT count(*) FROM fetches WHERE status = 304") == [(1,)]


def test_revisit_changed_page_is_judged_and_stores_validators(
    stored: tuple[Warehouse, int],
) -> None:
    wh, _ = stored
    counts = visit(wh, 200, outcome="changed", body_hash="b2", article=page(title="New headline"))
    assert counts["articles_updated"] == 1
    assert wh.sql("SELECT etag, body_hash, revisits FROM article_revisits") == [('"v2"', "b2", 1)]
    assert wh.sql("SELECT kind FROM article_changes") == [("headline",)]


@pytest.mark.parametrize(
    ("status", "final", "reason"),
    [(410, URL, "gone-410"), (404, URL, "gone-404"),
     (200, "https://news.example/politics/", "redirect-to-section")],
)  # fmt: skip
def test_page_taken_down_is_marked_removed_and_kept(
    stored: tuple[Warehouse, int], status: int, final: str, reason: str
) -> None:
    wh, article_id = stored
    counts = visit(wh, status, final, outcome="removed")
    assert counts["articles_removed"] == 1
    assert wh.sql("SELECT article_id, removed_at, removal_reason FROM articles") == [
        (article_id, T0 + timedelta(hours=1), reason)
    ]
    assert wh.sql("SELECT watched FROM article_revisits") == [(False,)]
    targets, _ = wh.plan_revisits(T0 + timedelta(days=1), parse_schedule("1m/1d"), 10, 10, True)
    assert targets == []


def test_plan_unwatches_past_the_window(stored: tuple[Warehouse, int]) -> None:
    wh, _ = stored
    schedule = parse_schedule("15m/3h,1h/1d")
    targets, counts = wh.plan_revisits(T0 + timedelta(minutes=20), schedule, 10, 10)
    assert [t.url for t in targets] == [URL] and counts["revisits_due"] == 1
    assert wh.sql("SELECT next_revisit_at FROM article_revisits") == [(T0 + timedelta(minutes=15),)]
    targets, counts = wh.plan_revisits(T0 + timedelta(minutes=10), schedule, 10, 10)
    assert targets == [] and counts["revisits_due"] == 0
    targets, counts = wh.plan_revisits(T0 + timedelta(days=2), schedule, 10, 10)
    assert targets == [] and counts["articles_unwatched"] == 1
    assert wh.sql("SELECT watched FROM article_revisits") == [(False,)]


def test_two_passes_planned_at_once_share_the_due_articles(
    warehouse_at: Any, stored: tuple[Warehouse, int]
) -> None:
    """The scheduled ingest's pass and `news-ingest revisit` (or two lake writers) plan at
    the same time: each due article is claimed by one of them, fetched and counted once.
    (Writers of a DuckDB file take turns, the writer lock held for a whole run: there the
    second pass plans after the first.)"""
    wh, _ = stored
    schedule = parse_schedule("15m/3h,1h/1d")
    at = T0 + timedelta(minutes=20)

    def plan(_: int) -> list[Any]:
        with Warehouse(warehouse_at, migrate=False) as other:
            return other.plan_revisits(at, schedule, 10, 10)[0]

    if isinstance(warehouse_at, Path):
        planned = plan(0) + plan(1)
    else:
        with ThreadPoolExecutor(2) as pool:
            planned = [t for targets in pool.map(plan, range(2)) for t in targets]
    assert [t.url for t in planned] == [URL]
    # A third pass planned before the first records finds nothing either.
    assert wh.plan_revisits(at, schedule, 10, 10)[0] == []
    fetch = Fetch(url=URL, kind="page", started_at=at, status=304)
    wh.record_revisits(wh.start_run(), [RevisitResult(planned[0], fetch, "not-modified")], at)
    assert wh.sql("SELECT revisits, not_modified, claimed_until FROM article_revisits") == [
        (1, 1, None)
    ]
    # Recorded, the claim is over: the article is due again on its schedule.
    (target,), _ = wh.plan_revisits(at + timedelta(minutes=15), schedule, 10, 10)
    assert target.url == URL


def test_a_killed_pass_loses_nothing(stored: tuple[Warehouse, int]) -> None:
    wh, _ = stored
    schedule = parse_schedule("15m/3h,1h/1d")
    at = T0 + timedelta(minutes=20)
    (claimed,), _ = wh.plan_revisits(at, schedule, 10, 10)  # its pass dies before recording
    assert wh.plan_revisits(at + REVISIT_CLAIM - timedelta(minutes=1), schedule, 10, 10)[0] == []
    (target,), _ = wh.plan_revisits(at + REVISIT_CLAIM, schedule, 10, 10)
    assert target == claimed


def test_backfilled_articles_are_scheduled_from_their_publication(warehouse_at: Any) -> None:
    """A backfill stores old articles: one published before the watch window is not revisited
    (unwatched by the next plan), a recent one is on the tier of its age; an ingest run's
    articles stay keyed to their first fetch, whatever their date."""
    old, recent, polled = (f"https://news.example/{name}" for name in ("old", "recent", "polled"))
    published = {old: T0 - timedelta(days=40), recent: T0 - timedelta(hours=2),
                 polled: T0 - timedelta(days=40)}  # fmt: skip

    def result(url: str) -> PageResult:
        art = replace(article(url), text=f"Body of {url}.", published_at=published[url])
        return PageResult(PendingPage(url, url_key(url), Entry(guid=url, link=url)),
                          page_fetch(url), art)  # fmt: skip

    with Warehouse(warehouse_at) as wh:
        wh.record_page_results(wh.start_run("backfill"), [result(old), result(recent)], T0)
        wh.record_page_results(wh.start_run("scheduled"), [result(polled)], T0)
        assert wh.sql("SELECT url, last_changed_at FROM article_revisits ORDER BY url") == [
            (old, T0 - timedelta(days=40)),
            (polled, T0),
            (recent, T0 - timedelta(hours=2)),
        ]
        schedule = parse_schedule(DEFAULT_SCHEDULE)
        targets, counts = wh.plan_revisits(T0 + timedelta(minutes=20), schedule, 10, 10)
        assert sorted(t.url for t in targets) == [polled, recent]
        assert counts["articles_unwatched"] == 1
        assert wh.sql("SELECT url FROM article_revisits WHERE NOT watched") == [(old,)]


def test_a_batch_of_revisits_marks_each_removed_page_once(warehouse_at: Any) -> None:
    """Pages taken down in one batch are marked together, each with its own reason; a page
    already marked keeps its first removal."""
    urls = [f"https://news.example/politics/2026/12/story-{i}" for i in range(3)]
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    with Warehouse(warehouse_at) as wh:
        results = [
            PageResult(PendingPage(u, url_key(u), Entry(guid=u, link=u)), page_fetch(u),
                       replace(article(u), text=f"Body of {u}."))
            for u in urls
        ]  # fmt: skip
        wh.record_page_results(wh.start_run(), results, T0)
        targets, _ = wh.plan_revisits(t1, parse_schedule("15m/3h"), 10, 10, all_watched=True)
        by_url = {t.url: t for t in targets}

        def found(url: str, status: int, final: str, outcome: str) -> RevisitResult:
            fetch = Fetch(url=url, kind="page", started_at=t1, status=status, final_url=final)
            return RevisitResult(by_url[url], fetch, outcome)  # type: ignore[arg-type]

        counts = wh.record_revisits(wh.start_run(), [
            found(urls[0], 410, urls[0], "removed"),
            found(urls[1], 200, "https://news.example/politics/", "removed"),
            found(urls[2], 304, urls[2], "not-modified"),
        ], t1)  # fmt: skip
        assert counts["articles_removed"] == 2
        rows = [(urls[0], t1, "gone-410", False), (urls[1], t1, "redirect-to-section", False),
                (urls[2], None, None, True)]  # fmt: skip
        query = (
            "SELECT a.url, a.removed_at, a.removal_reason, r.watched FROM articles a"
            " JOIN article_revisits r USING (article_id) ORDER BY a.url"
        )
        assert wh.sql(query) == rows
        wh.record_revisits(wh.start_run(), [found(urls[0], 404, urls[0], "removed")], t2)
        assert wh.sql(query) == rows
