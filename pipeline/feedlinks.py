"""Feeds a web page advertises: `<link rel="alternate" type="...">` for RSS, Atom and JSON Feed.

A user often hands us a site's home page, not its feed. The page names its feeds in its head
(the RSS autodiscovery convention, which JSON Feed follows with `application/feed+json`); the
feed parser uses this to say, in its one-line error, which URL to register instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree, html

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
    "application/feed+json": "json",
    "application/json": "json",
}
WEB_SCHEMES = ("http", "https")
MAX_LINKS = 20


@dataclass(frozen=True)
class FeedLink:
    """One feed a page links: its absolute URL, format (rss|atom|rdf|json) and title."""

    url: str
    format: str
    title: str | None = None


def feed_links(page: bytes, base_url: str) -> list[FeedLink]:
    """The feeds an HTML page links in `<link rel="alternate">`, in page order, without
    repeats; none when the bytes are no HTML. `base_url` (or the page's <base href>) makes
    relative hrefs absolute."""
    try:
        root = html.fromstring(page)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for element in root.iter("base"):
        href = element.get("href")
        if href:
            base = urljoin(base_url, href.strip())
            break
    found: list[FeedLink] = []
    seen: set[str] = set()
    for element in root.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = FEED_TYPES.get((element.get("type") or "").split(";")[0].strip().lower())
        href = (element.get("href") or "").strip()
        if "alternate" not in rel or kind is None or not href:
            continue
        url = urljoin(base, href)
        if urlsplit(url).scheme.lower() not in WEB_SCHEMES or url in seen:
            continue
        seen.add(url)
        title = " ".join((element.get("title") or "").split()) or None
        found.append(FeedLink(url=url, format=kind, title=title))
        if len(found) == MAX_LINKS:
            break
    return found
