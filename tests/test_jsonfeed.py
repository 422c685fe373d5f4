"""JSON Feed 1.0 and 1.1: our own parser (pipeline/jsonfeed.py), detection, broken feeds, the
real-world JSON Feeds of the shared corpus, and a JSON Feed through the real ingest flow."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.ingest import ingest
from pipeline import jsonfeed
from pipeline.errors import FailureKind, FeedError
from pipeline.feedlinks import feed_links
from pipeline.feeds import parse_feed
from pipeline.store import Warehouse
from tests.conftest import corpus_dir

BASE = "https://example.org/feed.json"
JSON_FEED_TYPE = "application/feed+json"

# The JSON Feed 1.1 spec's own examples (https://www.jsonfeed.org/version/1.1/), as given there,
# with the fields the spec lists filled in once each.
SPEC_SIMPLE = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "My Example Feed",
    "home_page_url": "https://example.org/",
    "feed_url": "https://example.org/feed.json",
    "items": [
        {
            "id": "2",
            "content_text": "This is a second item.",
            "url": "https://example.org/second-item",
        },
        {
            "id": "1",
            "content_html": "<p>Hello, world!</p>",
            "url": "https://example.org/initial-post",
        },
    ],
}
SPEC_FULL = {
    "version": "https://jsonfeed.org/version/1.1",
    "user_comment": "This feed allows you to read the posts from this site in any feed reader.",
    "title": "Example News",
    "home_page_url": "https://news.example.org/",
    "feed_url": "https://news.example.org/feed.json",
    "next_url": "https://news.example.org/feed.json?page=2",
    "language": "en-GB",
    "authors": [{"name": "Example Newsroom", "url": "https://news.example.org/about"}],
    "hubs": [
        {"type": "WebSub", "url": "https://hub.example.net/"},
        {"type": "rssCloud", "url": "https://cloud.example.net/"},
    ],
    "items": [
        {
            "id": "https://news.example.org/2026/12/03/budget",
            "url": "/2026/12/03/budget",
            "external_url": "https://gov.example/budget.pdf",
            "title": "Budget passes &amp; markets rise",
            "summary": "The budget passed on Thursday.",
            "content_html": '<p>The budget <a href="/glossary">passed</a>.</p>',
            "content_text": "The budget passed.",
            "image": "https://news.example.org/img/budget.jpg",
            "date_published": "2026-12-03T09:30:00+01:00",
            "date_modified": "2026-12-03T11:00:00Z",
            "authors": [{"name": "Jane Doe"}, {"name": "John Roe"}, {"name": "jane doe"}],
            "tags": ["Politics", "Economy", "politics", 7, None],
            "language": "en-GB",
        },
        {
            "id": 42,
            "external_url": "https://elsewhere.example/story",
            "title": "A link post",
            "content_text": "First paragraph.\n\nSecond <paragraph>.",
            "date_published": "2026-12-02T08:00:00Z",
            "attachments": [
                {"url": "https://news.example.org/a.mp3", "mime_type": "audio/mpeg"},
                {"url": "https://news.example.org/b.png", "mime_type": "image/png"},
            ],
        },
    ],
}
# JSON Feed 1.0 (still the most common in the wild): one `author` object, per item or feed.
FEED_10 = {
    "version": "https://jsonfeed.org/version/1",
    "title": "A micro blog",
    "home_page_url": "https://micro.example/",
    "author": {"name": "Manton", "url": "https://micro.example/"},
    "items": [
        {
            "id": "p1",
            "url": "https://micro.example/p1",
            "content_html": "<p>Hi</p>",
            "date_published": "2026-11-30T10:00:00-05:00",
        },
        {
            "id": "p2",
            "url": "https://micro.example/p2",
            "content_html": "<p>Yo</p>",
            "author": {"name": "Guest Writer"},
            "banner_image": "https://micro.example/b.jpg",
        },
    ],
}


def dump(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_spec_simple_example() -> None:
    feed = parse_feed(dump(SPEC_SIMPLE), BASE, {"content-type": JSON_FEED_TYPE})
    assert feed.format == "json11"
    assert feed.title == "My Example Feed" and feed.site_url == "https://example.org/"
    assert [e.guid for e in feed.entries] == ["2", "1"]
    assert feed.entries[0].content == "<p>This is a second item.</p>"
    assert feed.entries[1].content == "<p>Hello, world!</p>"
    assert feed.warning is None


def test_every_field_of_a_1_1_item() -> None:
    feed = parse_feed(dump(SPEC_FULL), "https://news.example.org/feed.json")
    first, second = feed.entries
    assert first.link == "https://news.example.org/2026/12/03/budget"  # url, made absolute
    assert first.title == "Budget passes & markets rise"
    assert first.summary == "The budget passed on Thursday."
    assert first.content is not None and first.content.startswith("<p>The budget")  # html wins
    assert first.published_at == datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    assert first.updated_at == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    assert first.authors == ["Jane Doe", "John Roe"]  # de-duplicated, case-insensitively
    assert first.tags == ["Politics", "Economy"]  # non-strings dropped
    assert first.image == "https://news.example.org/img/budget.jpg"
    # A numeric id is read as its text; an item without url links its external_url.
    assert second.guid == "42" and second.link == "https://elsewhere.example/story"
    assert second.content == "<p>First paragraph.</p><p>Second &lt;paragraph&gt;.</p>"
    assert second.image == "https://news.example.org/b.png"  # the image attachment
    assert second.authors == ["Example Newsroom"]  # the feed's authors, as the spec says
    assert second.updated_at is None
    assert feed.hubs == ["https://hub.example.net/", "https://cloud.example.net/"]
    assert feed.next_url == "https://news.example.org/feed.json?page=2"
    assert jsonfeed.json_feed_hubs(dump(SPEC_FULL)) == feed.hubs


def test_version_1_0_author_and_banner() -> None:
    feed = parse_feed(dump(FEED_10), BASE)
    assert feed.format == "json10"
    p1, p2 = feed.entries
    assert p1.authors == ["Manton"] and p2.authors == ["Guest Writer"]
    assert p1.published_at == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert p2.published_at is None and p2.image == "https://micro.example/b.jpg"


def test_date_modified_alone_is_the_publication_date_too() -> None:
    doc = {
        **SPEC_SIMPLE,
        "items": [{"id": "x", "url": "https://e.org/x", "date_modified": "2026-12-01T00:00:00Z"}],
    }
    (entry,) = parse_feed(dump(doc), BASE).entries
    assert entry.published_at == entry.updated_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_detected_by_content_whatever_the_content_type() -> None:
    for content_type in ("text/plain", "application/xml", "text/html", None):
        headers = {"content-type": content_type} if content_type else {}
        assert len(parse_feed(dump(SPEC_SIMPLE), BASE, headers).entries) == 2
    # A UTF-8 BOM and leading whitespace do not hide it.
    assert len(parse_feed(b"\xef\xbb\xbf \n" + dump(SPEC_SIMPLE), BASE).entries) == 2


def test_same_body_twice_parses_the_same() -> None:
    assert parse_feed(dump(SPEC_FULL), BASE) == parse_feed(dump(SPEC_FULL), BASE)


@pytest.mark.parametrize(
    ("body", "content_type", "message", "kind"),
    [
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id"',
            JSON_FEED_TYPE,
            "malformed JSON Feed: ",
            FailureKind.SOFT,
        ),
        (b"{not json at all", None, "malformed JSON Feed: ", FailureKind.SOFT),
        (b"<<<", JSON_FEED_TYPE, "malformed JSON Feed: ", FailureKind.SOFT),
        (
            b'{"status": "ok"}',
            None,
            "not a feed: got JSON that is not a JSON Feed",
            FailureKind.HARD,
        ),
        (
            b'["https://jsonfeed.org/version/1"]',
            None,
            "not a feed: got JSON an array",
            FailureKind.HARD,
        ),
        (
            b'{"version": "https://jsonfeed.org/version/1", "items": {"id": 1}}',
            None,
            "not a feed: JSON Feed items is an object",
            FailureKind.HARD,
        ),
        (
            b"[" * 100_000 + b"]" * 100_000,
            None,
            "malformed JSON Feed: nested too deeply",
            FailureKind.HARD,
        ),
    ],
)
def test_broken_json_is_a_one_line_feed_error(
    body: bytes, content_type: str | None, message: str, kind: FailureKind
) -> None:
    headers = {"content-type": content_type} if content_type else None
    with pytest.raises(FeedError) as info:
        parse_feed(body, BASE, headers)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value) and info.value.kind == kind


def test_wrong_types_inside_items_are_skipped_or_ignored() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": ["not", "a", "string"],
        "hubs": "https://hub.example/",
        "authors": {"name": "not a list"},
        "items": [
            "a string item",
            None,
            {},  # identifies nothing
            {
                "id": "ok",
                "url": 12,
                "title": {"x": 1},
                "tags": "one,two",
                "authors": [1, {"name": 2}],
                "date_published": "not a date",
                "image": "javascript:alert(1)",
                "attachments": [3],
            },
            {"id": "future", "url": "https://e.org/f", "date_published": "2999-01-01T00:00:00Z"},
        ],
    }
    feed = parse_feed(dump(doc), BASE)
    assert [e.guid for e in feed.entries] == ["ok", "future"]
    ok, future = feed.entries
    assert ok.link is None and ok.title is None and ok.tags == [] and ok.authors == []
    assert ok.published_at is None and ok.image is None
    assert future.published_at is None  # centuries ahead: a mistake, not a date
    assert feed.title is None and feed.hubs == []
    assert feed.warning == "skipped 3 items that are not objects or identify nothing"


def test_versionless_object_with_items_is_read_with_a_warning() -> None:
    doc = {"title": "Old feed", "items": [{"id": "1", "url": "https://e.org/1"}]}
    feed = parse_feed(dump(doc), BASE)
    assert feed.format == "json" and len(feed.entries) == 1
    assert feed.warning == "JSON Feed without a jsonfeed.org version"


# --- real-world JSON Feeds from the shared corpus ---------------------------------------------


def corpus_json_feeds() -> list[Path]:
    root = corpus_dir("feeds")
    found = sorted(p for p in root.rglob("*.json") if not p.name.endswith(".serde.json"))
    return [p for p in found if b"jsonfeed.org" in p.read_bytes()]


def test_real_world_json_feeds_parse() -> None:
    paths = corpus_json_feeds()
    if not paths:
        pytest.skip("no JSON Feeds in ../shared/corpus/feeds (corpus absent)")
    parsed = entries = with_text = 0
    for path in paths:
        try:
            feed = parse_feed(path.read_bytes(), "https://example.org/feed.json")
        except FeedError as exc:
            # The one cut-off file (NetNewsWire's allthis-partial.json) must say so.
            assert "partial" in path.name and str(exc).startswith("malformed JSON Feed: ")
            continue
        parsed += 1
        assert feed.format is not None and feed.format.startswith("json"), path.name
        assert feed.entries, path.name
        for entry in feed.entries:
            assert entry.guid
            assert entry.link is None or entry.link.startswith(("http://", "https://"))
            for value in (entry.published_at, entry.updated_at):
                assert value is None or value.tzinfo is not None
        entries += len(feed.entries)
        with_text += sum(1 for e in feed.entries if e.content or e.summary)
    assert parsed >= 13  # of the corpus's 14 JSON Feeds, one cut short
    # Items carry what readers show (NetNewsWire's authors.json test feed alone has no text).
    assert with_text >= 0.95 * entries


def test_real_world_1_1_authors_fall_back_to_the_feeds() -> None:
    path = corpus_dir("feeds") / "netnewswire" / "Resources" / "authors.json"
    if not path.exists():
        pytest.skip(f"{path} absent")
    feed = parse_feed(path.read_bytes(), BASE)
    assert all(e.authors for e in feed.entries)
    assert any(e.authors == ["Root Author 1", "Root Author 2"] for e in feed.entries)


# --- through the real ingest flow -------------------------------------------------------------


def sample_json_feed(sample: Any, count: int = 3) -> bytes:
    items = [
        {
            "id": f"post-{a.post_id}",
            "url": sample.url(a.path),
            "title": a.headline,
            "summary": a.summary,
            "date_published": a.published,
            "authors": [{"name": n} for n in a.authors],
            "tags": list(a.tags),
        }
        for a in sample.articles[:count]
    ]
    return dump(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Sample JSON",
            "home_page_url": sample.base_url + "/",
            "items": items,
        }
    )


def test_json_feed_through_the_ingest_flow(
    prefect_server: str, allow_loopback: None, sample_site: Any, tmp_path: Path
) -> None:
    site, sample = sample_site
    site.set("/feed.json", sample_json_feed(sample), JSON_FEED_TYPE)
    db = tmp_path / "news.duckdb"
    feed_url = sample.url("/feed.json")
    counts = ingest(feed_urls=[feed_url], warehouse=str(db))
    assert counts["feeds_failed"] == 0 and counts["articles_new"] == 3
    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query("SELECT a.url, a.title FROM articles a ORDER BY a.url")
        expected = sorted((sample.url(a.path), a.headline) for a in sample.articles[:3])
        assert [(u, t) for u, t in rows] == expected
        _, authors = wh.query("SELECT count(*) FROM article_authors")
        assert authors[0][0] >= 3
        _, feed_rows = wh.query("SELECT last_status, last_error FROM feeds")
        assert feed_rows == [(200, None)]
    # Again: the server answers 304 to the stored validators, and nothing changes.
    again = ingest(feed_urls=[feed_url], warehouse=str(db))
    assert again.get("articles_new", 0) == 0 and again["feeds_not_modified"] == 1
    with Warehouse(db, read_only=True) as wh:
        _, statuses = wh.query(
            "SELECT status FROM fetches WHERE url = ? ORDER BY fetch_id", [feed_url]
        )
        assert [s for (s,) in statuses] == [200, 304]
        assert wh.query("SELECT count(*) FROM articles")[1][0][0] == 3


def test_broken_json_feed_is_recorded_and_costs_nothing_else(
    prefect_server: str, allow_loopback: None, sample_site: Any, tmp_path: Path
) -> None:
    site, sample = sample_site
    site.set("/good.json", sample_json_feed(sample, 2), JSON_FEED_TYPE)
    site.set("/cut.json", sample_json_feed(sample)[:-40], JSON_FEED_TYPE)
    db = tmp_path / "news.duckdb"
    counts = ingest(
        feed_urls=[sample.url("/good.json"), sample.url("/cut.json")], warehouse=str(db)
    )
    assert counts["feeds_failed"] == 1 and counts["articles_new"] == 2
    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query("SELECT url, last_error FROM feeds ORDER BY url")
        errors = {url.removeprefix(site.base_url): error for url, error in rows}
        assert errors["/good.json"] is None
        assert errors["/cut.json"].startswith("malformed JSON Feed: ")


# --- discovery from a page's <link rel="alternate"> --------------------------------------------

PAGE_WITH_FEEDS = b"""<!DOCTYPE html><html><head><title>News</title>
<base href="https://news.example.org/sub/">
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/feed+json" title="News (JSON)" href="feed.json">
<link rel="alternate" type="application/rss+xml" title="News  RSS" href="/rss.xml">
<link rel="Alternate" type="application/atom+xml" href="https://news.example.org/atom.xml">
<link rel="alternate" type="text/html" hreflang="de" href="/de/">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="application/rss+xml" href="/rss.xml">
</head><body><p>Hello</p></body></html>"""


def test_feed_links_finds_json_rss_and_atom_in_page_order() -> None:
    links = feed_links(PAGE_WITH_FEEDS, "https://news.example.org/")
    assert [(link.url, link.format, link.title) for link in links] == [
        ("https://news.example.org/sub/feed.json", "json", "News (JSON)"),
        ("https://news.example.org/rss.xml", "rss", "News RSS"),
        ("https://news.example.org/atom.xml", "atom", None),
    ]
    assert feed_links(b"", BASE) == [] and feed_links(b"\x00\xff", BASE) == []


def test_an_html_page_given_as_a_feed_names_the_feed_it_links() -> None:
    with pytest.raises(FeedError) as info:
        parse_feed(PAGE_WITH_FEEDS, "https://news.example.org/")
    assert str(info.value) == (
        "not a feed: got an HTML page (<html>); it links the feed"
        " https://news.example.org/sub/feed.json"
    )
