"""Feeds that announce an edit: the page of a known entry is fetched again (a new version,
if it changed), and the same input twice changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.changes import body_hash
from pipeline.feeds import parse_feed
from pipeline.jsonfeed import parse_json_feed
from pipeline.records import Entry, FeedState, PageResult
from pipeline.store import Warehouse
from tests.test_store import article, ok_result, page_fetch

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LINK = "https://news.example/2026/12/tram"


@pytest.fixture
def stored(warehouse_at: Any) -> Iterator[tuple[Warehouse, FeedState, Entry]]:
    """A warehouse holding one feed entry whose page was fetched into an article."""
    with Warehouse(warehouse_at) as wh:
        (state,) = wh.feed_states(["https://news.example/feed.xml"])
        first = Entry(
            guid="tram-1",
            link=LINK,
            title="Council expands tram",
            summary="The council voted.",
            published_at=T0,
        )
        run_id = wh.start_run()
        wh.record_feed_results(run_id, [ok_result(state, first)])
        (page,) = wh.pending_pages()
        wh.record_page_results(run_id, [PageResult(page, page_fetch(LINK), article(LINK))])
        assert wh.pending_pages() == []
        yield wh, state, first


def feed_again(wh: Warehouse, state: FeedState, e: Entry) -> int:
    counts = wh.record_feed_results(wh.start_run(), [ok_result(state, e)])
    return counts["entries_changed"]


@pytest.mark.parametrize(
    "change",
    [
        {"published_at": T0 + timedelta(hours=3)},  # a later pubDate
        {"updated_at": T0 + timedelta(hours=1)},  # atom:updated / dc:modified appeared
        {"title": "Council votes for a bigger tram network"},
        {"summary": "The council voted. Correction: the cost was misstated."},
    ],
    ids=["later-pubDate", "updated", "title", "summary"],
)
def test_a_change_signal_fetches_the_page_again_once(
    stored: tuple[Warehouse, FeedState, Entry], change: dict[str, object]
) -> None:
    wh, state, first = stored
    changed = replace(first, **change)  # type: ignore[arg-type]
    assert feed_again(wh, state, changed) == 1
    (page,) = wh.pending_pages()
    assert page.article_id is not None and page.url == LINK
    # The same input again changes nothing more.
    assert feed_again(wh, state, changed) == 0
    assert len(wh.pending_pages()) == 1


@pytest.mark.parametrize(
    "same",
    [
        {},
        {"published_at": T0 - timedelta(hours=1)},  # an earlier pubDate is no edit
        {"title": "  Council expands tram  "},  # whitespace around the title
        {"title": None, "summary": None},  # a listing without them
    ],
    ids=["identical", "earlier-pubDate", "whitespace", "missing"],
)
def test_no_signal_no_fetch(
    stored: tuple[Warehouse, FeedState, Entry], same: dict[str, object]
) -> None:
    wh, state, first = stored
    assert feed_again(wh, state, replace(first, **same)) == 0  # type: ignore[arg-type]
    assert wh.pending_pages() == []


def test_the_signal_is_cleared_by_the_fetch(stored: tuple[Warehouse, FeedState, Entry]) -> None:
    wh, state, first = stored
    assert feed_again(wh, state, replace(first, published_at=T0 + timedelta(days=1))) == 1
    (page,) = wh.pending_pages()
    new = replace(article(LINK), text="Body text, edited.", content_hash="hash-edited")
    wh.record_page_results(wh.start_run(), [PageResult(page, page_fetch(LINK), new)])
    assert wh.pending_pages() == []
    assert wh.sql("SELECT max(version) FROM article_versions")[0][0] == 2


@pytest.mark.parametrize("extracted", ["nothing", "feed-fallback"])
def test_a_failed_extraction_keeps_the_stored_body_hash(
    stored: tuple[Warehouse, FeedState, Entry], extracted: str
) -> None:
    """The signalled page is fetched but nothing is extracted from it: its bytes must not
    become the revisit's body hash, or the next revisit would call them the same body and
    never extract them again."""
    wh, state, first = stored
    before = wh.sql("SELECT etag, last_modified, body_hash FROM article_revisits")
    assert before[0][2] is not None
    assert feed_again(wh, state, replace(first, title="Council votes for a bigger tram")) == 1
    (page,) = wh.pending_pages()
    fetch = replace(
        page_fetch(LINK),
        body=b"<html><p>Edited, in a layout the extractor cannot read</p></html>",
        headers={"content-type": "text/html", "etag": '"v2"'},
    )
    fallback = replace(article(LINK), source="feed") if extracted == "feed-fallback" else None
    wh.record_page_results(wh.start_run(), [PageResult(page, fetch, fallback)])
    assert wh.sql("SELECT etag, last_modified, body_hash FROM article_revisits") == before
    assert before[0][2] != body_hash(fetch.body)


def test_a_new_article_from_the_feed_alone_gets_no_body_hash(warehouse_at: Any) -> None:
    with Warehouse(warehouse_at) as wh:
        (state,) = wh.feed_states(["https://news.example/feed.xml"])
        run_id = wh.start_run()
        wh.record_feed_results(run_id, [ok_result(state, Entry(guid="t", link=LINK))])
        (page,) = wh.pending_pages()
        fallback = replace(article(LINK), source="feed")
        wh.record_page_results(run_id, [PageResult(page, page_fetch(LINK), fallback)])
        assert wh.sql("SELECT body_hash, watched FROM article_revisits") == [(None, True)]


RSS = """<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:dcterms="http://purl.org/dc/terms/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>t</title><link>https://news.example/</link>
<item><guid>a</guid><link>https://news.example/a</link>
  <pubDate>Tue, 01 Dec 2026 09:00:00 GMT</pubDate>
  <dc:modified>2026-12-01T11:00:00Z</dc:modified></item>
<item><guid>b</guid><link>https://news.example/b</link>
  <pubDate>Tue, 01 Dec 2026 09:00:00 GMT</pubDate>
  <atom:updated>2026-12-01T12:00:00Z</atom:updated></item>
<item><guid>c</guid><link>https://news.example/c</link>
  <pubDate>Tue, 01 Dec 2026 09:00:00 GMT</pubDate>
  <dcterms:modified>2026-12-01T13:00:00Z</dcterms:modified></item>
<item><guid>d</guid><link>https://news.example/d</link>
  <pubDate>Tue, 01 Dec 2026 09:00:00 GMT</pubDate></item>
</channel></rss>"""


def test_modified_dates_inside_rss_are_read_as_updated() -> None:
    feed = parse_feed(RSS.encode(), "https://news.example/feed.xml")
    updated = {(e.link or "")[-1]: e.updated_at for e in feed.entries}
    assert updated == {
        "a": datetime(2026, 12, 1, 11, tzinfo=UTC),
        "b": datetime(2026, 12, 1, 12, tzinfo=UTC),
        "c": datetime(2026, 12, 1, 13, tzinfo=UTC),
        "d": None,  # RSS 2.0's pubDate alone is no updated date
    }


def test_json_feed_date_modified_is_updated() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1",'
        b' "url": "https://news.example/1", "date_published": "2026-12-01T09:00:00Z",'
        b' "date_modified": "2026-12-01T10:30:00Z", "content_text": "x"}]}'
    )
    feed = parse_json_feed(body, "https://news.example/feed.json")
    assert feed.entries[0].updated_at == T0 + timedelta(minutes=90)
