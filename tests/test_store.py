"""The DuckDB warehouse against real database files: migrations, feed registry, batch loads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.records import Article, Entry, FeedState, Fetch, ParsedFeed
from pipeline.store import (
    MAX_PAGE_ATTEMPTS,
    FeedResult,
    PageResult,
    PendingPage,
    Warehouse,
    WarehouseError,
    name_key,
)
from pipeline.store import articles as store_articles
from pipeline.store.connection import WarehouseConnection
from pipeline.urls import url_key

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


# -- record builders ----------------------------------------------------------------------------


def feed_fetch(url: str, status: int | None = 200, *, error: str | None = None,
               headers: dict[str, str] | None = None,
               redirects: list[tuple[int, str]] | None = None,
               final_url: str | None = None, feed_id: int | None = None) -> Fetch:
    redirects = redirects or []
    return Fetch(
        url=url, kind="feed", started_at=T0, status=status, error=error,
        final_url=final_url or (redirects[-1][1] if redirects else url),
        body=b"<rss/>" if status == 200 else b"", headers=headers or {},
        redirects=redirects, feed_id=feed_id, elapsed_ms=12,
    )


def page_fetch(url: str, status: int | None = 200, *, error: str | None = None,
               final_url: str | None = None,
               redirects: list[tuple[int, str]] | None = None) -> Fetch:
    return Fetch(
        url=url, kind="page", started_at=T0, status=status, error=error,
        final_url=final_url or url, body=b"<html/>" if status == 200 else b"",
        headers={"content-type": "text/html"}, redirects=redirects or [],
    )


def entry(guid: str, link: str | None, **kw: object) -> Entry:
    return Entry(guid=guid, link=link, title=f"Title {guid}", summary="summary", **kw)  # type: ignore[arg-type]


def parsed(*entries: Entry, title: str | None = "A feed") -> ParsedFeed:
    return ParsedFeed(title=title, site_url="https://example.com/", entries=list(entries),
                      format="rss20", ttl_minutes=30)


def article(url: str, canonical: str | None = None, **kw: object) -> Article:
    canonical = canonical or url
    return Article(
        url=url, canonical_url=canonical, url_key=url_key(canonical), title="Headline",
        text="Body text.", content_hash=f"hash-{url_key(canonical)}",
        extractor_version="test-1", provenance={"title": "page"}, **kw,  # type: ignore[arg-type]
    )


def ok_result(state: FeedState, *entries: Entry, headers: dict[str, str] | None = None,
              **fetch_kw: object) -> FeedResult:
    fetch = feed_fetch(state.url, headers=headers, feed_id=state.feed_id, **fetch_kw)  # type: ignore[arg-type]
    return FeedResult(feed=state, fetch=fetch, parsed=parsed(*entries))


def scalar(wh: Warehouse, sql: str, params: list[object] | None = None) -> object:
    return wh.sql(sql, params or [])[0][0]


def feed_row(wh: Warehouse, feed_id: int) -> dict[str, object]:
    names, rows = wh.query("SELECT * FROM feeds WHERE feed_id = ?", [feed_id])
    return dict(zip(names, rows[0], strict=True))


@pytest.fixture
def wh(warehouse_at: Any):  # type: ignore[no-untyped-def]
    """A new warehouse on each backend: a DuckDB file, lakes on SQLite and PostgreSQL."""
    with Warehouse(warehouse_at) as warehouse:
        yield warehouse


def one_feed(wh: Warehouse, url: str = "https://example.com/feed.xml") -> FeedState:
    (state,) = wh.feed_states([url])
    return state


# -- migrations ---------------------------------------------------------------------------------


def test_fresh_file_records_every_migration_once(tmp_path: Path) -> None:
    # File-only: it checks the file (and its folder) appear; for lakes the same records are
    # checked by tests/test_lake_migrations.py and test_store_package's data migration test.
    path = tmp_path / "sub" / "wh.duckdb"
    expected = [(m.version, m.name) for m in Warehouse.migrations()]
    assert expected and expected[0] == (1, "initial")
    with Warehouse(path) as wh:
        rows = wh.sql(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        )
        assert rows == expected
    assert path.exists()


def test_reopen_applies_nothing(warehouse_at: Any) -> None:
    path = warehouse_at
    with Warehouse(path) as wh:
        wh.add_feeds(["https://example.com/feed"])
    with Warehouse(path) as wh:
        assert wh.migrate() == []
        assert scalar(wh, "SELECT count(*) FROM schema_migrations") == len(Warehouse.migrations())
        assert scalar(wh, "SELECT count(*) FROM feeds") == 1


def test_views_exist(wh: Warehouse) -> None:
    views = {r[0] for r in wh.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal")}
    assert {"articles_per_site_day", "feed_status", "article_details"} <= views
    for view in ("articles_per_site_day", "feed_status", "article_details"):
        assert wh.query(f"SELECT * FROM {view}")[1] == []


def test_read_only_open_of_missing_file(tmp_path: Path) -> None:
    # File-only: a missing file; a lake's missing catalog is tests/test_lake_attach.py's.
    path = tmp_path / "absent.duckdb"
    with pytest.raises(WarehouseError) as info:
        Warehouse(path, read_only=True)
    assert str(path) in str(info.value)
    assert "no warehouse" in str(info.value)
    assert not path.exists()


def test_read_only_open_sees_data(warehouse_at: Any) -> None:
    path = warehouse_at
    with Warehouse(path) as wh:
        wh.add_feeds(["https://example.com/feed"])
    with Warehouse(path, read_only=True) as ro:
        assert ro.counts()["feeds"] == 1


def test_open_while_another_process_holds_the_file(tmp_path: Path) -> None:
    # File-only: DuckDB's one-process file lock; a lake has many writers.
    path = tmp_path / "wh.duckdb"
    with Warehouse(path):
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time, duckdb
            con = duckdb.connect({str(path)!r})
            print("locked", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseError) as info:
            Warehouse(path)
        message = str(info.value)
        assert "\n" not in message
        assert "another" in message and "process" in message
        assert str(path) in message
    finally:
        holder.kill()
        holder.wait(timeout=30)
    # Once the other process is gone the file opens again.
    deadline = time.monotonic() + 10
    while True:
        try:
            with Warehouse(path) as wh:
                assert wh.migrate() == []
            break
        except WarehouseError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# -- feed registry ------------------------------------------------------------------------------


def test_add_feeds_dedupes_and_keeps_titles(wh: Warehouse) -> None:
    urls = ["https://a.example/feed", "https://b.example/rss", "https://a.example/feed"]
    assert wh.add_feeds(urls, ["A feed", "B feed", "A again"]) == 2
    assert wh.add_feeds(["https://b.example/rss", "https://c.example/atom"], [None, "C"]) == 1
    assert wh.add_feeds([]) == 0
    assert wh.add_feeds(["  ", ""]) == 0
    titles = {f["url"]: f["title"] for f in wh.list_feeds()}
    assert titles == {
        "https://a.example/feed": "A feed",
        "https://b.example/rss": "B feed",
        "https://c.example/atom": "C",
    }


def test_add_feeds_strips_urls_and_keeps_their_titles(wh: Warehouse) -> None:
    assert wh.add_feeds(["  https://a.example/feed\n"], ["A feed"]) == 1
    feeds = [(f["url"], f["title"]) for f in wh.list_feeds()]
    assert feeds == [("https://a.example/feed", "A feed")]


def test_feed_states_registers_unknown_urls(wh: Warehouse) -> None:
    wh.add_feeds(["https://a.example/feed"])
    states = wh.feed_states(["https://a.example/feed", "https://new.example/feed"])
    assert [s.url for s in states] == ["https://a.example/feed", "https://new.example/feed"]
    assert all(isinstance(s.feed_id, int) for s in states)
    assert len({s.feed_id for s in states}) == 2
    assert wh.counts()["feeds"] == 2
    assert [s.url for s in wh.feed_states([" https://a.example/feed\n"])] == [
        "https://a.example/feed",
    ]
    assert [s.url for s in wh.feed_states()] == [s.url for s in states]
    # Inactive feeds are not polled unless named.
    wh.execute("UPDATE feeds SET active = false WHERE url = 'https://a.example/feed'")
    assert [s.url for s in wh.feed_states()] == ["https://new.example/feed"]


# -- record_feed_results ------------------------------------------------------------------------


def test_fetch_rows_one_per_redirect_hop(wh: Warehouse) -> None:
    state = one_feed(wh, "http://example.com/feed")
    run_id = wh.start_run()
    fetch = feed_fetch(
        "http://example.com/feed", headers={"etag": '"v1"', "content-type": "application/rss+xml"},
        redirects=[(302, "https://example.com/feed"), (307, "https://www.example.com/feed")],
        feed_id=state.feed_id,
    )
    wh.record_feed_results(run_id, [FeedResult(feed=state, fetch=fetch, parsed=parsed())])
    rows = wh.sql(
        "SELECT url, final_url, kind, status, bytes, etag, content_type, run_id, feed_id"
        " FROM fetches ORDER BY fetch_id"
    )
    assert rows == [
        ("http://example.com/feed", "https://example.com/feed", "redirect", 302, 0, None, None,
         run_id, state.feed_id),
        ("https://example.com/feed", "https://www.example.com/feed", "redirect", 307, 0, None,
         None, run_id, state.feed_id),
        ("https://www.example.com/feed", "https://www.example.com/feed", "feed", 200, 6, '"v1"',
         "application/rss+xml", run_id, state.feed_id),
    ]
    # Temporary redirects do not move the feed.
    assert feed_row(wh, state.feed_id)["url"] == "http://example.com/feed"


def test_validators_stored_on_200_kept_on_304_and_failure(wh: Warehouse) -> None:
    state = one_feed(wh)
    run_id = wh.start_run()
    headers = {"etag": '"v1"', "last-modified": "Wed, 01 May 2024 10:00:00 GMT"}
    counts = wh.record_feed_results(run_id, [ok_result(state, headers=headers)])
    assert counts["feeds_fetched"] == 1
    row = feed_row(wh, state.feed_id)
    assert (row["etag"], row["last_modified"]) == ('"v1"', "Wed, 01 May 2024 10:00:00 GMT")
    assert (row["last_status"], row["last_error"], row["consecutive_failures"]) == (200, None, 0)
    assert (row["title"], row["format"], row["ttl_minutes"]) == ("A feed", "rss20", 30)
    assert row["last_fetched_at"] is not None

    # 304: nothing parsed, validators kept.
    not_modified = FeedResult(feed=state, fetch=feed_fetch(state.url, 304, feed_id=state.feed_id))
    counts = wh.record_feed_results(run_id, [not_modified])
    assert counts["feeds_not_modified"] == 1 and counts["feeds_fetched"] == 0
    row = feed_row(wh, state.feed_id)
    assert (row["etag"], row["last_modified"]) == ('"v1"', "Wed, 01 May 2024 10:00:00 GMT")
    assert (row["last_status"], row["consecutive_failures"], row["title"]) == (304, 0, "A feed")

    # Failures: validators kept, failures counted, error stored.
    for n in (1, 2):
        failed = FeedResult(
            feed=state,
            fetch=feed_fetch(state.url, None, error="timeout", feed_id=state.feed_id),
            error="timeout after 10s",
        )
        counts = wh.record_feed_results(run_id, [failed])
        assert counts["feeds_failed"] == 1
        row = feed_row(wh, state.feed_id)
        assert (row["etag"], row["last_modified"]) == ('"v1"', "Wed, 01 May 2024 10:00:00 GMT")
        assert row["consecutive_failures"] == n
        assert row["last_error"] == "timeout after 10s"
        assert row["last_status"] is None

    # A 200 whose body failed to parse is a failure too, and keeps the validators.
    broken = FeedResult(
        feed=state,
        fetch=feed_fetch(state.url, headers={"etag": '"v2"'}, feed_id=state.feed_id),
        error="not a feed",
    )
    wh.record_feed_results(run_id, [broken])
    row = feed_row(wh, state.feed_id)
    assert (row["etag"], row["consecutive_failures"], row["last_status"]) == ('"v1"', 3, 200)

    # Success resets the failures and clears the error; new validators replace the old.
    wh.record_feed_results(run_id, [ok_result(state, headers={"etag": '"v3"'})])
    row = feed_row(wh, state.feed_id)
    assert (row["etag"], row["last_modified"]) == ('"v3"', None)
    assert (row["consecutive_failures"], row["last_error"], row["last_status"]) == (0, None, 200)


def test_permanent_redirect_moves_the_feed(wh: Warehouse) -> None:
    state = one_feed(wh, "http://old.example/feed")
    run_id = wh.start_run()
    result = ok_result(state, redirects=[(301, "https://new.example/feed")])
    wh.record_feed_results(run_id, [result])
    assert feed_row(wh, state.feed_id)["url"] == "https://new.example/feed"
    assert [s.url for s in wh.feed_states()] == ["https://new.example/feed"]


def test_permanent_redirect_to_a_known_feed_leaves_the_url(wh: Warehouse) -> None:
    old, taken = wh.feed_states(["http://old.example/feed", "https://new.example/feed"])
    run_id = wh.start_run()
    result = ok_result(old, redirects=[(308, "https://new.example/feed")])
    counts = wh.record_feed_results(run_id, [result])
    assert counts["feeds_fetched"] == 1
    assert feed_row(wh, old.feed_id)["url"] == "http://old.example/feed"
    assert feed_row(wh, taken.feed_id)["url"] == "https://new.example/feed"


def test_two_feeds_moving_to_one_url_in_a_batch(wh: Warehouse) -> None:
    a, b = wh.feed_states(["http://a.example/feed", "http://b.example/feed"])
    run_id = wh.start_run()
    counts = wh.record_feed_results(run_id, [
        ok_result(a, entry("a1", "https://x.example/1"), redirects=[(301, "https://x.example/feed")]),
        ok_result(b, entry("b1", "https://x.example/1"), redirects=[(301, "https://x.example/feed")]),
    ])
    assert counts["feeds_fetched"] == 2 and counts["entries_new"] == 2
    assert feed_row(wh, a.feed_id)["url"] == "https://x.example/feed"
    assert feed_row(wh, b.feed_id)["url"] == "http://b.example/feed"


def test_permanent_redirect_of_a_failed_fetch_does_not_move(wh: Warehouse) -> None:
    state = one_feed(wh, "http://old.example/feed")
    run_id = wh.start_run()
    fetch = feed_fetch(state.url, 500, redirects=[(301, "https://new.example/feed")],
                       error="HTTP 500", feed_id=state.feed_id)
    wh.record_feed_results(run_id, [FeedResult(feed=state, fetch=fetch, error="HTTP 500")])
    row = feed_row(wh, state.feed_id)
    assert row["url"] == "http://old.example/feed"
    assert row["consecutive_failures"] == 1


def test_entries_inserted_once_per_feed_and_guid(wh: Warehouse) -> None:
    a, b = wh.feed_states(["https://a.example/feed", "https://b.example/feed"])
    run_id = wh.start_run()
    entries_a = [
        entry("g1", "https://a.example/1?utm_source=rss", authors=["Ann"], tags=["x"]),
        entry("g2", "https://a.example/2"),
        entry("g2", "https://a.example/2-duplicate-in-feed"),
        entry("g3", None),
    ]
    batch = [ok_result(a, *entries_a), ok_result(b, entry("g1", "https://b.example/1"))]
    counts = wh.record_feed_results(run_id, batch)
    assert counts["entries_seen"] == 5
    assert counts["entries_new"] == 4
    rows = wh.sql(
        "SELECT feed_id, entry_key, guid, link, link_key, authors, tags, article_id"
        " FROM feed_entries ORDER BY feed_id, entry_key"
    )
    # Feed a repeats guid g2 for two links: it is switched to link mode, so neither article is
    # lost or merged (its item without a link has no page to fetch and is left out).
    k1, k2, k3 = (url_key(f"https://a.example/{n}") for n in ("1", "2", "2-duplicate-in-feed"))
    assert rows == [
        (a.feed_id, f"link:{k1}", "g1", "https://a.example/1?utm_source=rss", k1, ["Ann"], ["x"],
         None),
        (a.feed_id, f"link:{k2}", "g2", "https://a.example/2", k2, [], [], None),
        (a.feed_id, f"link:{k3}", "g2", "https://a.example/2-duplicate-in-feed", k3, [], [], None),
        (b.feed_id, "g1", "g1", "https://b.example/1", url_key("https://b.example/1"), [], [],
         None),
    ]
    modes = dict(wh.sql("SELECT feed_id, guid_mode FROM feeds"))
    assert modes == {a.feed_id: "link", b.feed_id: "guid"}
    # The same batch again inserts nothing.
    again = wh.record_feed_results(run_id, batch)
    assert again["entries_new"] == 0
    assert wh.counts()["feed_entries"] == 4


def test_guid_changed_with_title_does_not_split_the_article(wh: Warehouse) -> None:
    (feed,) = wh.feed_states(["https://a.example/feed"])
    run_id = wh.start_run()
    wh.record_feed_results(run_id, [ok_result(feed, entry("g-old", "https://a.example/story"))])
    # The item comes back with a new guid (say the feed hashes its title) and the old one gone.
    counts = wh.record_feed_results(
        run_id, [ok_result(feed, entry("g-new", "https://a.example/story"))]
    )
    assert counts["entries_new"] == 0
    assert wh.counts()["feed_entries"] == 1
    assert scalar(wh, "SELECT guid_mode FROM feeds") == "link"
    assert "new guid" in scalar(wh, "SELECT guid_note FROM feeds")
    assert len(wh.pending_pages()) == 1


def test_one_link_under_two_guids_in_one_fetch_stays_in_guid_mode(wh: Warehouse) -> None:
    (feed,) = wh.feed_states(["https://a.example/feed"])
    run_id = wh.start_run()
    batch = [ok_result(feed, entry("g1", "https://a.example/s?utm_campaign=x"),
                       entry("g2", "https://a.example/s?utm_campaign=y"))]
    wh.record_feed_results(run_id, batch)
    wh.record_feed_results(run_id, batch)
    assert scalar(wh, "SELECT guid_mode FROM feeds") == "guid"
    assert wh.counts()["feed_entries"] == 2
    (page,) = wh.pending_pages()
    assert sorted(page.entry_refs) == [(feed.feed_id, "g1"), (feed.feed_id, "g2")]

def test_pending_pages_one_per_link_key_with_every_ref(wh: Warehouse) -> None:
    a, b = wh.feed_states(["https://a.example/feed", "https://b.example/feed"])
    run_id = wh.start_run()
    wh.record_feed_results(run_id, [
        ok_result(a, entry("a1", "https://news.example/story?utm_source=a&utm_medium=rss"),
                  entry("a2", "https://news.example/other")),
    ])
    wh.record_feed_results(run_id, [
        ok_result(b, entry("b1", "https://news.example/story?utm_campaign=b#top"),
                  entry("b2", None)),
    ])
    pages = wh.pending_pages()
    assert [p.link_key for p in pages] == [
        url_key("https://news.example/story"), url_key("https://news.example/other"),
    ]
    story = pages[0]
    assert isinstance(story, PendingPage)
    assert sorted(story.entry_refs) == sorted([(a.feed_id, "a1"), (b.feed_id, "b1")])
    # The first-seen entry stands for the page.
    assert story.entry.guid == "a1"
    assert story.url == "https://news.example/story?utm_source=a&utm_medium=rss"
    assert pages[1].entry_refs == [(a.feed_id, "a2")]
    assert [p.link_key for p in wh.pending_pages(limit=1)] == [
        url_key("https://news.example/story")
    ]

    # An entry already linked to an article is no longer pending.
    wh.execute("UPDATE feed_entries SET article_id = 99 WHERE guid = 'a2'")
    assert [p.link_key for p in wh.pending_pages()] == [url_key("https://news.example/story")]


# -- record_page_results ------------------------------------------------------------------------


def _setup_pending(wh: Warehouse, links: dict[str, str]) -> tuple[int, FeedState]:
    state = one_feed(wh)
    run_id = wh.start_run()
    wh.record_feed_results(run_id, [ok_result(state, *(entry(g, u) for g, u in links.items()))])
    return run_id, state


def _page(pages: list[PendingPage], key: str) -> PendingPage:
    return next(p for p in pages if p.link_key == url_key(key))


def test_record_page_results_new_articles_and_aliases(wh: Warehouse) -> None:
    run_id, state = _setup_pending(wh, {
        "g1": "https://news.example/a?utm_source=rss",
        "g2": "https://news.example/b",
    })
    pages = wh.pending_pages()
    page_a = _page(pages, "https://news.example/a")
    page_b = _page(pages, "https://news.example/b")
    art_a = article(
        "https://www.news.example/a-final", "https://news.example/canonical-a",
        authors=["Ann Smith", "  Ann   Smith ", "Bob"],
        categories=["World", "world"],
        tags=["Budget", " budget ", "Tax", ""],
        site_name="News",
    )
    art_b = article("https://news.example/b", tags=["BUDGET", "Spending"])
    results = [
        PageResult(page=page_a, fetch=page_fetch(
            page_a.url, final_url="https://www.news.example/a-final",
            redirects=[(301, "https://www.news.example/a-final")]), article=art_a),
        PageResult(page=page_b, fetch=page_fetch(page_b.url), article=art_b),
    ]
    counts = wh.record_page_results(run_id, results)
    assert counts == {"pages_fetched": 2, "pages_failed": 0, "articles_new": 2,
                      "articles_linked": 0, "articles_updated": 0, "fallbacks": 0,
                      "duplicates": 0}

    arts = wh.sql(
        "SELECT article_id, cluster_id, url, canonical_url, url_key, fetch_id, source, run_id"
        " FROM articles ORDER BY article_id"
    )
    assert len(arts) == 2
    for art_id, cluster_id, *_ in arts:
        assert cluster_id == art_id
    id_a, id_b = arts[0][0], arts[1][0]
    assert arts[0][2:5] == ("https://www.news.example/a-final", "https://news.example/canonical-a",
                           url_key("https://news.example/canonical-a"))
    assert arts[0][6:] == ("page", run_id)
    # The article's fetch is the final (non-redirect) fetch row.
    assert scalar(wh, "SELECT kind FROM fetches WHERE fetch_id = ?", [arts[0][5]]) == "page"
    assert scalar(wh, "SELECT count(*) FROM fetches WHERE kind = 'redirect'") == 1

    aliases = dict(wh.sql("SELECT url_key, article_id FROM article_urls"))
    assert aliases == {
        url_key("https://news.example/a"): id_a,
        url_key("https://www.news.example/a-final"): id_a,
        url_key("https://news.example/canonical-a"): id_a,
        url_key("https://news.example/b"): id_b,
    }

    linked = dict(wh.sql("SELECT guid, article_id FROM feed_entries"))
    assert linked == {"g1": id_a, "g2": id_b}
    assert wh.pending_pages() == []

    # Authors: whitespace-collapsed, deduped, in order.
    details = wh.sql(
        "SELECT article_id, authors, categories, tags FROM article_details ORDER BY article_id"
    )
    assert details[0][1] == ["Ann Smith", "Bob"]
    assert details[0][2] == ["World"]
    assert details[0][3] == ["Budget", "Tax"]
    assert details[1][1] is None or details[1][1] == []
    assert details[1][3] == ["Budget", "Spending"]  # same key as "Budget": one tag, first form
    assert wh.sql("SELECT name, key FROM tags ORDER BY key") == [
        ("Budget", "budget"), ("Spending", "spending"), ("Tax", "tax"),
    ]
    assert scalar(wh, "SELECT count(*) FROM authors") == 2
    assert scalar(wh, "SELECT count(*) FROM categories") == 1
    positions = wh.sql(
        "SELECT au.name, aa.position FROM article_authors aa JOIN authors au USING (author_id)"
        " ORDER BY aa.position"
    )
    assert [p[0] for p in positions] == ["Ann Smith", "Bob"]


def test_first_display_form_of_a_tag_wins_across_articles(wh: Warehouse) -> None:
    run_id, _ = _setup_pending(wh, {"g1": "https://n.example/1", "g2": "https://n.example/2"})
    pages = wh.pending_pages()
    p1, p2 = _page(pages, "https://n.example/1"), _page(pages, "https://n.example/2")
    results = [
        PageResult(page=p1, fetch=page_fetch(p1.url),
                   article=article(p1.url, tags=["Economy", "Budget"])),
        PageResult(page=p2, fetch=page_fetch(p2.url), article=article(p2.url, tags=["budget"])),
    ]
    wh.record_page_results(run_id, results)
    assert wh.sql("SELECT name FROM tags WHERE key = 'budget'") == [("Budget",)]
    # A later batch never renames a tag.
    run2, _ = _setup_pending(wh, {"g3": "https://n.example/3"})
    (p3,) = wh.pending_pages()
    wh.record_page_results(run2, [PageResult(page=p3, fetch=page_fetch(p3.url),
                                             article=article(p3.url, tags=["BUDGET"]))])
    assert wh.sql("SELECT name FROM tags WHERE key = 'budget'") == [("Budget",)]
    assert scalar(wh, "SELECT count(*) FROM article_tags t JOIN tags USING (tag_id)"
                      " WHERE key = 'budget'") == 3


def test_name_key() -> None:
    assert name_key("Budget") == name_key(" budget ") == name_key("BUDGET") == "budget"
    assert name_key("Climate   Change") == "climate change"
    assert name_key("ﬁnance") == "finance"  # NFKC folds the ligature


def test_canonical_match_links_to_existing_article(wh: Warehouse) -> None:
    run_id, state = _setup_pending(wh, {"g1": "https://news.example/story"})
    (page,) = wh.pending_pages()
    wh.record_page_results(run_id, [PageResult(page=page, fetch=page_fetch(page.url),
                                               article=article(page.url))])
    (article_id,) = wh.sql("SELECT article_id FROM articles")[0]

    # Another feed links the same story by a syndication URL; its page names the same canonical.
    (other,) = wh.feed_states(["https://other.example/feed"])
    wh.record_feed_results(run_id, [
        ok_result(other, entry("o1", "https://partner.example/syndicated/story")),
    ])
    (page2,) = wh.pending_pages()
    assert page2.entry_refs == [(other.feed_id, "o1")]
    dup = article("https://partner.example/syndicated/story", "https://news.example/story")
    counts = wh.record_page_results(run_id, [
        PageResult(page=page2, fetch=page_fetch(page2.url), article=dup),
    ])
    assert counts["articles_new"] == 0
    assert counts["articles_linked"] == 1
    assert wh.counts()["articles"] == 1
    assert scalar(wh, "SELECT article_id FROM feed_entries WHERE guid = 'o1'") == article_id
    assert scalar(
        wh, "SELECT article_id FROM article_urls WHERE url_key = ?",
        [url_key("https://partner.example/syndicated/story")],
    ) == article_id
    assert wh.pending_pages() == []

    # A third feed's entry whose link is a known alias is linked at feed time: no page fetch.
    (third,) = wh.feed_states(["https://third.example/feed"])
    counts = wh.record_feed_results(run_id, [
        ok_result(third, entry("t1", "https://partner.example/syndicated/story?fbclid=zz")),
    ])
    assert counts["articles_linked"] == 1
    assert scalar(wh, "SELECT article_id FROM feed_entries WHERE guid = 't1'") == article_id
    assert wh.pending_pages() == []


def test_same_article_twice_in_one_batch(wh: Warehouse) -> None:
    run_id, _ = _setup_pending(wh, {"g1": "https://n.example/x", "g2": "https://n.example/y"})
    pages = wh.pending_pages()
    results = [
        PageResult(page=p, fetch=page_fetch(p.url),
                   article=article(p.url, "https://n.example/canonical"))
        for p in pages
    ]
    counts = wh.record_page_results(run_id, results)
    assert (counts["articles_new"], counts["articles_linked"]) == (1, 1)
    assert scalar(wh, "SELECT count(DISTINCT article_id) FROM feed_entries") == 1
    assert scalar(wh, "SELECT count(*) FROM feed_entries WHERE article_id IS NULL") == 0


def test_fallback_article_counts(wh: Warehouse) -> None:
    run_id, _ = _setup_pending(wh, {"g1": "https://n.example/x"})
    (page,) = wh.pending_pages()
    fallback = article(page.url, source="feed", fallback_reason="HTTP 404")
    counts = wh.record_page_results(run_id, [PageResult(
        page=page, fetch=page_fetch(page.url, 404, error="HTTP 404"), article=fallback,
        error="HTTP 404",
    )])
    assert counts == {"pages_fetched": 0, "pages_failed": 1, "articles_new": 1,
                      "articles_linked": 0, "articles_updated": 0, "fallbacks": 1,
                      "duplicates": 0}
    assert scalar(wh, "SELECT source FROM articles") == "feed"
    # The failure is counted, but a 404 is permanent: the page is not tried again.
    assert wh.sql(
        "SELECT page_attempts, last_page_error, refetch FROM feed_entries"
    ) == [(1, "HTTP 404", False)]
    assert wh.pending_pages() == []


def test_failed_pages_retry_until_max_attempts(wh: Warehouse) -> None:
    a, b = wh.feed_states(["https://a.example/feed", "https://b.example/feed"])
    run_id = wh.start_run()
    wh.record_feed_results(run_id, [ok_result(a, entry("a1", "https://n.example/gone"))])
    wh.record_feed_results(run_id, [ok_result(b, entry("b1", "https://n.example/gone?utm_x=1"))])
    for attempt in range(1, MAX_PAGE_ATTEMPTS + 1):
        (page,) = wh.pending_pages()
        counts = wh.record_page_results(run_id, [PageResult(
            page=page, fetch=page_fetch(page.url, 404, error="HTTP 404"), error="HTTP 404",
        )])
        assert counts["pages_failed"] == 1 and counts["articles_new"] == 0
        rows = wh.sql(
            "SELECT page_attempts, last_page_error, article_id FROM feed_entries"
        )
        assert rows == [(attempt, "HTTP 404", None)] * 2
    assert wh.pending_pages() == []
    assert wh.counts()["articles"] == 0
    assert scalar(wh, "SELECT count(*) FROM fetches WHERE kind = 'page'") == MAX_PAGE_ATTEMPTS


def test_page_batch_is_one_transaction(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id, _ = _setup_pending(wh, {"g1": "https://n.example/1", "g2": "https://n.example/2"})
    pages = wh.pending_pages()
    before = wh.counts()
    results = [
        PageResult(page=pages[0], fetch=page_fetch(pages[0].url),
                   article=article(pages[0].url, tags=["T"], authors=["A"])),
        PageResult(page=pages[1], fetch=page_fetch(pages[1].url, 500, error="HTTP 500"),
                   error="HTTP 500"),
    ]

    def boom(db: WarehouseConnection, rows: object, articles: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_articles, "load_names", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        wh.record_page_results(run_id, results)
    assert wh.counts() == before
    assert scalar(wh, "SELECT count(*) FROM article_urls") == 0
    assert wh.sql("SELECT article_id, page_attempts FROM feed_entries") == [
        (None, 0), (None, 0),
    ]
    assert len(wh.pending_pages()) == 2

    # The connection is usable afterwards and the same batch then goes in whole.
    monkeypatch.undo()
    counts = wh.record_page_results(run_id, results)
    assert (counts["articles_new"], counts["pages_failed"]) == (1, 1)
    assert wh.counts()["tags"] == 1


def test_feed_batch_is_one_transaction(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    state = one_feed(wh)
    run_id = wh.start_run()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("load failed")

    monkeypatch.setattr(WarehouseConnection, "load", boom)
    with pytest.raises(RuntimeError):
        wh.record_feed_results(run_id, [ok_result(state, entry("g", "https://n.example/1"),
                                                  headers={"etag": "e"})])
    row = feed_row(wh, state.feed_id)
    assert (row["etag"], row["last_status"]) == (None, None)
    assert wh.counts()["fetches"] == 0 and wh.counts()["feed_entries"] == 0


# -- counts and runs ----------------------------------------------------------------------------


def test_counts_and_runs(wh: Warehouse) -> None:
    assert wh.counts() == {"feeds": 0, "feed_entries": 0, "articles": 0, "authors": 0,
                           "categories": 0, "tags": 0, "fetches": 0, "runs": 0}
    run_id = wh.start_run()
    assert isinstance(run_id, int)
    row = wh.sql("SELECT status, finished_at, started_at FROM runs")[0]
    assert row[0] == "running" and row[1] is None and row[2] is not None
    state = one_feed(wh)
    wh.record_feed_results(run_id, [ok_result(state, entry("g", "https://n.example/1"))])
    wh.finish_run(run_id, {"feeds_total": 1, "entries_new": 1, "not_a_column": 7})
    names, rows = wh.query(
        "SELECT status, feeds_total, entries_new, pages_fetched, error, finished_at IS NOT NULL"
        " AS done FROM runs WHERE run_id = ?", [run_id],
    )
    assert names == ["status", "feeds_total", "entries_new", "pages_fetched", "error", "done"]
    assert rows == [("completed", 1, 1, 0, None, True)]

    failed = wh.start_run()
    assert failed != run_id
    wh.finish_run(failed, {}, status="failed", error="boom")
    assert wh.query("SELECT status, error FROM runs WHERE run_id = ?", [failed])[1] == [
        ("failed", "boom"),
    ]
    counts = wh.counts()
    assert (counts["runs"], counts["feeds"], counts["feed_entries"], counts["fetches"]) == (
        2, 1, 1, 1,
    )


# -- near-duplicate clusters and versions ---------------------------------------------------------


def _story(seed: int, words: int = 120) -> str:
    return " ".join(f"s{seed}w{i}" for i in range(words))


def _texts_article(url: str, text: str) -> Article:
    art = article(url)
    art.text, art.content_hash = text, f"hash-of-{url}"
    return art


def _load_articles(wh: Warehouse, texts: dict[str, str]) -> dict[str, int]:
    run_id, _ = _setup_pending(wh, {f"g-{u}": u for u in texts})
    pages = wh.pending_pages()
    results = [
        PageResult(page=p, fetch=page_fetch(p.url), article=_texts_article(p.url, texts[p.url]))
        for p in pages
    ]
    wh.record_page_results(run_id, results)
    return dict(wh.sql("SELECT url, cluster_id FROM articles"))


def test_an_article_matching_two_stories_joins_them_into_the_earliest(wh: Warehouse) -> None:
    first = _load_articles(wh, {"https://a.example/1": _story(1), "https://b.example/2": _story(2)})
    assert first["https://a.example/1"] != first["https://b.example/2"]
    # A round-up that carries both stories whole: it contains each of them.
    both = _load_articles(wh, {"https://c.example/3": _story(1) + " " + _story(2)})
    earliest = min(first.values())
    assert set(both.values()) == {earliest}
    dup = wh.sql(
        "SELECT method, containment FROM article_duplicates WHERE article_id ="
        " (SELECT article_id FROM articles WHERE url = 'https://c.example/3')"
    )
    assert dup[0][0] == "near_duplicate" and dup[0][1] >= 0.8


def test_unrelated_articles_stay_apart(wh: Warehouse) -> None:
    clusters = _load_articles(wh, {f"https://a.example/{i}": _story(i) for i in range(5)})
    assert len(set(clusters.values())) == 5
    assert scalar(wh, "SELECT count(*) FROM article_duplicates") == 0
