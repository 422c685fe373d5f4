"""parse_feed against hand-written fixtures and the shared real-world feed corpora."""

from __future__ import annotations

import ast
import csv
import functools
import gzip
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.feeds import FeedError, parse_feed, split_authors
from pipeline.records import ParsedFeed

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
FEEDS = CORPUS / "feeds"
FEEDPARSER = CORPUS / "feedparser"
BASE = "https://news.example.com/feeds/world.xml"
FEED_FORMATS = {"rss", "atom", "rss1.0/rdf"}

# Feeds whose entry count differs from the manifest's `items`, and why.
COUNT_EXCEPTIONS = {
    # The manifest counts elements literally; feedparser also reads prefixed Atom namespaces.
    "node-feedparser/test/feeds/complexNamespaceFeed.xml": 1,
    "node-feedparser/test/feeds/nondefaultnamespace.atom": 1,
    # 10 real items; 10 more "<item>" are escaped text in descriptions (empty entries, skipped).
    "node-feedparser/test/feeds/illegally-nested.xml": 10,
    # Its one <entry> is empty: nothing to identify it by, so it is skipped (and warned about).
    "rss-parser/test/input/incomplete-fields.atom": 0,
}
# Feeds declaring a feature (manifest column > 0) where no *entry* can have it, and why.
FEATURE_EXCEPTIONS = {
    ("feed-rs/feed-rs/fixture/rss2/rss_2.0_bbc.xml", "media_content"): "audio, not an image",
    ("feed-rs/feed-rs/fixture/rss2/rss_2.0_ghost_1.xml", "media_content"): "url has no path",
    ("feed-rs/feed-rs/fixture/rss2/rss_2.0_matrix.xml", "content_encoded"): "empty element",
    ("netnewswire/Resources/atp.rss", "content_encoded"): "empty CDATA",
    ("feed-rs/feed-rs/fixture/rss2/rss_2.0_spec_1.xml", "item_category"): "channel-level",
    ("feed-rs/feed-rs/fixture/rss2/rss_2.0_spreaker.xml", "item_category"): "channel-level",
    ("feedjira/spec/sample_feeds/a10.xml", "item_category"): "channel-level",
    ("netnewswire/Resources/phpxml.rss", "item_category"): "channel-level",
    ("node-feedparser/test/feeds/mediacontent-dupes.xml", "item_category"): "channel-level",
    ("rss-parser/test/input/uolNoticias.rss", "item_category"): "channel-level",
    ("netnewswire/Resources/aktuality.rss", "dc_creator"): "channel-level",
    ("rss-parser/test/input/craigslist.rss", "dc_creator"): "only an e-mail address",
}
FEATURE_FIELDS = {
    "item_category": "categories",
    "atom_category_term": "categories",
    "dc_creator": "authors",
    "content_encoded": "content",
    "media_content": "image",
    "media_thumbnail": "image",
}


def _manifest() -> list[dict[str, str]]:
    """Manifest rows whose file exists; paths in it start with "feeds-realworld/", which is
    this corpus's feeds/ folder (the trafilatura-eval rows have no files here)."""
    manifest = FEEDS / "manifest.csv"
    if not manifest.exists():
        return []
    rows = []
    with manifest.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rel = row["path"].removeprefix("feeds-realworld/")
            if (FEEDS / rel).is_file():
                rows.append({**row, "rel": rel})
    return rows


MANIFEST = _manifest()


def _params(rows: list[dict[str, str]]) -> list[object]:
    return [pytest.param(row, id=row["rel"]) for row in rows] or [
        pytest.param(None, marks=pytest.mark.skip(reason=f"feed corpus not found at {FEEDS}"))
    ]


MANIFEST_PARAMS = _params(MANIFEST)
FEED_PARAMS = _params([r for r in MANIFEST if r["format"] in FEED_FORMATS])
ERROR_PARAMS = _params(
    [r for r in MANIFEST if r["format"] in FEED_FORMATS and r["wellformed"].startswith("ERR: ")]
)


@functools.cache
def _parse_rel(rel: str) -> ParsedFeed | FeedError:
    try:
        return parse_feed((FEEDS / rel).read_bytes(), BASE)
    except FeedError as exc:
        return exc


def _parse_row(row: dict[str, str]) -> ParsedFeed:
    """Parsed once per test session (three tests look at every corpus feed)."""
    result = _parse_rel(row["rel"])
    if isinstance(result, FeedError):
        raise result
    return result


# --- the real-world corpus --------------------------------------------------------------------


def test_corpus_is_there() -> None:
    if not MANIFEST:
        pytest.skip(f"feed corpus not found at {FEEDS}")
    assert len(MANIFEST) > 200


@pytest.mark.parametrize("row", MANIFEST_PARAMS)
def test_manifest_feed(row: dict[str, str]) -> None:
    try:
        feed = _parse_row(row)
    except FeedError as exc:
        # Only other JSON (not a JSON Feed, or cut short) and non-feed XML/HTML may be refused,
        # with a one-line reason.
        assert row["format"] in {"json", "other"}, f"refused a real feed: {exc}"
        assert str(exc).startswith(("not a feed:", "malformed JSON Feed:"))
        assert "\n" not in str(exc)
        return
    if row["format"] == "json":  # a JSON Feed (the manifest counts XML items only)
        assert feed.format is not None and feed.format.startswith("json")
        assert feed.entries and all(e.guid for e in feed.entries)
        return
    expected = COUNT_EXCEPTIONS.get(row["rel"], int(row["items"] or 0))
    assert len(feed.entries) == expected
    for entry in feed.entries:
        assert entry.guid
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        for value in (entry.published_at, entry.updated_at):
            assert value is None or value.utcoffset() == timedelta(0)
    if feed.warning is not None:
        assert "\n" not in feed.warning
    if row["format"] in FEED_FORMATS:
        assert feed.format


@pytest.mark.parametrize("row", FEED_PARAMS)
def test_manifest_features_come_through(row: dict[str, str]) -> None:
    feed = _parse_row(row)
    for column, attr in FEATURE_FIELDS.items():
        if int(row[column] or 0) > 0 and (row["rel"], column) not in FEATURE_EXCEPTIONS:
            assert any(getattr(e, attr) for e in feed.entries), f"{column} lost"


@pytest.mark.parametrize("row", ERROR_PARAMS)
def test_manifest_errors_reported_like_expat(row: dict[str, str]) -> None:
    """The warning names expat's error and line, as the manifest recorded them. Leading
    whitespace before <?xml is stripped, so that error no longer happens at all."""
    status = row["wellformed"].replace("\n", " ")
    feed = _parse_row(row)
    match = re.match(r"ERR: (.+): line (\d+), column (\d+)", status)
    if match is None or "XML or text declaration" in status:
        return  # a non-XML error (ValueError) or one we repair: nothing fixed to compare
    message, line, column = match.groups()
    assert feed.warning is not None
    if "parsed as" in feed.warning:
        return  # decoded with another charset than declared, after which the XML is fine
    assert f"{message} at line {line}, column {column}" in feed.warning


def test_corpus_counts() -> None:
    """Sums for the report: every file parses or is refused with FeedError."""
    if not MANIFEST:
        pytest.skip(f"feed corpus not found at {FEEDS}")
    parsed = refused = 0
    for row in MANIFEST:
        try:
            _parse_row(row)
            parsed += 1
        except FeedError:
            refused += 1
    json_or_other = sum(1 for r in MANIFEST if r["format"] in {"json", "other"})
    assert parsed + refused == len(MANIFEST)
    assert refused <= json_or_other


def test_gzipped_corpus_feed_is_inflated() -> None:
    rows = [r for r in MANIFEST if r["gzip"] == "True"]
    if not rows:
        pytest.skip("no gzipped feeds in the corpus")
    for row in rows:
        assert (FEEDS / row["rel"]).read_bytes()[:2] == b"\x1f\x8b"
        assert len(_parse_row(row).entries) == int(row["items"])


def _corpus_file(rel: str) -> bytes:
    path = FEEDS / rel
    if not path.exists():
        pytest.skip(f"{path} not in the corpus")
    return path.read_bytes()


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.7, 0.9])
def test_truncated_feed_keeps_only_complete_items(fraction: float) -> None:
    body = _corpus_file("rss-parser/test/input/guardian.rss")
    full = parse_feed(body, BASE)
    cut = body[: int(len(body) * fraction)]
    complete = cut.count(b"</item>")
    truncated = parse_feed(cut, BASE)
    assert truncated.warning
    assert [e.guid for e in truncated.entries] == [e.guid for e in full.entries[:complete]]
    assert [e.title for e in truncated.entries] == [e.title for e in full.entries[:complete]]


def test_ill_formed_corpus_feed_keeps_items() -> None:
    feed = parse_feed(_corpus_file("node-feedparser/test/feeds/saxerror.xml"), BASE)
    assert len(feed.entries) == 3
    assert feed.warning and "not well-formed (invalid token) at line 15" in feed.warning


def test_leading_whitespace_before_declaration_is_not_bozo() -> None:
    body = _corpus_file("feedjira/spec/sample_feeds/TechCrunch.xml")
    assert not body.startswith(b"<?xml")
    feed = parse_feed(body, BASE)
    assert feed.warning is None and len(feed.entries) == 20


# --- feedparser's own ill-formed and encoding cases -------------------------------------------


def _feedparser_case(path: Path) -> tuple[dict[str, str], str]:
    text = path.read_bytes().decode("latin-1")
    headers = {}
    for name, value in re.findall(r"Header:\s*([\w-]+):\s*(.*)", text):
        headers[name.lower()] = value.strip()
    expect = re.search(r"Expect:\s*(.*)", text)
    return headers, expect.group(1).strip() if expect else ""


def _cases(folder: str) -> list[object]:
    root = FEEDPARSER / folder
    if not root.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{root} not found"))]
    return [pytest.param(p, id=p.name) for p in sorted(root.glob("*.xml"))]


# bozo only because of the HTTP Content-Type, which parse_feed deliberately does not report.
CONTENT_TYPE_ONLY_BOZO = {"bozo_http_text_plain.xml", "bozo_http_text_plain_charset.xml"}


def _check_expect(path: Path) -> None:
    headers, expect = _feedparser_case(path)
    try:
        feed = parse_feed(path.read_bytes(), "http://example.com/feed", headers)
    except FeedError:
        # Only a document without any RSS/Atom content may be refused; feedparser calls
        # those bozo too.
        assert "bozo" in expect and "not bozo" not in expect, expect
        return
    if expect.startswith("not bozo"):
        assert feed.warning is None
    elif expect.startswith("bozo") and path.name not in CONTENT_TYPE_ONLY_BOZO:
        assert feed.warning is not None
    if m := re.search(r"entries\[0\](?:\['description'\]|\.summary) == ('.*')$", expect):
        assert feed.entries[0].summary == ast.literal_eval(m.group(1))
    if m := re.search(r"ord\(entries\[0\]\['description'\]\) == (\d+)", expect):
        assert feed.entries[0].summary == chr(int(m.group(1)))
    if m := re.search(r"feed\['title'\] == ('.*')$", expect):
        assert feed.title == ast.literal_eval(m.group(1))
    if m := re.search(r"entries\[0\]\.link == ('.*')$", expect):
        assert feed.entries[0].link == ast.literal_eval(m.group(1))


@pytest.mark.parametrize("path", _cases("encoding"))
def test_feedparser_encoding_case(path: Path) -> None:
    _check_expect(path)


@pytest.mark.parametrize("path", _cases("illformed"))
def test_feedparser_illformed_case(path: Path) -> None:
    _check_expect(path)


def test_encoding_cases_decode_to_unicode() -> None:
    """The cases whose Expect checks text must actually have been checked (not skipped)."""
    root = FEEDPARSER / "encoding"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    text_check = re.compile(r"(description'\]\)?|summary|title'\]) == ")
    texty = [p for p in root.glob("*.xml") if text_check.search(_feedparser_case(p)[1])]
    assert len(texty) >= 8
    for path in texty:
        headers, _ = _feedparser_case(path)
        feed = parse_feed(path.read_bytes(), "http://example.com/feed", headers)
        assert feed.title or feed.entries


def test_chardet_cases_do_not_crash() -> None:
    root = FEEDPARSER / "illformed" / "chardet"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    for path in root.glob("*.xml"):
        try:
            feed = parse_feed(path.read_bytes(), "http://example.com/feed")
        except FeedError:
            continue
        assert all(isinstance(e.title or "", str) for e in feed.entries)


# --- hand-written fixtures, one per rule ------------------------------------------------------

RSS_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">\n'
    "<channel><title>Example &amp; Co</title><link>https://news.example.com/</link>"
    "<ttl>30</ttl>\n"
)


def rss(items: str) -> bytes:
    return (RSS_HEAD + items + "</channel></rss>").encode("utf-8")


def test_feed_level_fields() -> None:
    feed = parse_feed(rss("<item><link>https://news.example.com/a</link></item>"), BASE)
    assert feed.title == "Example & Co"
    assert feed.site_url == "https://news.example.com/"
    assert feed.format == "rss20"
    assert feed.ttl_minutes == 30
    assert feed.warning is None


def test_guid_as_given_then_link_then_hash() -> None:
    body = rss(
        '<item><guid isPermaLink="false">abc-123</guid><link>/a</link></item>'
        "<item><link>https://news.example.com/b</link></item>"
        "<item><title>No id</title><pubDate>Mon, 06 Sep 2010 16:45:00 +0200</pubDate></item>"
        "<item><title>No id</title><pubDate>Mon, 06 Sep 2010 16:45:00 +0200</pubDate></item>"
        "<item><title>Other</title></item>"
        "<item><category>nothing to identify me</category></item>"
    )
    feed = parse_feed(body, BASE)
    guids = [e.guid for e in feed.entries]
    assert guids[0] == "abc-123"
    assert guids[1] == "https://news.example.com/b"
    assert guids[2] == guids[3] and guids[2].startswith("sha1:")
    assert guids[4].startswith("sha1:") and guids[4] != guids[2]
    assert len(feed.entries) == 5
    assert feed.warning and "skipped 1 entries" in feed.warning
    # Stable across parses.
    assert [e.guid for e in parse_feed(body, BASE).entries] == guids


def test_relative_links_resolved_against_feed_url() -> None:
    body = rss(
        "<item><guid>g1</guid><link>/world/story-1</link>"
        '<description>&lt;a href="/x"&gt;x&lt;/a&gt;</description></item>'
        "<item><guid>g2</guid><link>story-2</link></item>"
    )
    feed = parse_feed(body, BASE)
    assert feed.entries[0].link == "https://news.example.com/world/story-1"
    assert feed.entries[1].link == "https://news.example.com/feeds/story-2"
    assert 'href="https://news.example.com/x"' in (feed.entries[0].summary or "")


def test_atom_xml_base_and_content() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.org/2024/">
  <title type="html">A &lt;b&gt;bold&lt;/b&gt; blog</title>
  <link rel="alternate" href="https://blog.example.org/"/>
  <entry>
    <id>tag:blog.example.org,2024:1</id>
    <title>Post</title>
    <link rel="alternate" href="post-1.html"/>
    <updated>2024-05-01T10:00:00+02:00</updated>
    <published>2024-05-01T09:00:00Z</published>
    <author><name>Ann Lee</name></author>
    <category term="world" label="World News"/>
    <category term="tech"/>
    <summary>short</summary>
    <content type="html">&lt;p&gt;Long &lt;a href="/about"&gt;text&lt;/a&gt;&lt;/p&gt;</content>
  </entry>
</feed>"""
    feed = parse_feed(body, BASE)
    assert feed.format == "atom10"
    assert feed.title == "A bold blog"
    entry = feed.entries[0]
    assert entry.guid == "tag:blog.example.org,2024:1"
    assert entry.link == "https://blog.example.org/2024/post-1.html"
    assert entry.updated_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert entry.published_at == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert entry.authors == ["Ann Lee"]
    assert entry.categories == ["World News", "tech"]
    assert entry.summary == "short"
    assert entry.content and 'href="https://blog.example.org/about"' in entry.content


def test_authors_split_and_cleaned() -> None:
    body = rss(
        "<item><guid>g</guid><dc:creator>By Jo Smith, Ann Lee and Bob Stone</dc:creator>"
        "<author>jo@example.com (Jo Smith)</author></item>"
        "<item><guid>h</guid><author>desk@example.com</author></item>"
    )
    feed = parse_feed(body, BASE)
    assert feed.entries[0].authors == ["Jo Smith", "Ann Lee", "Bob Stone"]
    assert feed.entries[1].authors == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("By Jo Smith", ["Jo Smith"]),
        ("jo@example.com (Jo Smith)", ["Jo Smith"]),
        ("Jo Smith <jo@example.com>", ["Jo Smith"]),
        ("A, B and C", ["A", "B", "C"]),
        ("Tom & Jerry", ["Tom", "Jerry"]),
        ("Alexander Anderson", ["Alexander Anderson"]),
        ("by: Reuters", ["Reuters"]),
        ("x@example.com", []),
    ],
)
def test_split_authors(raw: str, expected: list[str]) -> None:
    assert split_authors(raw) == expected


def test_categories_and_tags_kept_apart() -> None:
    body = rss(
        "<item><guid>g</guid>"
        '<category domain="https://news.example.com/sections">World</category>'
        "<category>Politics, Europe</category><category>world</category>"
        "<media:keywords>Brexit, trade , brexit</media:keywords>"
        "<itunes:keywords>podcast,news</itunes:keywords></item>"
    )
    entry = parse_feed(body, BASE).entries[0]
    assert entry.categories == ["World", "Politics", "Europe"]
    assert entry.tags == ["Brexit", "trade", "podcast", "news"]


def test_dates_utc_and_future_dropped() -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    soon = (datetime.now(UTC) + timedelta(hours=3)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = rss(
        "<item><guid>a</guid><pubDate>Tue, 10 Jun 2003 04:00:00 -0500</pubDate></item>"
        f"<item><guid>b</guid><pubDate>{future}</pubDate></item>"
        f"<item><guid>c</guid><pubDate>{soon}</pubDate></item>"
        "<item><guid>d</guid><pubDate>not a date</pubDate></item>"
    )
    entries = parse_feed(body, BASE).entries
    assert entries[0].published_at == datetime(2003, 6, 10, 9, 0, tzinfo=UTC)
    assert entries[0].published_at.tzinfo is not None
    assert entries[1].published_at is None
    assert entries[2].published_at is not None
    assert entries[3].published_at is None
    # RSS has no "updated": feedparser's published fallback must not leak into updated_at.
    assert all(e.updated_at is None for e in entries)


def test_image_from_media_and_enclosure() -> None:
    body = rss(
        "<item><guid>a</guid>"
        '<media:content url="https://cdn.example.com/v.mp4" medium="video"/>'
        '<media:content url="/img/a.jpg" medium="image"/></item>'
        '<item><guid>b</guid><media:thumbnail url="https://cdn.example.com/t.png"/></item>'
        '<item><guid>c</guid><enclosure url="https://cdn.example.com/e.jpg" type="image/jpeg"'
        ' length="1"/></item>'
        '<item><guid>d</guid><enclosure url="https://cdn.example.com/e.mp3" type="audio/mpeg"'
        ' length="1"/></item>'
    )
    images = [e.image for e in parse_feed(body, BASE).entries]
    assert images == [
        "https://news.example.com/img/a.jpg",
        "https://cdn.example.com/t.png",
        "https://cdn.example.com/e.jpg",
        None,
    ]


def test_content_encoded_is_content() -> None:
    body = rss(
        "<item><guid>a</guid><description>teaser</description>"
        "<content:encoded><![CDATA[<p>The full story.</p>]]></content:encoded></item>"
    )
    entry = parse_feed(body, BASE).entries[0]
    assert entry.summary == "teaser"
    assert entry.content == "<p>The full story.</p>"


def test_html_title_becomes_plain_text() -> None:
    body = rss("<item><guid>a</guid><title>Q&amp;A: &lt;em&gt;why&lt;/em&gt; now</title></item>")
    assert parse_feed(body, BASE).entries[0].title == "Q&A: why now"


def test_rss1_rdf() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.com/"><title>RDF</title>
    <link>https://rdf.example.com/</link></channel>
  <item rdf:about="https://rdf.example.com/1"><title>One</title>
    <link>https://rdf.example.com/1</link><dc:date>2024-01-02T03:04:05+01:00</dc:date>
    <dc:subject>Science</dc:subject></item>
</rdf:RDF>"""
    feed = parse_feed(body, BASE)
    assert feed.format == "rss10"
    assert feed.entries[0].link == "https://rdf.example.com/1"
    assert feed.entries[0].published_at == datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)


def test_bom_and_whitespace_before_declaration() -> None:
    body = b"\xef\xbb\xbf\n\n  " + rss("<item><guid>a</guid><title>Café</title></item>")
    feed = parse_feed(body, BASE)
    assert feed.warning is None
    assert feed.entries[0].title == "Café"


def test_http_charset_is_honoured() -> None:
    body = rss("<item><guid>a</guid><title>Ünïcödé</title></item>").replace(b"utf-8", b"")
    latin = body.decode("utf-8").encode("iso-8859-1")
    feed = parse_feed(latin, BASE, {"Content-Type": "application/rss+xml; charset=ISO-8859-1"})
    assert feed.entries[0].title == "Ünïcödé"


def test_gzip_body_inflated() -> None:
    body = gzip.compress(rss("<item><guid>a</guid></item>"))
    assert len(parse_feed(body, BASE).entries) == 1


def test_empty_channel_is_a_feed() -> None:
    feed = parse_feed(rss(""), BASE)
    assert feed.entries == [] and feed.title == "Example & Co"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!DOCTYPE html><html><head><title>Hi</title></head><body>x</body></html>", "HTML"),
        (b"\n<html lang='en'><body><p>Moved</p></body></html>", "HTML"),
        (b'{"status": "ok", "items": 3}', "JSON"),
        (b'[{"version": "https://jsonfeed.org/version/1.1"}]', "JSON"),
        (b'<?xml version="1.0"?><urlset><url><loc>https://x/</loc></url></urlset>', "urlset"),
        (b"just some text", "not a feed"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (b"\x00\x01\x02\xff\xfe", "not a feed"),
    ],
)
def test_not_a_feed_raises_feederror(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError) as info:
        parse_feed(body, BASE)
    message = str(info.value)
    assert reason in message and "\n" not in message


def test_bytes_that_look_like_a_path_are_not_opened(tmp_path: Path) -> None:
    # feedparser opens a str/bytes argument as a file; parse_feed must never let it.
    secret = tmp_path / "secret.xml"
    secret.write_bytes(rss("<item><guid>leak</guid></item>"))
    with pytest.raises(FeedError):
        parse_feed(str(secret).encode(), BASE)


@pytest.mark.parametrize(
    "body",
    [
        b"<rss><channel><item><title>x</title><link>http://[::1/</link></item></channel></rss>",
        b"<rss version='2.0'><channel><item><guid>a</guid><pubDate>Mon, 99 Foo 99999</pubDate>"
        b"</item></channel></rss>",
        b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>1</id><updated>9999-99-99"
        b"</updated></entry></feed>",
        b"<rss version='2.0'><channel><ttl>soon</ttl><item><guid>a</guid></item></channel></rss>",
        b"<?xml version='1.0' encoding='nonsense-8'?><rss><channel><item><guid>a</guid></item>"
        b"</channel></rss>",
    ],
)
def test_odd_inputs_never_crash(body: bytes) -> None:
    try:
        feed = parse_feed(body, BASE)
    except FeedError:
        return
    assert isinstance(feed.entries, list)
