"""robots.txt as RFC 9309 reads it (protego), fetched over loopback: wildcards, the longest match,
fractional Crawl-delay, user-agent groups, and the backfill's pacing that follows it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pipeline.discover import HostRateLimiter, RobotsCache
from pipeline.fetch import Fetcher
from pipeline.loopback import LoopbackSite
from pipeline.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the arguments of each test, never from the caller's environment."""
    for name in list(os.environ):
        if name.startswith("NEWS_INGEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as served:
        yield served


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    settings = Settings.from_env(
        allow_hosts=("127.0.0.1",), connect_timeout=2.0, read_timeout=5.0, deadline=10.0
    )
    with Fetcher(settings) as shared:
        yield shared


def robots_for(site: LoopbackSite, fetcher: Fetcher, text: str) -> RobotsCache:
    """A fresh cache (robots.txt is read once per origin and cache) over `text`."""
    site.set("/robots.txt", text.encode(), "text/plain")
    return RobotsCache(fetcher)


def test_wildcard_and_end_anchor(site: LoopbackSite, fetcher: Fetcher) -> None:
    robots = robots_for(site, fetcher, "User-agent: *\nDisallow: /*.pdf$\nDisallow: /tmp*/x\n")
    assert not robots.allowed(site.url("/a/b.pdf"))
    assert not robots.allowed(site.url("/b.pdf"))
    assert robots.allowed(site.url("/a/b.pdf?x"))  # `$` anchors at the end of path and query
    assert robots.allowed(site.url("/a/b.pdfx"))
    assert robots.allowed(site.url("/a/b.html"))
    assert not robots.allowed(site.url("/tmp-2024/x"))
    assert robots.allowed(site.url("/tmp-2024/y"))


@pytest.mark.parametrize(
    "rules",
    ["Allow: /news/public\nDisallow: /news\n", "Disallow: /news\nAllow: /news/public\n"],
    ids=["allow-first", "disallow-first"],
)
def test_longest_match_wins_whatever_the_order(
    site: LoopbackSite, fetcher: Fetcher, rules: str
) -> None:
    robots = robots_for(site, fetcher, "User-agent: *\n" + rules)
    assert robots.allowed(site.url("/news/public/x"))
    assert robots.allowed(site.url("/news/public"))
    assert not robots.allowed(site.url("/news/other"))
    assert not robots.allowed(site.url("/news"))
    assert robots.allowed(site.url("/sport/1"))


def test_fractional_crawl_delay(site: LoopbackSite, fetcher: Fetcher) -> None:
    robots = robots_for(site, fetcher, "User-agent: *\nCrawl-delay: 0.5\n")
    assert robots.crawl_delay(site.url("/")) == 0.5
    # The backfill spaces requests by the larger of --interval and Crawl-delay: a fractional
    # delay above the interval now counts, one below it leaves the interval.
    assert HostRateLimiter(0.2, robots).interval_for(site.url("/a")) == 0.5
    assert HostRateLimiter(1.0, robots).interval_for(site.url("/a")) == 1.0
    robots = robots_for(site, fetcher, "User-agent: *\nCrawl-delay: 1.5\n")
    assert HostRateLimiter(1.0, robots).interval_for(site.url("/a")) == 1.5


def test_our_product_token_picks_the_group(site: LoopbackSite, fetcher: Fetcher) -> None:
    robots = robots_for(
        site,
        fetcher,
        "User-agent: *\nDisallow: /\n\n"
        "User-agent: github\nDisallow: /\n\n"  # a word of our User-Agent's comment, not our name
        "User-agent: News-Ingest\nDisallow: /members/\nCrawl-delay: 2.5\n",
    )
    assert robots.product_token == "news-ingest"
    assert robots.allowed(site.url("/news/1"))  # our group, not "*", applies to us
    assert not robots.allowed(site.url("/members/area"))
    assert robots.crawl_delay(site.url("/")) == 2.5
    other = RobotsCache(fetcher, user_agent="otherbot/2.0")
    assert not other.allowed(site.url("/news/1"))
    assert other.crawl_delay(site.url("/")) is None


def test_a_robots_txt_of_no_rules_allows_all(site: LoopbackSite, fetcher: Fetcher) -> None:
    robots = robots_for(site, fetcher, "\ufeff# nothing here\nSitemap: /sitemap.xml\n")
    assert robots.allowed(site.url("/any/page"))
    assert robots.crawl_delay(site.url("/")) is None
    assert robots.sitemaps(site.url("/")) == ["/sitemap.xml"]
