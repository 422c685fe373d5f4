"""WebSub subscriptions and article freshness in the warehouse, on a DuckDB file and on lakes
(SQLite and PostgreSQL catalogs): rows, push counts, the hub status `feeds health` shows,
polling while a subscription is healthy, and each article's arrival in the freshness views."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline import websub
from pipeline.records import FeedResult, FeedState
from pipeline.store import PageResult, PendingPage, Warehouse
from pipeline.urls import url_key
from tests.test_store import article, entry, feed_fetch, ok_result, page_fetch

POLLING = websub.PushPolling(poll_every=timedelta(days=1), silent_after=timedelta(hours=2))


@pytest.fixture
def wh(warehouse_at: Any):  # type: ignore[no-untyped-def]
    with Warehouse(warehouse_at) as warehouse:
        yield warehouse


def verified(feed_id: int, now: datetime, **changes: Any) -> websub.Subscription:
    sub = websub.new_subscription(
        feed_id, "https://hub.example/", f"https://t/{feed_id}", 86400, now
    )
    return replace(
        sub, state="verified", verified_at=now, expires_at=now + timedelta(days=1), **changes
    )


def poll(wh: Warehouse, state: FeedState, mode: str = "scheduled") -> int:
    """One run that 'fetches' the feed (no entries): sets its last fetch and next due time."""
    run_id = wh.start_run(mode)
    wh.record_feed_results(run_id, [ok_result(state)])
    wh.finish_run(run_id, {})
    return run_id


def test_subscriptions_round_trip_and_push_counts(wh: Warehouse) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    a, b = wh.feed_states(["https://a.example/feed", "https://b.example/feed"])
    sub = verified(a.feed_id, now)
    none = websub.Subscription(b.feed_id, None, None, None, None, "none")
    wh.save_subscriptions([sub, none], now)
    wh.save_subscriptions([sub], now)  # saved again: still one row a feed
    assert wh.subscriptions() == [sub, none]
    wh.record_push(a.feed_id, now + timedelta(seconds=5), accepted=True)
    wh.record_push(a.feed_id, now + timedelta(seconds=6), accepted=False)
    (got,) = wh.subscriptions([a.feed_id])
    assert (got.pushes_received, got.pushes_rejected) == (1, 1)
    assert got.last_push_at == now + timedelta(seconds=5)
    health = {h["feed_id"]: h for h in wh.feed_health(POLLING.silent_after)}
    assert health[a.feed_id]["hub_status"] == "healthy" and health[a.feed_id]["pushes"] == 1
    assert health[b.feed_id]["hub_status"] == "none"


def test_saving_a_renewal_keeps_the_push_counts(wh: Warehouse) -> None:
    """The service saves from its in-memory copy (counters as loaded); the counts and the
    last push that record_push wrote meanwhile survive a renewal and a re-verification."""
    now = datetime.now(UTC).replace(microsecond=0)
    (a,) = wh.feed_states(["https://a.example/feed"])
    sub = verified(a.feed_id, now)
    wh.save_subscriptions([sub], now)
    wh.record_push(a.feed_id, now + timedelta(seconds=5), accepted=True)
    wh.record_push(a.feed_id, now + timedelta(seconds=6), accepted=True)
    wh.record_push(a.feed_id, now + timedelta(seconds=7), accepted=False)
    later = now + timedelta(hours=12)
    renewed = websub.renewal(sub, later)
    wh.save_subscriptions([renewed], later)
    reverified = replace(renewed, verified_at=later, expires_at=later + timedelta(days=1))
    wh.save_subscriptions([reverified], later)
    (got,) = wh.subscriptions([a.feed_id])
    assert (got.pushes_received, got.pushes_rejected) == (2, 1)
    assert got.last_push_at == now + timedelta(seconds=6)
    assert (got.requested_at, got.verified_at) == (later, later)
    assert wh.sql("SELECT count(*), max(checked_at) FROM websub_subscriptions") == [(1, later)]


def test_a_push_that_does_not_parse_leaves_the_feed_state_and_schedule(wh: Warehouse) -> None:
    state = wh.feed_states(["https://a.example/feed"])[0]
    poll(wh, state)
    columns = "consecutive_failures, next_fetch_at, last_fetched_at, last_error, last_status"
    before = wh.sql(f"SELECT {columns} FROM feeds")
    fetch = replace(feed_fetch(state.url, feed_id=state.feed_id), kind="push", body=b"<nope")
    fetch.error = "pushed body: not a feed"
    bad = FeedResult(feed=state, fetch=fetch, error=fetch.error)
    run_id = wh.start_run("push")
    counts = wh.record_feed_results(run_id, [bad])
    wh.finish_run(run_id, counts)
    assert wh.sql(f"SELECT {columns} FROM feeds") == before
    assert before[0][0] == 0
    assert wh.sql("SELECT kind, error FROM fetches WHERE kind = 'push'") == [
        ("push", "pushed body: not a feed")
    ]


def test_healthy_subscription_polls_daily_and_a_silent_hub_polls_normally(wh: Warehouse) -> None:
    now = datetime.now(UTC)
    a, b, c = wh.feed_states([f"https://{x}.example/feed" for x in "abc"])
    for state in (a, b, c):
        poll(wh, state)
    wh.execute("UPDATE feeds SET next_fetch_at = ?", [now - timedelta(minutes=1)])  # all due
    wh.save_subscriptions(
        [
            verified(a.feed_id, now),  # healthy: not due until a day after its last poll
            verified(b.feed_id, now - timedelta(hours=3)),  # verified, then silent 3 h
            replace(verified(c.feed_id, now), state="failed"),  # a failed renewal
        ],
        now,
    )
    due = {f.feed_id for f in wh.feed_states(due=True, pushed=POLLING)}
    assert due == {b.feed_id, c.feed_id}
    assert {f.feed_id for f in wh.feed_states(due=True)} == {a.feed_id, b.feed_id, c.feed_id}
    status = {h["feed_id"]: h["hub_status"] for h in wh.feed_health(POLLING.silent_after)}
    assert status == {a.feed_id: "healthy", b.feed_id: "silent", c.feed_id: "failed"}
    # A push keeps the hub healthy; a day after the last poll the feed is due all the same.
    wh.record_push(b.feed_id, now, accepted=True)
    assert b.feed_id not in {f.feed_id for f in wh.feed_states(due=True, pushed=POLLING)}
    wh.execute("UPDATE feeds SET last_fetched_at = ?", [now - timedelta(days=1, minutes=1)])
    assert {f.feed_id for f in wh.feed_states(due=True, pushed=POLLING)} == {
        a.feed_id,
        b.feed_id,
        c.feed_id,
    }


def store_article(
    wh: Warehouse, state: FeedState, run_id: int, link: str, published: datetime
) -> None:
    e = entry(link, link, published_at=published)
    pending = [p for p in wh.pending_pages(feed_ids=[state.feed_id]) if p.url == link]
    page = pending[0] if pending else PendingPage(link, url_key(link), e, [])
    art = article(link, published_at=published)
    wh.record_page_results(run_id, [PageResult(page=page, fetch=page_fetch(link), article=art)])


def test_arrivals_and_freshness_views(wh: Warehouse) -> None:
    now = datetime.now(UTC)
    state = wh.feed_states(["https://news.example/feed"])[0]
    published = now - timedelta(minutes=10)
    for mode, link in (("push", "https://news.example/p"), ("scheduled", "https://news.example/q")):
        run_id = wh.start_run(mode)
        wh.record_feed_results(
            run_id, [ok_result(state, entry(link, link, published_at=published))]
        )
        store_article(wh, state, run_id, link, published)
        wh.finish_run(run_id, {})
    # An entry seen by a poll whose page is stored by a later run: a revisit.
    late = "https://news.example/r"
    run_id = wh.start_run("scheduled")
    wh.record_feed_results(run_id, [ok_result(state, entry(late, late, published_at=published))])
    wh.finish_run(run_id, {})
    store_article(wh, state, wh.start_run("scheduled"), late, published)

    rows = dict(wh.sql("SELECT url, arrived_via FROM articles"))
    assert rows == {
        "https://news.example/p": "push",
        "https://news.example/q": "poll",
        "https://news.example/r": "revisit",
    }
    seen = wh.sql("SELECT first_seen_at, fetched_at FROM articles WHERE arrived_via = 'push'")
    assert seen[0][0] is not None and seen[0][0] <= seen[0][1]
    by_feed = wh.sql(
        "SELECT arrived_via, articles, p50_delay_s FROM freshness_by_feed ORDER BY arrived_via"
    )
    assert [(via, n) for via, n, _ in by_feed] == [("poll", 1), ("push", 1), ("revisit", 1)]
    assert all(600 <= p50 < 900 for _, _, p50 in by_feed)
    side = wh.sql("SELECT source, pushed, polled FROM freshness_push_vs_poll")
    assert side == [("news.example", 1, 1)]
    by_source = wh.sql("SELECT count(*) FROM freshness_by_source WHERE source = 'news.example'")
    assert by_source == [(3,)]
