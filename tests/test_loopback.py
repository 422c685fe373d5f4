"""Loopback server over real HTTP, and the sample site it serves."""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser

import feedparser
import httpx
import pytest

from pipeline.loopback import LoopbackSite, serve_forever
from pipeline.sample_site import SampleSite, build_sample_site
from pipeline.urls import canonicalize

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as s:
        yield s


@pytest.fixture
def sample(site: LoopbackSite) -> SampleSite:
    built = build_sample_site(site.base_url)
    site.load(built.routes)
    return built


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


# -- server ------------------------------------------------------------------------------


def test_serves_body_with_validators(site: LoopbackSite, client: httpx.Client) -> None:
    site.set("/a.txt", b"hello", "text/plain")
    r = client.get(site.url("/a.txt"))
    assert r.status_code == 200
    assert r.content == b"hello"
    assert r.headers["content-type"] == "text/plain"
    assert r.headers["etag"] == '"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"'  # sha1("hello")
    assert r.headers["last-modified"].endswith("GMT")
    assert site.base_url.startswith("http://127.0.0.1:") and site.port > 0


def test_unknown_path_is_404(site: LoopbackSite, client: httpx.Client) -> None:
    assert client.get(site.url("/nope")).status_code == 404
    assert site.hits["/nope"] == 1


def test_if_none_match_gives_304(site: LoopbackSite, client: httpx.Client) -> None:
    site.set("/f", b"<rss/>", "application/rss+xml")
    etag = client.get(site.url("/f")).headers["etag"]
    r = client.get(site.url("/f"), headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    # A stale validator must get the full body again.
    r = client.get(site.url("/f"), headers={"If-None-Match": '"stale"'})
    assert r.status_code == 200
    assert site.statuses("/f") == [200, 304, 200]


def test_if_modified_since_gives_304_until_body_changes(
    site: LoopbackSite, client: httpx.Client
) -> None:
    site.set("/f", b"v1", "text/plain")
    last_modified = client.get(site.url("/f")).headers["last-modified"]
    assert (
        client.get(site.url("/f"), headers={"If-Modified-Since": last_modified}).status_code == 304
    )
    # Re-setting identical bytes keeps the validators; new bytes move Last-Modified forward.
    site.set("/f", b"v1", "text/plain")
    assert (
        client.get(site.url("/f"), headers={"If-Modified-Since": last_modified}).status_code == 304
    )
    site.set("/f", b"v2", "text/plain")
    r = client.get(site.url("/f"), headers={"If-Modified-Since": last_modified})
    assert r.status_code == 200
    assert r.content == b"v2"
    assert r.headers["last-modified"] != last_modified


def test_gzip_only_when_asked_and_large(site: LoopbackSite, client: httpx.Client) -> None:
    big = b"<p>news</p>" * 200
    site.set("/big", big, "text/html")
    site.set("/small", b"tiny", "text/html")
    r = client.get(site.url("/big"), headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) < len(big)
    assert r.content == big  # httpx decoded it
    r = client.get(site.url("/big"), headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers
    assert r.content == big
    r = client.get(site.url("/small"), headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in r.headers


def test_raw_gzip_bytes_decompress(site: LoopbackSite) -> None:
    big = b"x" * 5000
    site.set("/big", big, "text/plain")
    # Read the undecoded wire bytes to check they are really gzip.
    with (
        httpx.Client() as c,
        c.stream("GET", site.url("/big"), headers={"Accept-Encoding": "gzip"}) as r,
    ):
        wire = b"".join(r.iter_raw())
    assert wire[:2] == b"\x1f\x8b"
    assert gzip.decompress(wire) == big


def test_hits_count_per_path_ignoring_query(site: LoopbackSite, client: httpx.Client) -> None:
    site.set("/article/", b"<html></html>", "text/html")
    client.get(site.url("/article/"))
    client.get(site.url("/article/?utm_source=rss"))  # query falls back to the bare path
    client.head(site.url("/article/"))
    assert site.hits["/article/"] == 3
    assert site.hits["/other/"] == 0
    methods = [r.method for r in site.requests_for("/article/")]
    assert methods == ["GET", "GET", "HEAD"]
    assert site.log[1].target == "/article/?utm_source=rss"
    assert site.statuses("/article/") == [200, 200, 200]
    site.reset_stats()
    assert site.hits == {}


def test_request_log_keeps_headers(site: LoopbackSite, client: httpx.Client) -> None:
    site.set("/x", b"x", "text/plain")
    client.get(site.url("/x"), headers={"User-Agent": "news-ingest-test/1"})
    (record,) = site.requests_for("/x")
    assert record.headers["User-Agent"] == "news-ingest-test/1"


def test_hits_are_thread_safe(site: LoopbackSite) -> None:
    from concurrent.futures import ThreadPoolExecutor

    site.set("/p", b"p", "text/plain")
    with httpx.Client() as c, ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: c.get(site.url("/p")).status_code, range(40)))
    assert codes == [200] * 40
    assert site.hits["/p"] == 40


def test_redirect_and_fail(site: LoopbackSite, client: httpx.Client) -> None:
    site.set("/new/", b"moved here", "text/plain")
    site.redirect("/old/", "/new/")
    site.redirect("/tmp/", site.url("/new/"), status=302)
    r = client.get(site.url("/old/"))
    assert r.status_code == 301
    assert r.headers["location"] == "/new/"
    r = client.get(site.url("/old/"), follow_redirects=True)
    assert r.status_code == 200 and r.content == b"moved here"
    assert [h.status_code for h in r.history] == [301]
    assert client.get(site.url("/tmp/")).status_code == 302
    site.fail("/new/", 503)
    assert client.get(site.url("/new/")).status_code == 503
    assert site.statuses("/new/") == [200, 503]


def test_routes_change_while_running(site: LoopbackSite, client: httpx.Client) -> None:
    site.set("/r", b"one", "text/plain")
    assert client.get(site.url("/r")).content == b"one"
    site.set("/r", b"two", "text/plain")
    assert client.get(site.url("/r")).content == b"two"
    site.remove("/r")
    assert client.get(site.url("/r")).status_code == 404


def test_stop_frees_the_port() -> None:
    s = LoopbackSite().start()
    url = s.url("/")
    s.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=1)


# -- sample site ---------------------------------------------------------------------------


class _Checker(HTMLParser):
    """Counts tags and checks that non-void elements close in order."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "source", "area", "base"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
        else:
            self.stack.pop()


def _parse(html: str) -> _Checker:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker


def _meta(checker: _Checker, prop: str) -> list[str]:
    return [
        a.get("content") or ""
        for t, a in checker.tags
        if t == "meta" and (a.get("property") == prop or a.get("name") == prop)
    ]


def _news_article(data: dict) -> dict:
    if "@graph" in data:
        return next(n for n in data["@graph"] if n["@type"] == "NewsArticle")
    return data


def test_sample_is_deterministic() -> None:
    a = build_sample_site("http://127.0.0.1:1234")
    b = build_sample_site("http://127.0.0.1:1234/")
    assert a.routes == b.routes
    assert all(url.startswith("http://127.0.0.1:1234/") for url in map(a.url, a.article_paths))


def test_article_pages_are_valid_html_with_metadata(
    sample: SampleSite, site: LoopbackSite, client: httpx.Client
) -> None:
    assert len(sample.articles) == sample.expected_article_count == 14
    publishers = set()
    for fact in sample.articles:
        r = client.get(site.url(fact.path))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        html = r.text
        checker = _parse(html)
        assert checker.errors == [], fact.path
        assert checker.stack == [], fact.path
        (raw,) = JSON_LD.findall(html)
        article = _news_article(json.loads(raw))
        assert article["headline"] == fact.headline
        assert article["datePublished"] == fact.published
        assert article["dateModified"] == fact.modified
        assert [p["name"] for p in article["author"]] == list(fact.authors)
        canonical = [
            a["href"] for t, a in checker.tags if t == "link" and a.get("rel") == "canonical"
        ]
        assert canonical == [site.url(fact.path)]
        assert _meta(checker, "og:site_name") == [fact.publisher]
        assert _meta(checker, "article:published_time") == [fact.published]
        assert _meta(checker, "article:section") == [fact.section]
        assert _meta(checker, "article:tag") == list(fact.tags)
        assert f"<title>{fact.headline} | {fact.publisher}</title>".replace("&", "&amp;") in html
        assert 5 <= len(fact.paragraphs) <= 9
        # WordPress footer: one category link and one rel=tag link per tag.
        rels = [a.get("rel") for t, a in checker.tags if t == "a"]
        assert rels.count("category tag") == 1
        assert rels.count("tag") == len(fact.tags)
        assert "Categorized in:" in html and "Tagged in:" in html
        for paragraph in fact.paragraphs:
            assert paragraph.replace("&", "&amp;") in html
        publishers.add(fact.publisher)
    assert len(publishers) == 3


def test_feeds_parse_to_expected_counts(
    sample: SampleSite, site: LoopbackSite, client: httpx.Client
) -> None:
    versions = set()
    for path in sample.feed_paths:
        parsed = feedparser.parse(client.get(site.url(path)).content)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert len(parsed.entries) == sample.feed_entry_counts[path]
        versions.add(parsed.version)
        for entry in parsed.entries:
            assert entry.link.startswith(site.base_url)
            assert entry.get("title")
    assert versions == {"rss20", "atom10"}


def test_all_good_feeds_name_the_expected_articles(
    sample: SampleSite, client: httpx.Client
) -> None:
    links = []
    for path in sample.feed_paths:
        links += [e.link for e in feedparser.parse(sample.routes[path][1]).entries]
    assert len(links) == sum(sample.feed_entry_counts.values()) == 15
    keys = {canonicalize(link) for link in links}
    assert keys == {canonicalize(sample.url(p)) for p in sample.article_paths}
    assert len(keys) == sample.expected_article_count


def test_rss_feed_details(sample: SampleSite) -> None:
    parsed = feedparser.parse(sample.routes["/daily-herald/feed/"][1])
    entry = parsed.entries[0]
    assert not entry.guidislink  # opaque guid, isPermaLink="false"
    assert entry.id.startswith("https://daily-herald.example/?p=")
    assert entry.author
    assert entry.tags[0].term == "World"
    assert "<p>" in entry.content[0].value
    assert parsed.feed.ttl == "30"


def test_atom_feed_details(sample: SampleSite) -> None:
    parsed = feedparser.parse(sample.routes["/coastal-times/feed/atom/"][1])
    assert parsed.version == "atom10"
    for entry in parsed.entries:
        assert entry.updated and entry.published and entry.author
        assert entry.tags[0].term
        assert entry.id.startswith("tag:coastal-times.example,2026:")


def test_tracked_feed_lists_one_article_twice(sample: SampleSite) -> None:
    parsed = feedparser.parse(sample.routes[sample.tracked_feed_path][1])
    links = [e.link for e in parsed.entries]
    assert all("utm_source=rss" in link for link in links)
    dup_key = canonicalize(sample.url(sample.duplicate_listed_path))
    assert sum(canonicalize(link) == dup_key for link in links) == 2
    assert len({canonicalize(link) for link in links}) == len(links) - 1


def test_broken_feed_is_bozo(sample: SampleSite, site: LoopbackSite, client: httpx.Client) -> None:
    r = client.get(site.url(sample.broken_feed_path))
    assert r.status_code == 200
    parsed = feedparser.parse(r.content)
    assert parsed.bozo
    assert parsed.entries == []
    assert sample.broken_feed_path not in sample.feed_paths
    assert sample.broken_feed_path in sample.all_feed_paths


def test_syndicated_copies_share_body_but_not_canonical(sample: SampleSite) -> None:
    first, second = (sample.article(p) for p in sample.syndicated_story_paths)
    assert first.paragraphs == second.paragraphs
    assert first.headline != second.headline
    assert first.publisher != second.publisher
    html = sample.routes[second.path][1].decode()
    assert f'<link rel="canonical" href="{sample.url(second.path)}">' in html
    assert sample.expected_unique_story_count == sample.expected_article_count - 1


def test_version_two_changes_only_updated_article_and_its_feed(sample: SampleSite) -> None:
    changed = sample.updated_routes()
    assert set(changed) == {sample.updated_article_path, "/coastal-times/feed/atom/"}
    v2 = build_sample_site(sample.base_url, version=2)
    before, after = sample.article(sample.updated_article_path), v2.article(v2.updated_article_path)
    assert after.paragraphs[:-1] == before.paragraphs
    assert after.paragraphs[-1].startswith("Update:")
    assert after.modified > before.modified
    entry = next(
        e
        for e in feedparser.parse(changed["/coastal-times/feed/atom/"][1]).entries
        if e.link == sample.url(sample.updated_article_path)
    )
    assert entry.updated == after.modified


def test_conditional_refetch_of_all_feeds_is_304(
    sample: SampleSite, site: LoopbackSite, client: httpx.Client
) -> None:
    etags = {p: client.get(site.url(p)).headers["etag"] for p in sample.feed_paths}
    site.reset_stats()
    for path, etag in etags.items():
        client.get(site.url(path), headers={"If-None-Match": etag})
    assert all(site.statuses(p) == [304] for p in sample.feed_paths)
    # After publishing version 2 only the changed feed answers 200.
    site.load(sample.updated_routes())
    site.reset_stats()
    for path, etag in etags.items():
        client.get(site.url(path), headers={"If-None-Match": etag})
    assert {p: site.statuses(p)[0] for p in sample.feed_paths} == {
        "/daily-herald/feed/": 304,
        "/coastal-times/feed/atom/": 200,
        "/wire-review/feed/": 304,
    }


def test_opml_lists_every_feed(
    sample: SampleSite, site: LoopbackSite, client: httpx.Client
) -> None:
    r = client.get(site.url(sample.opml_path))
    assert r.content == sample.opml_bytes
    root = ET.fromstring(r.content)
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")]
    assert urls == [site.url(p) for p in sample.all_feed_paths]


def test_serve_forever_for_cli() -> None:
    import threading

    ready: list[LoopbackSite] = []
    event = threading.Event()

    def on_ready(s: LoopbackSite) -> None:
        ready.append(s)
        event.set()

    thread = threading.Thread(
        target=serve_forever,
        args=(lambda base: build_sample_site(base).routes,),
        kwargs={"on_ready": on_ready},
        daemon=True,
    )
    thread.start()
    assert event.wait(5)
    (cli_site,) = ready
    r = httpx.get(cli_site.url("/feeds.opml"), timeout=5)
    assert r.status_code == 200
    assert cli_site.base_url.encode() in r.content  # routes were built for the real port
    cli_site.stop()
    thread.join(5)
    assert not thread.is_alive()
