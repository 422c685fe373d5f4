"""Small typed records that flow one way: feeds → entries → pages → articles → tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.errors import FailureKind


@dataclass
class FeedState:
    """A registered feed as the warehouse knows it before a run."""

    feed_id: int
    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Fetch:
    """One HTTP attempt (a row of `fetches`), with its body when one came."""

    url: str
    kind: str  # "feed" or "page"
    started_at: datetime
    final_url: str | None = None
    status: int | None = None  # None when no response came
    error: str | None = None  # None on success
    # Set with `error`, where the failure happened: what it means for trying again.
    failure_kind: FailureKind | None = None
    elapsed_ms: int = 0
    body: bytes = b""  # decoded (Content-Encoding undone)
    # The body as sent, still gzip/deflate/br-encoded: archived in place of `body`, then dropped.
    raw_body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    redirects: list[tuple[int, str]] = field(default_factory=list)  # (status, location) per hop
    feed_id: int | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class Entry:
    """One item of a parsed feed."""

    guid: str  # exactly as the feed gives it; the link when it gives none
    link: str | None
    title: str | None = None
    summary: str | None = None
    content: str | None = None  # content:encoded / Atom content (HTML)
    published_at: datetime | None = None  # timezone-aware UTC
    updated_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    image: str | None = None


HASH_GUID_PREFIX = "sha1:"


def content_guid(title: str | None, published: datetime | None, text: str | None) -> str | None:
    """Stable guid for a feed entry with neither id nor link: sha1 of title + published date,
    or of its text when it has neither (RSS 0.91 allows description-only items). Stable as
    long as the publisher does not edit those fields; None when there is nothing to hash."""
    if title or published:
        basis = f"{title or ''}\n{published.isoformat() if published else ''}"
    elif text:
        basis = text
    else:
        return None
    return HASH_GUID_PREFIX + hashlib.sha1(basis.encode("utf-8")).hexdigest()


@dataclass
class ParsedFeed:
    """What feedparser made of a feed's bytes."""

    title: str | None
    site_url: str | None
    entries: list[Entry]
    warning: str | None = None  # feedparser's bozo exception, when any
    format: str | None = None  # e.g. "rss20", "atom10"
    ttl_minutes: int | None = None
    hubs: list[str] = field(default_factory=list)  # WebSub hubs a JSON Feed names
    next_url: str | None = None  # JSON Feed: the page of older items


@dataclass
class Article:
    """An article extracted from a page (or from its feed entry when the page failed)."""

    url: str  # the page's URL after redirects
    canonical_url: str
    url_key: str
    title: str | None
    text: str
    language: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None
    site_name: str | None = None
    description: str | None = None
    image: str | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    content_hash: str = ""
    source: str = "page"  # "page" or "feed" (fallback)
    fallback_reason: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)  # field -> source name
    confidence: dict[str, float] = field(default_factory=dict)  # field -> 0..1, beside provenance
    access: str = "unknown"  # free | metered | subscription | unknown (pipeline.extract.access)
    extractor_version: str = ""
    correction: str | None = None  # the JSON-LD `correction` notice (edit tracking)
    signature: bytes | None = None  # MinHash of the text (pipeline.neardup); None when too short
    shingles: int = 0


@dataclass
class FeedResult:
    """A feed's fetch and what its bytes parsed to."""

    feed: FeedState
    fetch: Fetch
    parsed: ParsedFeed | None = None
    error: str | None = None  # fetch or parse error, one line

    @property
    def entries(self) -> list[Entry]:
        return self.parsed.entries if self.parsed else []


@dataclass
class PendingPage:
    """An article page to fetch, with every feed entry that links to it."""

    url: str
    link_key: str
    entry: Entry  # the first-seen entry: its metadata joins the page's, its text is the fallback
    entry_refs: list[tuple[int, str]] = field(default_factory=list)  # (feed_id, entry_key)
    article_id: int | None = None  # set when the page is fetched again for a new version


@dataclass
class StoredPage:
    """An article's archived raw response, and the entry that led to it, for re-extraction."""

    article_id: int
    url: str
    warc_file: str
    warc_offset: int
    entry: Entry | None


@dataclass
class PageResult:
    """A page's fetch and the article extracted from it (or from its entry)."""

    page: PendingPage
    fetch: Fetch
    article: Article | None = None
    error: str | None = None


@dataclass
class RevisitTarget:
    """A watched article due for a revisit, with what its last fetch left to compare."""

    article_id: int
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None


@dataclass
class RevisitResult:
    """A revisit's fetch, what it found (pipeline.revisit.outcome), the body's hash and, for
    a changed page, its extraction."""

    target: RevisitTarget
    fetch: Fetch
    outcome: str
    body_hash: str | None = None
    article: Article | None = None
    error: str | None = None
