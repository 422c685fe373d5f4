"""WebSub end to end against a real loopback hub (tests/websub_hub.py): discovery from the
Link header, an Atom feed and a JSON Feed; subscription and asynchronous intent verification
(a wrong topic refused); a signed push loaded through the real `websub-push` Prefect flow into
a real DuckDB file; tampered, unsigned and oversized pushes refused with nothing written;
lease renewal on a fake clock; a failed renewal and a silent hub back to polling; a hub at a
private address refused."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.api import free_port
from flows.ingest import ingest
from flows.websub import WebSubService
from pipeline.loopback import LoopbackSite
from pipeline.settings import Settings
from pipeline.store import Warehouse
from pipeline.websub import push_polling
from tests.websub_hub import LoopbackHub

PARAGRAPH = (
    "The council met on Tuesday evening to discuss the new harbour plans, which would move the"
    " ferry terminal two kilometres north and open the old quay to the public. Residents spoke"
    " for and against; a decision is expected next month after a second consultation. "
)
MAX_PUSH = 64 * 1024


def article_html(n: int) -> bytes:
    return (
        f"<html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>"
        + f"<p>{n}: {PARAGRAPH * 3}</p>" * 4
        + "</article></body></html>"
    ).encode()


def atom(self_url: str, hub: str | None, items: range) -> bytes:
    base = self_url.rsplit("/", 1)[0]
    links = f'<link rel="self" href="{self_url}"/>'
    if hub:
        links += f'<link rel="hub" href="{hub}"/>'
    entries = "".join(
        f"<entry><id>{base}/a/{n}</id><title>Story {n}</title>"
        f'<link href="{base}/a/{n}.html"/><updated>{datetime.now(UTC).isoformat()}</updated>'
        f"<summary>Summary {n}</summary></entry>"
        for n in items
    )
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour news'
        f"</title>{links}<updated>{datetime.now(UTC).isoformat()}</updated>{entries}</feed>"
    ).encode()


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class World:
    site: LoopbackSite
    hub: LoopbackHub
    settings: Settings
    db: Path | str  # a DuckDB file, or a lake's URL

    def feed(self, path: str, hub: str | None = None, items: range = range(0)) -> str:
        """An Atom feed at `path` naming `hub` (by default ours; "": none); registered; its URL."""
        url = self.site.url(path)
        named = self.hub.url if hub is None else hub
        self.site.set(path, atom(url, named, items), "application/atom+xml")
        with Warehouse(self.db) as wh:
            wh.add_feeds([url])
        return url

    def service(self, clock: FakeClock | None = None) -> WebSubService:
        return WebSubService(self.settings, clock=clock or FakeClock(datetime.now(UTC))).start(
            timer=False
        )

    def subscription(self, url: str) -> Any:
        with Warehouse(self.db) as wh:
            (feed_id,) = wh.sql("SELECT feed_id FROM feeds WHERE url = ?", [url])[0]
            (sub,) = wh.subscriptions([feed_id])
        return sub

    def scalar(self, sql: str) -> Any:
        with Warehouse(self.db) as wh:
            return wh.sql(sql)[0][0]


def make_world(monkeypatch: pytest.MonkeyPatch, db: Path | str) -> Iterator[World]:
    port = free_port()
    env = {
        "NEWS_INGEST_WAREHOUSE": str(db),
        "NEWS_INGEST_ALLOW_HOSTS": "127.0.0.1",
        "NEWS_INGEST_WEBSUB_CALLBACK_URL": f"http://127.0.0.1:{port}",
        "NEWS_INGEST_WEBSUB_PORT": str(port),
        "NEWS_INGEST_WEBSUB_MAX_PUSH_BYTES": str(MAX_PUSH),
        "NEWS_INGEST_WEBSUB_SILENT_AFTER": str(2 * 86400),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with LoopbackSite() as site, LoopbackHub() as hub:
        for n in range(1, 10):
            site.set(f"/a/{n}.html", article_html(n), "text/html; charset=utf-8")
        Warehouse(db).close()
        yield World(site, hub, Settings.from_env(), db)


@pytest.fixture
def world(prefect_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    yield from make_world(monkeypatch, tmp_path / "news.duckdb")


@pytest.fixture(params=["sqlite", "postgres"])
def lake_world(
    request: pytest.FixtureRequest,
    prefect_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[World]:
    """The same on a DuckLake: a SQLite catalog (files and archive beside it), and a catalog on
    the session's PostgreSQL (emptied afterwards)."""
    from pipeline.store import close_pooled_sessions

    if request.param == "sqlite":
        yield from make_world(monkeypatch, f"ducklake:sqlite:{tmp_path}/catalog.sqlite")
        close_pooled_sessions()
        return
    from tests.pg import drop_lake_tables

    conninfo = request.getfixturevalue("postgres_conninfo")
    monkeypatch.setenv("NEWS_INGEST_LAKE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NEWS_INGEST_ARCHIVE", str(tmp_path / "archive"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield from make_world(monkeypatch, f"ducklake:postgres:{conninfo}")
    close_pooled_sessions()
    drop_lake_tables(conninfo)


def test_discovery_from_all_three_places_and_async_verification(world: World) -> None:
    hub = world.hub
    header_feed = world.site.url("/header.xml")
    world.site.set(
        "/header.xml",
        atom(header_feed, None, range(0)).replace(b'<link rel="self"', b'<link rel="x"'),
        "application/atom+xml",
        headers={"Link": f'<{hub.url}>; rel="hub", <{header_feed}>; rel="self"'},
    )
    atom_feed = world.feed("/atom.xml")
    json_feed = world.site.url("/feed.json")
    world.site.set(
        "/feed.json",
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "Harbour news",
                "feed_url": json_feed,
                "hubs": [{"type": "WebSub", "url": hub.url}],
                "items": [],
            }
        ).encode(),
        "application/feed+json",
    )
    plain = world.feed("/plain.xml", hub="")  # names no hub
    with Warehouse(world.db) as wh:
        wh.add_feeds([header_feed, json_feed])
    service = world.service()
    try:
        service.tick()
        service.wait_idle()
        verifications = hub.wait_verifications(3)
        service.wait_idle()  # the verified subscriptions saved
    finally:
        service.stop()
    topics = sorted(r["hub.topic"] for r in hub.requests)
    assert topics == sorted([header_feed, atom_feed, json_feed])
    for request in hub.requests:
        assert request["hub.mode"] == "subscribe" and request["hub.verify"] == "async"
        assert request["hub.callback"].startswith(world.settings.websub_callback_url + "/websub/")
        assert request["hub.lease_seconds"] == str(world.settings.websub_lease_seconds)
    secrets = {r["hub.secret"] for r in hub.requests}
    assert len(secrets) == 3 and all(len(s) == 64 for s in secrets)  # one random each
    assert all(v.status == 200 and v.echoed for v in verifications)
    for url in (header_feed, atom_feed, json_feed):
        sub = world.subscription(url)
        assert (sub.state, sub.hub, sub.topic) == ("verified", hub.url, url)
        assert sub.expires_at == sub.verified_at + timedelta(seconds=hub.lease_cap)
    assert world.subscription(plain).state == "none"
    with Warehouse(world.db) as wh:
        status = {
            h["url"]: h["hub_status"]
            for h in wh.feed_health(push_polling(world.settings).silent_after)
        }
    assert status[atom_feed] == "healthy" and status[plain] == "none"


def test_a_wrong_topic_is_refused_at_verification(world: World) -> None:
    url = world.feed("/atom.xml")
    world.hub.wrong_topic = world.site.url("/someone-elses.xml")
    service = world.service()
    try:
        service.tick()
        service.wait_idle()
        (verification,) = world.hub.wait_verifications(1)
        service.wait_idle()
        # An unknown callback is refused too, whatever the topic.
        unknown = httpx.get(
            world.settings.websub_callback_url + "/websub/notatokenofours",
            params={"hub.mode": "subscribe", "hub.topic": url, "hub.challenge": "c"},
        )
    finally:
        service.stop()
    assert (verification.status, verification.echoed) == (404, False)
    assert unknown.status_code == 404 and unknown.text != "c"
    assert world.hub.active(url) == []
    assert world.subscription(url).state == "pending"


def test_signed_push_lands_and_bad_pushes_write_nothing(world: World) -> None:
    signed_push_and_bad_ones(world)


def test_signed_push_on_a_lake(lake_world: World) -> None:
    signed_push_and_bad_ones(lake_world)


def signed_push_and_bad_ones(world: World) -> None:
    url = world.feed("/atom.xml")
    service = world.service()
    try:
        service.tick()
        service.wait_idle()
        world.hub.wait_verifications(1)
        service.wait_idle()
        sent = datetime.now(UTC)
        assert world.hub.publish(url, atom(url, world.hub.url, range(1, 3))) == [202]
        service.wait_idle()
        # A figure, not a check (scripts/push_latency.py measures p50/p90): hub POST to rows.
        landed = world.scalar("SELECT max(fetched_at) FROM articles") - sent
        print(f"signed push to rows: {landed.total_seconds():.2f} s")
        articles = world.scalar("SELECT count(*) FROM articles")
        runs = world.scalar("SELECT count(*) FROM runs")

        # Tampered, unsigned, signed with a method nobody uses: refused, nothing written.
        more = atom(url, world.hub.url, range(3, 6))
        assert world.hub.publish(url, more, tamper=True) == [403]
        assert world.hub.publish(url, more, method=None) == [403]
        big = atom(url, world.hub.url, range(3, 6)) + b"<!--" + b"x" * MAX_PUSH + b"-->"
        assert world.hub.publish(url, big) == [413]
        service.wait_idle()
    finally:
        service.stop()
    assert articles == 2
    with Warehouse(world.db) as wh:
        rows = wh.sql("SELECT arrived_via, first_seen_at IS NOT NULL FROM articles")
        modes = wh.sql("SELECT mode, status FROM runs")
        fetches = wh.sql("SELECT kind, status FROM fetches WHERE kind = 'push'")
        entries = wh.sql("SELECT count(*) FROM feed_entries")[0][0]
        after_runs = wh.sql("SELECT count(*) FROM runs")[0][0]
        after_articles = wh.sql("SELECT count(*) FROM articles")[0][0]
    assert rows == [("push", True), ("push", True)]
    assert modes == [("push", "completed")] and fetches == [("push", 200)]
    assert (entries, after_articles, after_runs) == (2, articles, runs)  # nothing from the bad
    sub = world.subscription(url)
    assert (sub.pushes_received, sub.pushes_rejected) == (1, 3)
    assert sub.last_push_at is not None
    assert list((world.settings.archive_path / "websub-inbox").glob("*")) == []


def test_lease_renewal_on_a_fake_clock_and_a_failed_renewal(world: World) -> None:
    world.hub.lease_cap = 100
    url = world.feed("/atom.xml")
    clock = FakeClock(datetime.now(UTC))
    service = world.service(clock)
    try:
        service.tick()
        service.wait_idle()
        world.hub.wait_verifications(1)
        service.wait_idle()
        first = world.subscription(url)
        clock.advance(49)
        service.tick()
        service.wait_idle()
        assert len(world.hub.requests) == 1  # not yet half the lease
        renewed_at = clock.advance(2)
        service.tick()
        service.wait_idle()
        world.hub.wait_verifications(2)
        service.wait_idle()
        renewed = world.subscription(url)
        assert len(world.hub.requests) == 2
        assert world.hub.requests[1]["hub.callback"] == world.hub.requests[0]["hub.callback"]
        assert (renewed.state, renewed.verified_at) == ("verified", renewed_at)
        assert renewed.expires_at == renewed_at + timedelta(seconds=100)
        assert first.verified_at == renewed_at - timedelta(seconds=51)

        world.hub.refuse_requests = True
        clock.advance(51)
        service.tick()
        service.wait_idle()
    finally:
        service.stop()
    broken = world.subscription(url)
    assert broken.state == "failed" and "HTTP 500" in (broken.last_error or "")
    with Warehouse(world.db) as wh:
        wh.execute("UPDATE feeds SET next_fetch_at = now() - INTERVAL 1 MINUTE")
        due = wh.feed_states(due=True, pushed=push_polling(world.settings))
    assert [f.url for f in due] == [url]  # back to normal polling


def test_a_silent_hub_returns_its_feed_to_polling(world: World) -> None:
    """Two subscribed feeds, both due by their schedule: the real scheduled ingest run fetches
    the one whose hub went silent (verified 3 days ago, no push since) and leaves the other,
    whose subscription is healthy and that was polled within the day, to its pushes."""
    world.hub.lease_cap = 10 * 86400
    healthy = world.feed("/healthy.xml", items=range(1, 2))
    silent = world.feed("/silent.xml", items=range(2, 3))
    service = world.service(FakeClock(datetime.now(UTC) - timedelta(days=3)))
    try:
        with Warehouse(world.db) as wh:  # only the silent one is subscribed 3 days ago
            wh.execute("UPDATE feeds SET active = url = ?", [silent])
        service.tick()
        service.wait_idle()
        world.hub.wait_verifications(1)
        service.wait_idle()
    finally:
        service.stop()
    service = world.service()
    try:
        with Warehouse(world.db) as wh:
            wh.execute("UPDATE feeds SET active = url = ?", [healthy])
        service.tick()
        service.wait_idle()
        world.hub.wait_verifications(2)
        service.wait_idle()
    finally:
        service.stop()
    ingest(feed_urls=[healthy, silent], warehouse=str(world.db))  # polled once, by hand
    with Warehouse(world.db) as wh:
        wh.execute("UPDATE feeds SET active = TRUE, next_fetch_at = now() - INTERVAL 1 MINUTE")
        status = {
            h["url"]: h["hub_status"]
            for h in wh.feed_health(push_polling(world.settings).silent_after)
        }
    assert status == {healthy: "healthy", silent: "silent"}
    before = world.site.hits
    counts = ingest(warehouse=str(world.db), mode="scheduled")
    after = world.site.hits
    assert counts["feeds_total"] == 1
    assert after["/silent.xml"] == before["/silent.xml"] + 1
    assert after["/healthy.xml"] == before["/healthy.xml"]


def test_a_hub_at_a_private_address_is_refused(world: World) -> None:
    """The allow-list holds 127.0.0.1 only: a hub on 10.x or another loopback address is
    refused by the fetcher's guard before any connection, and its feed keeps being polled."""
    private = world.feed("/private.xml", hub="http://10.20.30.40/hub")
    loopback = world.feed("/loopback.xml", hub="http://127.0.0.2:9/hub")
    service = world.service()
    try:
        service.tick()
        service.wait_idle()
    finally:
        service.stop()
    for url, address in ((private, "10.20.30.40"), (loopback, "127.0.0.2")):
        sub = world.subscription(url)
        assert sub.state == "failed"
        assert f"refused private address {address}" in (sub.last_error or "")
    assert world.hub.requests == []


def test_a_spooled_push_is_loaded_after_a_restart_and_twice_stores_nothing_twice(
    world: World,
) -> None:
    """A push acknowledged but not loaded (the process killed before its run) waits in the
    inbox; the next start loads it. The same body spooled twice gives the rows of one."""
    from pipeline.websub_callback import spool_push

    url = world.feed("/atom.xml")
    service = world.service()
    try:
        service.tick()
        service.wait_idle()
        world.hub.wait_verifications(1)
        service.wait_idle()
    finally:
        service.stop()
    sub = world.subscription(url)
    inbox = world.settings.archive_path / "websub-inbox"
    body = atom(url, world.hub.url, range(1, 3))
    for _ in range(2):
        spool_push(inbox, sub, body, "application/atom+xml", datetime.now(UTC))
    assert len(list(inbox.glob("*.json"))) == 2
    service = world.service()
    try:
        service.wait_idle()
    finally:
        service.stop()
    with Warehouse(world.db) as wh:
        runs = wh.sql("SELECT mode, status FROM runs ORDER BY run_id")
        articles = wh.sql("SELECT count(*), count(DISTINCT url) FROM articles")[0]
        entries = wh.sql("SELECT count(*) FROM feed_entries")[0][0]
    assert runs == [("push", "completed"), ("push", "completed")]
    assert articles == (2, 2) and entries == 2
    assert list(inbox.glob("*")) == []
    assert world.subscription(url).pushes_received == 2


def test_unloadable_pushes_go_to_failed_and_a_push_queued_twice_loads_once(world: World) -> None:
    """A spooled push whose feed was removed, one without its body and one with garbled
    metadata are moved to the inbox's failed/ folder at start (not retried at every start);
    a push queued twice (the start-up scan and the endpoint) is loaded once."""
    from flows.websub import websub_push
    from pipeline.websub import new_subscription
    from pipeline.websub_callback import spool_push

    url = world.feed("/atom.xml")
    feed_id = world.scalar("SELECT feed_id FROM feeds")
    inbox = world.settings.archive_path / "websub-inbox"
    now = datetime.now(UTC)
    sub = new_subscription(feed_id, world.hub.url, url, 100, now)
    good = spool_push(
        inbox, sub, atom(url, world.hub.url, range(1, 3)), "application/atom+xml", now
    )
    assert websub_push(spool=str(good.spool), warehouse=str(world.db))["articles_new"] == 2
    assert websub_push(spool=str(good.spool), warehouse=str(world.db)) == {}

    gone = new_subscription(feed_id + 1000, world.hub.url, url, 100, now)
    removed = spool_push(inbox, gone, atom(url, None, range(3, 4)), "application/atom+xml", now)
    bodyless = spool_push(inbox, sub, atom(url, None, range(4, 5)), "application/atom+xml", now)
    bodyless.body_path.unlink()
    (inbox / "garbled.json").write_text("{not json", "utf-8")
    for _ in range(2):  # the second start finds nothing left to retry
        service = world.service()
        try:
            service.wait_idle()
        finally:
            service.stop()
    assert sorted(p.name for p in inbox.iterdir()) == ["failed"]
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == sorted(
        [removed.spool.name, removed.body_path.name, bodyless.spool.name, "garbled.json"]
    )
    assert world.scalar("SELECT count(*) FROM runs") == 1
    assert world.scalar("SELECT count(*) FROM articles") == 2


def test_a_signed_push_that_does_not_parse_is_a_rejected_push(world: World) -> None:
    """Loaded through the real flow: counted in pushes_rejected, the feed neither failing nor
    rescheduled."""
    from flows.websub import websub_push
    from pipeline.websub import new_subscription
    from pipeline.websub_callback import spool_push

    url = world.feed("/atom.xml")
    ingest(feed_urls=[url], warehouse=str(world.db))
    feed_id = world.scalar("SELECT feed_id FROM feeds")
    now = datetime.now(UTC)
    sub = new_subscription(feed_id, world.hub.url, url, 100, now)
    with Warehouse(world.db) as wh:
        wh.save_subscriptions([sub], now)
        before = wh.sql("SELECT consecutive_failures, next_fetch_at, last_error FROM feeds")
    inbox = world.settings.archive_path / "websub-inbox"
    push = spool_push(inbox, sub, b"\x00 not a feed at all", "application/atom+xml", now)
    websub_push(spool=str(push.spool), warehouse=str(world.db))
    with Warehouse(world.db) as wh:
        after = wh.sql("SELECT consecutive_failures, next_fetch_at, last_error FROM feeds")
    assert after == before and before[0][0] == 0
    got = world.subscription(url)
    assert (got.pushes_received, got.pushes_rejected, got.last_push_at) == (0, 1, None)


def test_a_failed_job_logs_one_line(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """A job the warehouse refuses (a subscription without a state: NOT NULL) is logged as one
    line, no traceback, and the worker goes on."""
    from pipeline.websub import Subscription

    url = world.feed("/atom.xml")
    feed_id = world.scalar("SELECT feed_id FROM feeds")
    broken = Subscription(feed_id, None, None, None, None, None)  # type: ignore[arg-type]
    service = world.service()
    try:
        with caplog.at_level(logging.INFO, logger="news_ingest.websub"):
            service.jobs.put(("save", [broken]))
            service.wait_idle()
            service.tick()
            service.wait_idle()
            world.hub.wait_verifications(1)
            service.wait_idle()
    finally:
        service.stop()
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.exc_info is None and "\n" not in error.getMessage()
    assert error.getMessage().startswith("WebSub save failed: ")
    assert world.subscription(url).state == "verified"  # the worker went on


def test_maintenance_uses_the_silent_after_setting(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub verified 3 hours ago without a push since is silent after an hour's setting."""
    from flows.ingest import maintenance
    from pipeline.websub import new_subscription

    url = world.feed("/atom.xml")
    feed_id = world.scalar("SELECT feed_id FROM feeds")
    then = datetime.now(UTC) - timedelta(hours=3)
    sub = new_subscription(feed_id, world.hub.url, url, 10 * 86400, then)
    verified = replace(
        sub, state="verified", verified_at=then, expires_at=then + timedelta(days=10)
    )
    with Warehouse(world.db) as wh:
        wh.save_subscriptions([verified], then)
    monkeypatch.setenv("NEWS_INGEST_WEBSUB_SILENT_AFTER", "3600")
    monkeypatch.setenv("NEWS_INGEST_SEARCH_INDEX", "false")
    assert maintenance(warehouse=str(world.db))["hubs_silent"] == 1
    monkeypatch.setenv("NEWS_INGEST_WEBSUB_SILENT_AFTER", str(86400))
    assert maintenance(warehouse=str(world.db))["hubs_silent"] == 0
