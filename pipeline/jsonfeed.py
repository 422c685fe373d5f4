"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/) into the same records as RSS/Atom.

feedparser (6.0.14, the latest release) does not read JSON Feed, so this is our own parser. It
fills `ParsedFeed`/`Entry` exactly as pipeline/feeds.py does for an Atom feed:

| JSON Feed                               | Entry / ParsedFeed                                |
|-----------------------------------------|---------------------------------------------------|
| `id` (a number is read as its text)     | guid; else `url`; else a hash, as for RSS         |
| `url`, else `external_url`              | link (made absolute against the feed's URL)       |
| `title`                                 | title                                             |
| `summary`                               | summary                                           |
| `content_html`, else `content_text`     | content (HTML; plain text becomes paragraphs)     |
| `date_published`                        | published_at (else `date_modified`, as for Atom)  |
| `date_modified`                         | updated_at, the field edit tracking watches       |
| `authors` (1.1), `author` (1.0)         | authors; an item without any takes the feed's     |
| `tags`                                  | tags (free keywords, like media:keywords)         |
| `image`, `banner_image`, an image       | image                                             |
| attachment                              |                                                   |
| feed `title`, `home_page_url`           | ParsedFeed.title, site_url                        |
| feed `hubs`                             | ParsedFeed.hubs (WebSub hub URLs)                 |
| feed `next_url`                         | ParsedFeed.next_url (older items, for backfills)  |

`url` is the article, as the spec says and feed readers (Miniflux, NetNewsWire) read it:
`external_url` names a page the item is about (a link blog's target), used only when an item
has no `url` of its own.

What is wrong is reported as pipeline/feeds.py does for XML: a body that is not JSON, or JSON
that is not a feed, raises FeedError; items that are not objects or identify nothing are
skipped and counted in `ParsedFeed.warning`; a field of the wrong type is ignored.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from pipeline.dates import MAX_FUTURE, parse_datetime
from pipeline.errors import FailureKind, FeedError
from pipeline.names import dedupe, one_line
from pipeline.records import Entry, ParsedFeed, content_guid

VERSION_PREFIX = "https://jsonfeed.org/version/"
# Old 1.0 feeds written before the spec settled use http:// in `version`.
VERSION_PREFIXES = (VERSION_PREFIX, "http://jsonfeed.org/version/")
CONTENT_TYPES = ("application/feed+json", "application/json")
FORMATS = {"1": "json10", "1.1": "json11"}
WEB_SCHEMES = ("http", "https")
IMAGE_MIME_PREFIX = "image/"
# Sanity bounds: a hostile feed must not make one entry carry a million tags.
MAX_TAGS = 200
MAX_AUTHORS = 50

_SPACE_RE = re.compile(r"\s+")
_PARAGRAPH_RE = re.compile(r"\n\s*\n")


def looks_like_json(data: bytes) -> bool:
    """The body starts (after whitespace) like a JSON object or array."""
    return data.lstrip()[:1] in (b"{", b"[")


def is_json_feed_type(content_type: str | None) -> bool:
    """The Content-Type says JSON Feed (or JSON, which JSON Feeds are often served as)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in CONTENT_TYPES


def parse_json_feed(data: bytes, url: str) -> ParsedFeed:
    """Parse a JSON Feed body (already decompressed). `url` is the feed's final URL.

    Raises FeedError: kind soft when the body is not valid JSON (a cut download is fixed by
    the next fetch), kind hard when it is JSON but not a JSON Feed."""
    document = _load(data)
    if not isinstance(document, dict):
        raise FeedError(f"not a feed: got JSON {_json_kind(document)}, not a JSON Feed object")
    version = document.get("version")
    items = document.get("items")
    warnings: list[str] = []
    if not (isinstance(version, str) and version.startswith(VERSION_PREFIXES)):
        # Feed readers accept a versionless object with items and a title or feed_url; so do
        # we, with a warning, but anything else is some other JSON.
        if not isinstance(items, list) or not any(
            isinstance(document.get(k), str) for k in ("title", "feed_url", "home_page_url")
        ):
            raise FeedError(
                "not a feed: got JSON that is not a JSON Feed (no jsonfeed.org version)"
            )
        warnings.append("JSON Feed without a jsonfeed.org version")
        version = None
    if items is None:
        items = []
        warnings.append("JSON Feed without items")
    if not isinstance(items, list):
        raise FeedError(f"not a feed: JSON Feed items is {_json_kind(items)}, not a list")

    feed_authors = _authors(document)
    now = datetime.now(UTC)
    entries: list[Entry] = []
    skipped = 0
    for item in items:
        entry = _make_entry(item, url, feed_authors, now) if isinstance(item, dict) else None
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    if skipped:
        warnings.append(f"skipped {skipped} items that are not objects or identify nothing")
    return ParsedFeed(
        title=_text(document.get("title")),
        site_url=_web_url(document.get("home_page_url"), url),
        entries=entries,
        warning=one_line("; ".join(warnings)) if warnings else None,
        format=_format(version),
        hubs=_hubs(document, url),
        next_url=_web_url(document.get("next_url"), url),
    )


def json_feed_hubs(data: bytes, url: str = "") -> list[str]:
    """The WebSub hub URLs a JSON Feed names in `hubs` (none when it is not a JSON Feed)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    return _hubs(document, url) if isinstance(document, dict) else []


# --- the document -----------------------------------------------------------------------------


def _load(data: bytes) -> Any:
    text = data.decode("utf-8-sig", errors="replace")
    try:
        # strict=False: raw control characters inside strings, which real feeds carry and
        # feed readers accept.
        return json.loads(text, strict=False)
    except RecursionError:
        raise FeedError("malformed JSON Feed: nested too deeply") from None
    except ValueError as exc:
        raise FeedError(one_line(f"malformed JSON Feed: {exc}"), kind=FailureKind.SOFT) from None


def _json_kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _format(version: str | None) -> str:
    if version is None:
        return "json"
    number = version.rstrip("/").rsplit("/", 1)[-1]
    return FORMATS.get(number, "json" + number.replace(".", ""))


def _hubs(document: dict[str, Any], url: str) -> list[str]:
    urls: list[str] = []
    hubs = document.get("hubs")
    for hub in hubs if isinstance(hubs, list) else []:
        if isinstance(hub, dict):
            found = _web_url(hub.get("url"), url)
            if found and found not in urls:
                urls.append(found)
    return urls


# --- items ------------------------------------------------------------------------------------


def _make_entry(
    item: dict[str, Any], feed_url: str, feed_authors: list[str], now: datetime
) -> Entry | None:
    link = _web_url(item.get("url"), feed_url) or _web_url(item.get("external_url"), feed_url)
    title = _text(item.get("title"))
    summary = _text(item.get("summary"))
    content = _content(item)
    updated = _date(item.get("date_modified"), now)
    published = _date(item.get("date_published"), now) or updated
    raw_id = item.get("id")
    guid = str(raw_id).strip() if isinstance(raw_id, (str, int)) and str(raw_id).strip() else None
    guid = guid or link or content_guid(title, published, summary or content)
    if guid is None:
        return None
    return Entry(
        guid=guid,
        link=link,
        title=title,
        summary=summary,
        content=content,
        published_at=published,
        updated_at=updated,
        authors=_authors(item) or list(feed_authors),
        tags=_tags(item.get("tags")),
        image=_image(item, feed_url),
    )


def _content(item: dict[str, Any]) -> str | None:
    content_html = _text(item.get("content_html"), squeeze=False)
    if content_html:
        return content_html
    content_text = _text(item.get("content_text"), squeeze=False)
    if not content_text:
        return None
    paragraphs = [p.strip() for p in _PARAGRAPH_RE.split(content_text) if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def _authors(owner: dict[str, Any]) -> list[str]:
    """`authors` (1.1, a list) or `author` (1.0, one object): their names, de-duplicated."""
    people = owner.get("authors")
    if not isinstance(people, list):
        single = owner.get("author")
        people = [single] if isinstance(single, dict) else []
    names = [_text(p.get("name")) if isinstance(p, dict) else None for p in people[:MAX_AUTHORS]]
    return dedupe([name for name in names if name])


def _tags(value: object) -> list[str]:
    texts = [_text(item) for item in value] if isinstance(value, list) else []
    return dedupe([text for text in texts if text])[:MAX_TAGS]


def _image(item: dict[str, Any], feed_url: str) -> str | None:
    for key in ("image", "banner_image"):
        found = _web_url(item.get(key), feed_url)
        if found:
            return found
    attachments = item.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if not isinstance(attachment, dict):
            continue
        mime = attachment.get("mime_type")
        if isinstance(mime, str) and mime.lower().startswith(IMAGE_MIME_PREFIX):
            found = _web_url(attachment.get("url"), feed_url)
            if found:
                return found
    return None


# --- values -----------------------------------------------------------------------------------


def _text(value: object, squeeze: bool = True) -> str | None:
    """A string field; `squeeze`d ones are plain text (title, names, tags), where publishers
    often leave HTML entities ("&amp;"), which are decoded as feedparser does for RSS."""
    if not isinstance(value, str):
        return None
    text = _SPACE_RE.sub(" ", html.unescape(value)).strip() if squeeze else value.strip()
    return text or None


def _web_url(value: object, base: str) -> str | None:
    text = _text(value)
    if text is None:
        return None
    absolute = urljoin(base, text) if base else text
    try:
        parts = urlsplit(absolute)
    except ValueError:
        return None
    return absolute if parts.scheme.lower() in WEB_SCHEMES and parts.netloc else None


def _date(value: object, now: datetime) -> datetime | None:
    """RFC 3339 dates (the spec's), read leniently by the one date parser; a date further in
    the future than pipeline.dates allows is a publisher's mistake, so none."""
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is not None and parsed > now + MAX_FUTURE:
        return None
    return parsed
