"""Backfill discovery over real HTTP on loopback: sitemaps, paged feed archives, robots, limits."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.discover import (
    Discovered,
    HostRateLimiter,
    RobotsCache,
    UnsafeXML,
    discover_feed_archive,
    discover_sitemap,
    merge_discovered,
    page_url,
    parse_w3c_date,
    parse_xml,
    read_url_list,
)
from pipeline.fetch import Fetcher
from pipeline.loopback import LoopbackSite
from pipeline.records import Entry
from pipeline.settings import Settings

SINCE = datetime(2024, 5, 1, tzinfo=UTC)
UNTIL = datetime(2024, 6, 1, tzinfo=UTC)
XML = "application/xml"
SM_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
ROBOTS = "User-agent: *\nDisallow: /private/\n"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the arguments of each test, never from the caller's environment."""
    import os

    for name in list(os.environ):
        if name.startswith("NEWS_INGEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as served:
        served.set("/robots.txt", ROBOTS.encode(), "text/plain")
        yield served


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    settings = Settings.from_env(
        allow_hosts=("127.0.0.1",), connect_timeout=2.0, read_timeout=5.0, deadline=10.0
    )
    with Fetcher(settings) as shared:
        yield shared


def urlset(items: list[tuple[str, str | None]], prefix: str = "") -> bytes:
    """A urlset of (loc, lastmod); `prefix` puts the sitemap namespace on a prefix."""
    tag = f"{prefix}:" if prefix else ""
    xmlns = f"xmlns:{prefix}" if prefix else "xmlns"
    rows = "".join(
        f"<{tag}url><{tag}loc>{loc}</{tag}loc>"
        + (f"<{tag}lastmod>{lastmod}</{tag}lastmod>" if lastmod else "")
        + f"</{tag}url>"
        for loc, lastmod in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{tag}urlset {xmlns}="{SM_NS}">{rows}</{tag}urlset>'
    ).encode()


def news_sitemap(items: list[tuple[str, str, str]]) -> bytes:
    """A Google News sitemap, sitemap namespace on the `sm:` prefix: (loc, published, lastmod)."""
    rows = "".join(
        f"<sm:url><sm:loc>{loc}</sm:loc><sm:lastmod>{lastmod}</sm:lastmod>"
        "<news:news><news:publication><news:name>Daily</news:name>"
        "<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{published}</news:publication_date>"
        "<news:title>T</news:title></news:news></sm:url>"
        for loc, published, lastmod in items
    )
    return (
        f'<?xml version="1.0"?><sm:urlset xmlns:sm="{SM_NS}" xmlns:news="{NEWS_NS}">'
        f"{rows}</sm:urlset>"
    ).encode()


def sitemap_index(children: list[tuple[str, str | None]]) -> bytes:
    rows = "".join(
        f"<sitemap><loc>{loc}</loc>"
        + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "")
        + "</sitemap>"
        for loc, lastmod in children
    )
    return f'<?xml version="1.0"?><sitemapindex xmlns="{SM_NS}">{rows}</sitemapindex>'.encode()


def rss(items: list[tuple[str, str]]) -> bytes:
    """An RSS 2.0 page of (link, ISO date) items."""
    rows = "".join(
        f"<item><title>Story {link.rsplit('/', 1)[-1]}</title><link>{link}</link>"
        f"<guid>{link}</guid><pubDate>{_rfc822(date)}</pubDate>"
        "<description>Some text</description></item>"
        for link, date in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
        f"<link>http://example.invalid/</link><description>d</description>{rows}</channel></rss>"
    ).encode()


def _rfc822(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%a, %d %b %Y %H:%M:%S +0000")


def urls_of(items: list[Discovered]) -> set[str]:
    return {item.url for item in items}


# -- sitemaps ---------------------------------------------------------------------------------


def test_sitemap_index_keeps_exactly_the_in_window_urls(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    u = site.url
    site.set(
        "/sitemap_index.xml",
        sitemap_index(
            [
                (u("/sitemaps/posts.xml.gz"), "2024-05-31"),
                (u("/sitemaps/news.xml"), None),
                (u("/sitemaps/archive-2023.xml"), "2023-12-31T23:59:59+00:00"),
                (u("/private/sitemap.xml"), "2024-05-31"),
            ]
        ),
        XML,
    )
    posts = urlset(
        [
            (u("/2024/05/first"), "2024-05-01"),  # the window's first instant: kept
            (u("/2024/05/last"), "2024-05-31T23:59:59Z"),
            (u("/2024/04/old"), "2024-04-30T23:59:59Z"),
            (u("/2024/06/new"), "2024-06-01T00:00:00Z"),  # until is exclusive
            (u("/about"), None),
            (u("/private/draft"), "2024-05-10"),  # in the window, but robots.txt says no
        ]
    )
    site.set("/sitemaps/posts.xml.gz", gzip.compress(posts), "application/x-gzip")
    site.set(
        "/sitemaps/news.xml",
        news_sitemap(
            [
                # publication_date wins over lastmod, both ways
                (u("/news/in"), "2024-05-15T10:00:00+02:00", "2024-06-10"),
                (u("/news/out"), "2024-04-01", "2024-05-10"),
            ]
        ),
        XML,
    )
    site.set("/sitemaps/archive-2023.xml", urlset([(u("/2024/05/never"), "2024-05-02")]), XML)
    site.set("/private/sitemap.xml", urlset([(u("/2024/05/hidden"), "2024-05-02")]), XML)
    robots = RobotsCache(fetcher)

    found, errors = discover_sitemap(u("/sitemap_index.xml"), fetcher, SINCE, UNTIL, robots)

    assert urls_of(found) == {u("/2024/05/first"), u("/2024/05/last"), u("/news/in")}
    dates = {item.url: item.published_at for item in found}
    assert dates[u("/news/in")] == datetime(2024, 5, 15, 8, tzinfo=UTC)
    assert dates[u("/2024/05/first")] == SINCE
    assert all(item.entry is None for item in found)
    assert {item.source for item in found} == {
        f"sitemap:{u('/sitemaps/posts.xml.gz')}",
        f"sitemap:{u('/sitemaps/news.xml')}",
    }
    hits = site.hits
    assert hits["/sitemaps/archive-2023.xml"] == 0  # lastmod before the window: not read
    assert hits["/private/sitemap.xml"] == 0  # robots.txt disallows it
    assert hits["/robots.txt"] == 1
    assert any("disallowed by robots.txt" in e and "/private/sitemap.xml" in e for e in errors)
    assert any("1 URLs disallowed" in e for e in errors)
    assert any("1 undated" in e for e in errors)

    # Undated URLs on request; robots.txt is not fetched again by the same cache.
    found, _ = discover_sitemap(
        u("/sitemap_index.xml"), fetcher, SINCE, UNTIL, robots, include_undated=True
    )
    assert u("/about") in urls_of(found)
    assert site.hits["/robots.txt"] == 1


def test_sitemap_dedupes_across_children_and_bounds_the_walk(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    u = site.url
    children = [(u(f"/sm/{n}.xml"), None) for n in range(3)]
    # An index that also lists itself: the cycle is not followed.
    site.set("/index.xml", sitemap_index([(u("/index.xml"), None), *children]), XML)
    for n in range(3):
        site.set(
            f"/sm/{n}.xml",
            urlset([(u(f"/a/{n}"), f"2024-05-0{n + 2}"), (u("/a/x"), f"2024-05-0{n + 2}")]),
            XML,
        )
    robots = RobotsCache(fetcher)

    found, errors = discover_sitemap(u("/index.xml"), fetcher, SINCE, UNTIL, robots)
    assert sorted(urls_of(found)) == sorted([u("/a/0"), u("/a/1"), u("/a/2"), u("/a/x")])
    shared = next(item for item in found if item.url == u("/a/x"))
    assert shared.published_at == datetime(2024, 5, 2, tzinfo=UTC)  # the earliest date
    assert errors == []
    assert site.hits["/index.xml"] == 1

    found, errors = discover_sitemap(u("/index.xml"), fetcher, SINCE, UNTIL, robots, max_sitemaps=2)
    assert urls_of(found) == {u("/a/0"), u("/a/x")}
    assert any("stopped after 2 sitemaps, 2 not read" in e for e in errors)


def test_sitemap_errors_are_lines_not_exceptions(site: LoopbackSite, fetcher: Fetcher) -> None:
    u = site.url
    site.set("/page.xml", b"<html><body>hi</body></html>", "text/html")
    site.set("/broken.xml", b"<urlset><url><loc>http://x/</loc>", XML)
    site.fail("/gone.xml", 410)
    site.set(
        "/index.xml",
        sitemap_index([(u("/page.xml"), None), (u("/broken.xml"), None), (u("/gone.xml"), None)]),
        XML,
    )
    found, errors = discover_sitemap(u("/index.xml"), fetcher, SINCE, UNTIL, RobotsCache(fetcher))
    assert found == []
    assert len(errors) == 3
    assert any("not a sitemap: XML root <html>" in e for e in errors)
    assert any("HTTP 410" in e for e in errors)


def test_text_and_rss_sitemaps(site: LoopbackSite, fetcher: Fetcher) -> None:
    u = site.url
    site.set("/urls.txt", f"{u('/t/1')}\n\n{u('/t/2')}\n".encode(), "text/plain")
    site.set(
        "/feed.xml",
        rss([(u("/r/in"), "2024-05-05T12:00:00"), (u("/r/out"), "2024-03-01T00:00:00")]),
        XML,
    )
    robots = RobotsCache(fetcher)
    found, _ = discover_sitemap(u("/urls.txt"), fetcher, SINCE, UNTIL, robots, include_undated=True)
    assert urls_of(found) == {u("/t/1"), u("/t/2")}
    found, errors = discover_sitemap(u("/feed.xml"), fetcher, SINCE, UNTIL, robots)
    assert urls_of(found) == {u("/r/in")}
    assert found[0].entry is not None and found[0].entry.title == "Story in"
    assert errors == []


def _billion_laughs() -> bytes:
    levels = [' <!ENTITY lol "lol">']
    for n in range(1, 10):
        previous = f"&lol{n - 1};" if n > 1 else "&lol;"
        levels.append(f' <!ENTITY lol{n} "{previous * 10}">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(levels) + "\n]>\n"
        f'<urlset xmlns="{SM_NS}"><url><loc>http://127.0.0.1/&lol9;</loc>'
        "<lastmod>2024-05-02</lastmod></url></urlset>"
    ).encode()


BILLION_LAUGHS = _billion_laughs()


def test_billion_laughs_sitemap_is_refused(site: LoopbackSite, fetcher: Fetcher) -> None:
    assert b"&lol8;&lol8;" in BILLION_LAUGHS and b'"&lol;&lol;' in BILLION_LAUGHS
    site.set("/lol.xml", BILLION_LAUGHS, XML)
    site.set("/lol.xml.gz", gzip.compress(BILLION_LAUGHS), "application/gzip")
    robots = RobotsCache(fetcher)
    started = time.monotonic()
    for path in ("/lol.xml", "/lol.xml.gz"):
        found, errors = discover_sitemap(site.url(path), fetcher, SINCE, UNTIL, robots)
        assert found == []
        assert len(errors) == 1 and "declares XML entities" in errors[0]
    assert time.monotonic() - started < 5
    with pytest.raises(UnsafeXML):
        parse_xml(BILLION_LAUGHS.decode().encode("utf-16-le"))
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<urlset><url><loc>&e;</loc></url></urlset>"
    )
    with pytest.raises(UnsafeXML):
        parse_xml(external)


def test_w3c_dates() -> None:
    assert parse_w3c_date("2024") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_w3c_date("2024-05") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_w3c_date("2024-05-02") == datetime(2024, 5, 2, tzinfo=UTC)
    assert parse_w3c_date("2024-05-02T10:30+02:00") == datetime(2024, 5, 2, 8, 30, tzinfo=UTC)
    assert parse_w3c_date("2024-05-02T10:30:00.123Z") == datetime(
        2024, 5, 2, 10, 30, 0, 123000, tzinfo=UTC
    )
    assert parse_w3c_date("yesterday") is None
    assert parse_w3c_date("0001-01-01T00:00:00+01:00") is None  # overflows UTC
    assert parse_w3c_date("2024-13") is None
    assert parse_w3c_date("") is None


# -- robots.txt -------------------------------------------------------------------------------


def test_robots_fetched_once_per_host_even_from_many_threads(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    site.set(
        "/robots.txt",
        b"User-agent: news-ingest\nDisallow: /members/\nCrawl-delay: 3\n\n"
        b"User-agent: *\nDisallow: /\n\nSitemap: http://127.0.0.1/sitemap.xml\n",
        "text/plain",
    )
    robots = RobotsCache(fetcher)
    results: list[bool] = []

    def check() -> None:
        results.append(robots.allowed(site.url("/news/1")))

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 8  # our group, not "*", applies to us
    assert not robots.allowed(site.url("/members/area"))
    assert not robots.allowed("ftp://127.0.0.1/file")
    assert robots.crawl_delay(site.url("/")) == 3.0
    assert robots.sitemaps(site.url("/")) == ["http://127.0.0.1/sitemap.xml"]
    assert site.hits["/robots.txt"] == 1


def test_robots_4xx_allows_all_and_5xx_disallows_all(fetcher: Fetcher) -> None:
    with LoopbackSite() as missing, LoopbackSite() as broken, LoopbackSite() as forbidden:
        broken.fail("/robots.txt", 503)
        forbidden.fail("/robots.txt", 403)
        robots = RobotsCache(fetcher)
        assert robots.allowed(missing.url("/any/page"))
        assert robots.allowed(forbidden.url("/any/page"))
        assert robots.crawl_delay(missing.url("/")) is None
        assert not robots.allowed(broken.url("/any/page"))
        assert not robots.allowed(broken.url("/other"))
        assert broken.hits["/robots.txt"] == 1
        assert robots.failures == {broken.base_url: "HTTP 503"}
        # A sitemap on a host whose robots.txt is unreachable is not fetched at all.
        found, errors = discover_sitemap(broken.url("/sitemap.xml"), fetcher, SINCE, UNTIL, robots)
        assert found == [] and "disallowed by robots.txt" in errors[0]
        assert broken.hits["/sitemap.xml"] == 0
    # Nobody listens on that port: a network error disallows too.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    robots = RobotsCache(fetcher)
    assert not robots.allowed(closed + "/x")
    assert "connection failed" in robots.failures[closed]


# -- paged feed archives ----------------------------------------------------------------------


def _archive(site: LoopbackSite) -> None:
    u = site.url
    site.set(
        "/feed",
        rss(
            [
                (u("/p/june"), "2024-06-05T09:00:00"),
                (u("/p/may28"), "2024-05-28T09:00:00"),
                (u("/p/may20"), "2024-05-20T09:00:00"),
            ]
        ),
        XML,
    )
    site.set(
        "/feed?paged=2",
        rss([(u("/p/may12"), "2024-05-12T09:00:00"), (u("/p/may02"), "2024-05-02T09:00:00")]),
        XML,
    )
    site.set(
        "/feed?paged=3",
        rss([(u("/p/may01"), "2024-05-01T00:00:00"), (u("/p/apr25"), "2024-04-25T09:00:00")]),
        XML,
    )
    site.fail("/feed?paged=4", 404)


def _targets(site: LoopbackSite, path: str) -> list[str]:
    return [r.target for r in site.requests_for(path)]


def test_feed_archive_walks_pages_until_404(site: LoopbackSite, fetcher: Fetcher) -> None:
    _archive(site)
    u = site.url
    found, errors = discover_feed_archive(u("/feed"), fetcher, SINCE, UNTIL, RobotsCache(fetcher))
    assert urls_of(found) == {
        u("/p/may28"),
        u("/p/may20"),
        u("/p/may12"),
        u("/p/may02"),
        u("/p/may01"),
    }
    assert errors == []  # a 404 past the last page is the normal end
    assert _targets(site, "/feed") == ["/feed", "/feed?paged=2", "/feed?paged=3", "/feed?paged=4"]
    item = next(i for i in found if i.url == u("/p/may12"))
    assert item.source == f"feed-archive:{u('/feed')}"
    assert item.entry is not None and item.entry.title == "Story may12"
    assert item.published_at == datetime(2024, 5, 12, 9, tzinfo=UTC)


def test_feed_archive_stops_at_a_page_entirely_before_since(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    _archive(site)
    u = site.url
    since = datetime(2024, 5, 15, tzinfo=UTC)
    found, errors = discover_feed_archive(u("/feed"), fetcher, since, UNTIL, RobotsCache(fetcher))
    assert urls_of(found) == {u("/p/may28"), u("/p/may20")}
    assert errors == []
    assert _targets(site, "/feed") == ["/feed", "/feed?paged=2"]  # page 3 never requested


def test_feed_archive_stops_when_the_server_ignores_paged(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    u = site.url
    site.set(
        "/blog/feed/",
        rss([(u("/b/1"), "2024-05-20T00:00:00"), (u("/b/2"), "2024-05-19T00:00:00")]),
        XML,
    )
    found, errors = discover_feed_archive(
        u("/blog/feed/?lang=en"), fetcher, SINCE, UNTIL, RobotsCache(fetcher)
    )
    assert urls_of(found) == {u("/b/1"), u("/b/2")}
    assert _targets(site, "/blog/feed/") == ["/blog/feed/?lang=en", "/blog/feed/?lang=en&paged=2"]
    assert len(errors) == 1 and "nothing new" in errors[0]


def test_feed_archive_respects_robots_and_reports_a_bad_first_page(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    u = site.url
    site.set("/private/feed", rss([(u("/x"), "2024-05-20T00:00:00")]), XML)
    site.set("/html", b"<html><body>no feed</body></html>", "text/html")
    robots = RobotsCache(fetcher)
    found, errors = discover_feed_archive(u("/private/feed"), fetcher, SINCE, UNTIL, robots)
    assert found == [] and "disallowed by robots.txt" in errors[0]
    assert site.hits["/private/feed"] == 0
    found, errors = discover_feed_archive(u("/html"), fetcher, SINCE, UNTIL, robots)
    assert found == [] and "not a feed" in errors[0]
    found, errors = discover_feed_archive(u("/missing"), fetcher, SINCE, UNTIL, robots)
    assert found == [] and "HTTP 404" in errors[0]


def test_page_url() -> None:
    assert page_url("https://b.example/feed/", 1) == "https://b.example/feed/"
    assert page_url("https://b.example/feed/", 3) == "https://b.example/feed/?paged=3"
    assert page_url("https://b.example/?feed=rss2&paged=1", 2) == (
        "https://b.example/?feed=rss2&paged=2"
    )


# -- URL lists and merging --------------------------------------------------------------------


def test_read_url_list(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text(
        "\ufeff# backfill for May\n"
        "\n"
        "https://a.example/one\n"
        "  https://a.example/two   2024-05-03   # a comment\n"
        "https://a.example/old 2024-04-30T23:00:00Z\n"
        "https://a.example/june 2024-06-01\n"
        "https://www.a.example/two/?utm_source=x 2024-05-02T12:00:00+00:00\n"
        "https://a.example/naive 2024-05-09T10:00\n",
        encoding="utf-8",
    )
    items = read_url_list(path, SINCE, UNTIL)
    assert [i.url for i in items] == [
        "https://a.example/one",
        "https://a.example/two",
        "https://a.example/naive",
    ]
    assert items[0].published_at is None  # undated: an explicit list is trusted
    assert items[1].published_at == datetime(2024, 5, 2, 12, tzinfo=UTC)  # earliest of the two
    assert items[2].published_at == datetime(2024, 5, 9, 10, tzinfo=UTC)
    assert all(i.source == f"urls:{path}" and i.entry is None for i in items)
    assert len(read_url_list(path)) == 5  # no window: every line

    bad = tmp_path / "bad.txt"
    bad.write_text("https://a.example/ok\nnot-a-url\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: not an absolute"):
        read_url_list(bad)
    bad.write_text("https://a.example/ok someday\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unreadable date"):
        read_url_list(bad)


def test_merge_keeps_earliest_date_and_richest_entry() -> None:
    thin = Entry(guid="g", link="https://a.example/s", title="S")
    rich = Entry(guid="g", link="https://a.example/s", title="S", summary="x", content="<p>y</p>")
    merged = merge_discovered(
        [Discovered("https://a.example/s", datetime(2024, 5, 3, tzinfo=UTC), "sitemap:s")],
        [
            Discovered("http://www.a.example/s/", datetime(2024, 5, 2, tzinfo=UTC), "f", thin),
            Discovered("https://a.example/s?utm_medium=rss", None, "f", rich),
            Discovered("https://a.example/other", None, "urls:l"),
        ],
    )
    assert len(merged) == 2
    first = merged[0]
    assert (first.url, first.source) == ("https://a.example/s", "sitemap:s")
    assert first.published_at == datetime(2024, 5, 2, tzinfo=UTC)
    assert first.entry is rich


def test_window_must_not_be_empty(site: LoopbackSite, fetcher: Fetcher) -> None:
    with pytest.raises(ValueError, match="empty window"):
        discover_sitemap(site.url("/s.xml"), fetcher, UNTIL, SINCE, RobotsCache(fetcher))


# -- rate limiting ----------------------------------------------------------------------------


def test_rate_limiter_spaces_one_host_and_not_others() -> None:
    limiter = HostRateLimiter(0.2)
    started = time.monotonic()
    slept = [limiter.wait("http://a.example/x") for _ in range(3)]
    assert time.monotonic() - started >= 0.4
    assert slept[0] == 0 and all(s > 0 for s in slept[1:])

    limiter = HostRateLimiter(0.2)
    done: dict[str, float] = {}
    waited: dict[str, float] = {}
    start = time.monotonic()

    def hit(name: str, url: str) -> None:
        waited[name] = limiter.wait(url)
        done[name] = time.monotonic() - start

    threads = [
        threading.Thread(target=hit, args=(f"a{n}", f"http://a.example/{n}")) for n in range(3)
    ]
    threads.append(threading.Thread(target=hit, args=("b", "https://b.example/")))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots = sorted(done[f"a{n}"] for n in range(3))
    assert slots[1] - slots[0] >= 0.19 and slots[2] - slots[1] >= 0.19
    assert waited["b"] == 0  # another host never queues behind a.example


def test_rate_limiter_uses_a_larger_crawl_delay_capped(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    robots = RobotsCache(fetcher)
    site.set("/robots.txt", b"User-agent: *\nCrawl-delay: 5\n", "text/plain")
    assert HostRateLimiter(0.5, robots).interval_for(site.url("/a")) == 5.0
    assert HostRateLimiter(0.5, robots, max_delay=2.0).interval_for(site.url("/a")) == 2.0
    assert HostRateLimiter(10.0, robots).interval_for(site.url("/a")) == 10.0
    with LoopbackSite() as plain:  # no robots.txt: the configured interval
        assert HostRateLimiter(0.5, robots).interval_for(plain.url("/a")) == 0.5
    assert site.hits["/robots.txt"] == 1
