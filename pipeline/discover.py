"""Discover article URLs published in a time window (sitemaps, paged feed archives, URL lists)."""

from __future__ import annotations

import logging
import re
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree
from protego import Protego

from pipeline.dates import parse_w3c_date
from pipeline.errors import FeedError, UnsafeXML
from pipeline.feeds import parse_feed
from pipeline.fetch import Fetcher
from pipeline.names import one_line
from pipeline.records import Entry, Fetch
from pipeline.urls import url_key

# The sitemaps protocol caps one sitemap at 50 MB uncompressed; a .xml.gz is inflated up to this.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
MAX_SITEMAPS = 1000  # sitemap documents fetched per discover_sitemap call (index + children)
MAX_FEED_PAGES = 200  # pages of a paged feed archive
# RFC 9309 2.5: crawlers must parse at least 500 KiB of a robots.txt; the rest may be ignored.
MAX_ROBOTS_BYTES = 500 * 1024
# A robots.txt Crawl-delay larger than this is capped: one hostile line must not stall a run.
MAX_CRAWL_DELAY = 60.0
PAGED_PARAM = "paged"  # WordPress: /feed/?paged=2 is the second page of the feed
WEB_SCHEMES = ("http", "https")
GZIP_MAGIC = b"\x1f\x8b"
DOCUMENT_KIND = "feed"  # Fetch.kind (and Accept header) for sitemaps and feed pages
ROBOTS_KIND = "page"
# 429 is a 4xx but means "come back later", not "there is no robots.txt": treat it like a 5xx.
ROBOTS_UNREACHABLE_4XX = frozenset({429})
DISALLOW_ALL = ("User-agent: *", "Disallow: /")
FEED_ROOTS = frozenset({"rss", "feed", "rdf"})

log = logging.getLogger(__name__)

# Markup declarations as they appear in UTF-8 and UTF-16 documents (XML keywords are case-
# sensitive); libxml2's own entity-amplification limit backs this up for anything else.
_DECLARATION_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")
_INLINE_COMMENT_RE = re.compile(r"\s+#.*$")


@dataclass
class Discovered:
    """An article URL found by discovery, with the date its source gave (None when none)."""

    url: str
    published_at: datetime | None  # timezone-aware UTC
    source: str  # "sitemap:<url>", "feed-archive:<url>" or "urls:<file>"
    entry: Entry | None = None  # the feed entry, when a feed named the URL


# --- robots.txt -------------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class RobotsCache:
    """robots.txt per origin (scheme://host:port), fetched once through the fetcher, on first
    use. Thread-safe: concurrent callers for one origin wait for a single fetch.

    Rules follow RFC 9309 as protego reads them: `*` and `$` wildcards, the longest matching
    rule wins (Allow on a tie), the most specific User-agent group applies, and Crawl-delay may
    be fractional. A 4xx answer (no robots.txt) allows everything; a 5xx, a 429 or a network
    error disallows everything on that origin (logged, and kept in `failures`) for this cache's
    lifetime. Redirects are followed by the fetcher (up to its limit)."""

    def __init__(self, fetcher: Fetcher, user_agent: str | None = None) -> None:
        self.fetcher = fetcher
        self.user_agent = user_agent or fetcher.settings.user_agent
        # Groups are matched on the product token ("news-ingest" of "news-ingest/0.1 (+...)"),
        # so words in the User-Agent's comment (a URL, say) never select a group.
        self.product_token = self.user_agent.split("/", 1)[0].strip()
        self.failures: dict[str, str] = {}  # origin -> why everything there is disallowed
        self._parsers: dict[str, Protego] = {}
        self._origin_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _parser(self, url: str) -> Protego:
        origin = _origin(url)
        with self._lock:
            parser = self._parsers.get(origin)
            if parser is not None:
                return parser
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:
            with self._lock:
                parser = self._parsers.get(origin)
            if parser is None:
                parser = self._load(origin)
                with self._lock:
                    self._parsers[origin] = parser
            return parser

    def _load(self, origin: str) -> Protego:
        robots_url = origin + "/robots.txt"
        fetch = self.fetcher.fetch(robots_url, ROBOTS_KIND)
        status = fetch.status
        if fetch.ok:
            text = fetch.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
            return Protego.parse(text.lstrip("\ufeff"))
        if status is not None and 400 <= status < 500 and status not in ROBOTS_UNREACHABLE_4XX:
            return Protego.parse("")  # no rules: everything allowed
        why = fetch.error or f"HTTP {status}"
        self.failures[origin] = why
        log.warning("%s unreachable (%s): disallowing all of %s", robots_url, why, origin)
        return Protego.parse("\n".join(DISALLOW_ALL))

    def allowed(self, url: str) -> bool:
        """May `url` be fetched? Non-web URLs never are."""
        if urlsplit(url).scheme.lower() not in WEB_SCHEMES:
            return False
        return self._parser(url).can_fetch(url, self.product_token)

    def crawl_delay(self, url: str) -> float | None:
        """The Crawl-delay (seconds, fractions kept) the origin asks of us, or None."""
        return self._parser(url).crawl_delay(self.product_token)

    def sitemaps(self, url: str) -> list[str]:
        """The `Sitemap:` URLs of the origin's robots.txt."""
        return list(self._parser(url).sitemaps)


# --- rate limiting ----------------------------------------------------------------------------


class HostRateLimiter:
    """Spaces requests to one host at least `interval_seconds` apart (or the host's robots.txt
    Crawl-delay when larger, capped at `max_delay`), across threads. Hosts are independent.

    Slots are reserved under a lock and slept for outside it, so waiters for one host leave in
    arrival order, each a full interval after the previous one; the first request is immediate.
    """

    def __init__(
        self,
        interval_seconds: float,
        robots: RobotsCache | None = None,
        max_delay: float = MAX_CRAWL_DELAY,
    ) -> None:
        if interval_seconds < 0:
            raise ValueError("interval_seconds must be >= 0")
        self.interval = float(interval_seconds)
        self.robots = robots
        self.max_delay = max(float(max_delay), self.interval)
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def interval_for(self, url: str) -> float:
        delay = self.robots.crawl_delay(url) if self.robots is not None else None
        if delay is None:
            return self.interval
        return min(max(self.interval, delay), self.max_delay)

    def wait(self, url: str) -> float:
        """Block until `url`'s host may be contacted again; returns the seconds slept."""
        host = (urlsplit(url).hostname or "").lower()
        interval = self.interval_for(url)  # may fetch robots.txt: outside the lock
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + interval
        pause = slot - now
        if pause > 0:
            time.sleep(pause)
        return pause


# --- dates and windows ------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _window(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    since, until = _utc(since), _utc(until)
    if since >= until:
        raise ValueError(f"empty window: since {since.isoformat()} >= until {until.isoformat()}")
    return since, until


def in_window(value: datetime, since: datetime, until: datetime) -> bool:
    """The window is half-open: since <= value < until."""
    return since <= _utc(value) < until


# --- dedupe -----------------------------------------------------------------------------------


def _richness(entry: Entry | None) -> tuple[int, int]:
    if entry is None:
        return (-1, 0)
    fields = (entry.title, entry.summary, entry.content, entry.published_at, entry.image)
    filled = sum(1 for value in fields if value) + bool(entry.authors) + bool(entry.categories)
    return (filled, len(entry.content or "") + len(entry.summary or ""))


def merge_discovered(*groups: Iterable[Discovered]) -> list[Discovered]:
    """One item per url_key, in first-seen order: the first-seen URL and source, the earliest
    date any source gave, and the richest entry (most fields filled, then the most text)."""
    merged: dict[str, Discovered] = {}
    for group in groups:
        for item in group:
            key = url_key(item.url)
            kept = merged.get(key)
            if kept is None:
                merged[key] = Discovered(item.url, item.published_at, item.source, item.entry)
                continue
            if item.published_at is not None and (
                kept.published_at is None or item.published_at < kept.published_at
            ):
                kept.published_at = item.published_at
            if _richness(item.entry) > _richness(kept.entry):
                kept.entry = item.entry
    return list(merged.values())


# --- safe XML ---------------------------------------------------------------------------------


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML: documents declaring entities are refused before parsing (as
    defusedxml does), and the parser never loads DTDs, expands entities or uses the network.

    Raises UnsafeXML or etree.XMLSyntaxError."""
    for encoding in _DECLARATION_ENCODINGS:
        doctype = data.find("<!DOCTYPE".encode(encoding))
        if doctype >= 0 and data.find("<!ENTITY".encode(encoding), doctype) >= 0:
            raise UnsafeXML("refused: the document declares XML entities")
    return etree.fromstring(data, _safe_parser())


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if _local(child) == name:
            return (child.text or "").strip() or None
    return None


def _descendant_text(element: etree._Element, name: str) -> str | None:
    for child in element.iter():
        if child is not element and _local(child) == name:
            return (child.text or "").strip() or None
    return None


def _gunzip(data: bytes, limit: int = MAX_SITEMAP_BYTES) -> bytes:
    """Inflate a .gz body, refusing anything that inflates past `limit` (a gzip bomb)."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, limit)
    except zlib.error as exc:
        raise ValueError(f"corrupt gzip body ({exc})") from exc
    if decompressor.unconsumed_tail:
        raise ValueError(f"gzip body inflates to more than {limit} bytes")
    return out


def _web_url(value: str | None, base: str) -> str | None:
    if not value:
        return None
    try:
        url = urljoin(base, value.strip())
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in WEB_SCHEMES else None


# --- sitemaps ---------------------------------------------------------------------------------


@dataclass
class _Sitemap:
    """What one sitemap document holds: child sitemaps (an index) or (url, date, entry)."""

    children: list[tuple[str, datetime | None]]
    urls: list[tuple[str, datetime | None, Entry | None]]


def _read_sitemap(body: bytes, url: str, headers: dict[str, str]) -> _Sitemap:
    """Raises ValueError (UnsafeXML, bad gzip, not a sitemap) or etree.LxmlError."""
    data = _gunzip(body) if body[:2] == GZIP_MAGIC else body
    data = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not data:
        raise ValueError("empty sitemap")
    if data[:1] != b"<":
        # A text sitemap: one URL per line, no dates.
        lines = data.decode("utf-8", errors="replace").splitlines()
        found = [_web_url(line, url) for line in lines if line.strip()]
        if not found or None in found:
            raise ValueError("not a sitemap: neither XML nor a list of URLs")
        return _Sitemap([], [(u, None, None) for u in found if u])
    root = parse_xml(data)
    kind = _local(root)
    if kind == "sitemapindex":
        children = []
        for node in root:
            if _local(node) == "sitemap":
                child = _web_url(_child_text(node, "loc"), url)
                if child:
                    children.append((child, parse_w3c_date(_child_text(node, "lastmod"))))
        return _Sitemap(children, [])
    if kind == "urlset":
        urls: list[tuple[str, datetime | None, Entry | None]] = []
        for node in root:
            if _local(node) != "url":
                continue
            loc = _web_url(_child_text(node, "loc"), url)
            if not loc:
                continue
            date = parse_w3c_date(_descendant_text(node, "publication_date"))
            if date is None:
                date = parse_w3c_date(_child_text(node, "lastmod"))
            urls.append((loc, date, None))
        return _Sitemap([], urls)
    if kind in FEED_ROOTS:  # search engines accept RSS/Atom feeds as sitemaps
        try:
            feed = parse_feed(data, url, headers)
        except FeedError as exc:
            raise ValueError(str(exc)) from exc
        return _Sitemap(
            [],
            [(e.link, _entry_date(e), e) for e in feed.entries if e.link is not None],
        )
    raise ValueError(f"not a sitemap: XML root <{root.tag}>")


def _fetch(
    url: str, fetcher: Fetcher, robots: RobotsCache, limiter: HostRateLimiter | None
) -> tuple[Fetch | None, str | None]:
    """Fetch a discovery document politely: (fetch, None), or (None, why it was not fetched)."""
    if not robots.allowed(url):
        return None, f"{url}: disallowed by robots.txt"
    if limiter is not None:
        limiter.wait(url)
    return fetcher.fetch(url, DOCUMENT_KIND), None


def _entry_date(entry: Entry) -> datetime | None:
    return entry.published_at or entry.updated_at


def discover_sitemap(
    url: str,
    fetcher: Fetcher,
    since: datetime,
    until: datetime,
    robots: RobotsCache,
    max_sitemaps: int = MAX_SITEMAPS,
    include_undated: bool = False,
    limiter: HostRateLimiter | None = None,
) -> tuple[list[Discovered], list[str]]:
    """URLs of a sitemap (index, urlset, Google News, .xml.gz, text or RSS/Atom) dated in
    [since, until). Returns (items, error lines); never raises for what the server sends.

    An item's date is its news:publication_date, else its <lastmod> (which is a modification
    date: a page edited in the window counts, and the page's own date decides later). Items
    with no usable date are kept only when `include_undated`. Indexes are followed depth-first
    up to `max_sitemaps` fetched documents; a child whose <lastmod> is before `since` is not
    fetched (nothing in it changed in the window). Sitemaps and item URLs that robots.txt
    disallows are left out (and counted in the error lines). Naive datetimes are UTC."""
    since, until = _window(since, until)
    found: list[Discovered] = []
    errors: list[str] = []
    queue = [url]
    seen = {url_key(url)}
    fetched = 0
    while queue:
        if fetched >= max_sitemaps:
            errors.append(f"{url}: stopped after {max_sitemaps} sitemaps, {len(queue)} not read")
            break
        current = queue.pop()
        fetch, refused = _fetch(current, fetcher, robots, limiter)
        if fetch is None:
            errors.append(refused or f"{current}: not fetched")
            continue
        fetched += 1
        if not fetch.ok:
            errors.append(f"{current}: {fetch.error or f'HTTP {fetch.status}'}")
            continue
        base = fetch.final_url or current
        try:
            sitemap = _read_sitemap(fetch.body, base, fetch.headers)
        except (ValueError, etree.LxmlError) as exc:
            errors.append(f"{current}: {one_line(str(exc))}")
            continue
        children = []
        for child, lastmod in sitemap.children:
            key = url_key(child)
            if key in seen:
                continue
            seen.add(key)
            if lastmod is not None and lastmod < since:
                continue
            children.append(child)
        queue.extend(reversed(children))  # pop() then reads them in document order
        source = f"sitemap:{current}"
        undated = disallowed = 0
        for loc, date, entry in sitemap.urls:
            if date is None and not include_undated:
                undated += 1
                continue
            if date is not None and not in_window(date, since, until):
                continue
            if not robots.allowed(loc):
                disallowed += 1
                continue
            found.append(Discovered(loc, date, source, entry))
        if undated:
            errors.append(f"{current}: skipped {undated} undated URLs (include_undated=False)")
        if disallowed:
            errors.append(f"{current}: left out {disallowed} URLs disallowed by robots.txt")
    return merge_discovered(found), errors


# --- paged feed archives ----------------------------------------------------------------------


def page_url(feed_url: str, page: int) -> str:
    """`feed_url` with its `paged` query parameter set to `page` (page 1: the URL as given,
    when it has no `paged`)."""
    parts = urlsplit(feed_url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if page == 1 and not any(k == PAGED_PARAM for k, _ in pairs):
        return feed_url
    replaced = [(k, str(page) if k == PAGED_PARAM else v) for k, v in pairs]
    if not any(k == PAGED_PARAM for k, _ in pairs):
        replaced.append((PAGED_PARAM, str(page)))
    return urlunsplit(parts._replace(query=urlencode(replaced)))


def discover_feed_archive(
    feed_url: str,
    fetcher: Fetcher,
    since: datetime,
    until: datetime,
    robots: RobotsCache,
    max_pages: int = MAX_FEED_PAGES,
    include_undated: bool = False,
    limiter: HostRateLimiter | None = None,
) -> tuple[list[Discovered], list[str]]:
    """Entries of a WordPress-style paged feed (`?paged=2`, `?paged=3`, ...) published in
    [since, until), each carrying its Entry. Returns (items, error lines).

    Reads page 1, 2, ... and stops after a page whose dated entries are all before `since`
    (feeds are newest first), at a 404/410 (the normal end), an error, a body that is not a
    feed, a page without entries, a page with nothing new (a server ignoring `paged` answers
    page 1 again), or after `max_pages`. An entry's date is published_at, else updated_at;
    undated entries are kept only when `include_undated` and never end the walk."""
    since, until = _window(since, until)
    found: list[Discovered] = []
    errors: list[str] = []
    seen: set[str] = set()
    source = f"feed-archive:{feed_url}"
    for page in range(1, max_pages + 1):
        current = page_url(feed_url, page)
        fetch, refused = _fetch(current, fetcher, robots, limiter)
        if fetch is None:
            errors.append(refused or f"{current}: not fetched")
            break
        if not fetch.ok:
            if page == 1 or fetch.status not in (404, 410):
                errors.append(f"{current}: {fetch.error or f'HTTP {fetch.status}'}")
            break
        try:
            feed = parse_feed(fetch.body, fetch.final_url or current, fetch.headers)
        except FeedError as exc:
            errors.append(f"{current}: {exc}")
            break
        keys = {url_key(e.link) if e.link else e.guid for e in feed.entries}
        if not keys:
            if page == 1:
                errors.append(f"{current}: the feed has no entries")
            break
        if keys <= seen:
            errors.append(f"{current}: page {page} has nothing new (is ?{PAGED_PARAM}= ignored?)")
            break
        seen |= keys
        undated = disallowed = 0
        for entry in feed.entries:
            date = _entry_date(entry)
            if entry.link is None:
                continue
            if date is None and not include_undated:
                undated += 1
                continue
            if date is not None and not in_window(date, since, until):
                continue
            if not robots.allowed(entry.link):
                disallowed += 1
                continue
            found.append(Discovered(entry.link, date, source, entry))
        if undated:
            errors.append(f"{current}: skipped {undated} undated entries (include_undated=False)")
        if disallowed:
            errors.append(f"{current}: left out {disallowed} URLs disallowed by robots.txt")
        dates = [d for d in map(_entry_date, feed.entries) if d is not None]
        if dates and all(d < since for d in dates):
            break
    else:
        errors.append(f"{feed_url}: stopped after {max_pages} pages")
    return merge_discovered(found), errors


# --- URL lists --------------------------------------------------------------------------------


def read_url_list(
    path: str | Path, since: datetime | None = None, until: datetime | None = None
) -> list[Discovered]:
    """Read a file of URLs: one per line, optionally followed by whitespace and an ISO date
    (2024-05-01 or 2024-05-01T08:00:00Z; naive is UTC). Blank lines and lines starting with
    `#` are skipped, as is a ` #...` comment after the URL. A dated line outside
    [since, until) is dropped (either bound may be None: open); an undated line is always
    kept, an explicit list being trusted. Duplicates are merged (merge_discovered).

    Raises ValueError naming file and line for a line that is not an http(s) URL or whose
    date cannot be read: a hand-written list should fail loudly rather than lose lines."""
    lo = _utc(since) if since is not None else None
    hi = _utc(until) if until is not None else None
    source = f"urls:{path}"
    items: list[Discovered] = []
    text = Path(path).read_text(encoding="utf-8-sig")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = _INLINE_COMMENT_RE.sub("", line).split()
        if len(fields) > 2:
            raise ValueError(f"{path}:{number}: expected 'URL [DATE]', got {line!r}")
        url = fields[0]
        if _web_url(url, url) != url or not urlsplit(url).hostname:
            raise ValueError(f"{path}:{number}: not an absolute http(s) URL: {url!r}")
        date: datetime | None = None
        if len(fields) == 2:
            date = parse_w3c_date(fields[1])
            if date is None:
                raise ValueError(f"{path}:{number}: unreadable date {fields[1]!r}")
            if (lo is not None and date < lo) or (hi is not None and date >= hi):
                continue
        items.append(Discovered(url, date, source))
    return merge_discovered(items)
