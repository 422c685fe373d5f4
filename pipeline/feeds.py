"""Turn a feed's bytes (RSS 0.9x/1.0/2.0, RDF, Atom) into typed `ParsedFeed`/`Entry` records;
JSON Feed goes through pipeline/jsonfeed.py, into the same records."""

from __future__ import annotations

import calendar
import html
import io
import re
import time
import xml.sax
import zlib
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from pipeline import jsonfeed
from pipeline.dates import MAX_FUTURE, parse_datetime
from pipeline.errors import FailureKind, FeedError
from pipeline.feedlinks import feed_links
from pipeline.names import one_line
from pipeline.records import Entry, ParsedFeed, content_guid

# feedparser sanitizes entry HTML (drops <script>, event handlers, ...): what we store may be
# shown to people later, and the sanitizer keeps every tag an article extractor needs.
SANITIZE_HTML = True
# Relative links inside entry HTML are made absolute against xml:base / the feed URL, because
# once an entry is stored apart from its feed nobody knows what they were relative to.
RESOLVE_RELATIVE_URIS = True
# Used when the caller has no Content-Type: XML's own default (the declaration, else UTF-8)
# then decides the charset. Without any content-type feedparser would assume ISO-8859-1.
DEFAULT_CONTENT_TYPE = "application/xml"
# A gzip bomb must not take the worker down; no real feed is anywhere near this.
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
WEB_SCHEMES = ("http", "https")
ITUNES_SCHEME = "http://www.itunes.com/"
UTF8_BOM = b"\xef\xbb\xbf"
XML_DECLARATIONS = (
    b"<?xml",
    "<?xml".encode("utf-16-le"),
    "<?xml".encode("utf-16-be"),
    b"\xff\xfe" + "<?xml".encode("utf-16-le"),
    b"\xfe\xff" + "<?xml".encode("utf-16-be"),
)
# Root elements that betray a web page rather than a feed.
HTML_ROOTS = frozenset(
    {
        "html",
        "head",
        "body",
        "div",
        "p",
        "span",
        "a",
        "img",
        "br",
        "table",
        "script",
        "meta",
        "title",
        "h1",
        "h2",
        "h3",
        "ul",
        "ol",
        "section",
        "article",
        "main",
        "form",
        "iframe",
    }
)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".bmp", ".svg")
# Bozo exceptions that only say the server's Content-Type header is odd (text/html, none, ...):
# very common for perfectly good feeds, and nothing the entries suffer from.
IGNORED_BOZO = (feedparser.NonXMLContentType,)

_ROOT_RE = re.compile(
    rb"\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<([A-Za-z_][\w:.-]*)",
    re.DOTALL | re.IGNORECASE,
)
_ENTRY_OPEN_RE = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]")
_ENTRY_CLOSE_RE = re.compile(
    rb"</(?:[\w.-]+:)?(?:item|entry)\s*>|<(?:[\w.-]+:)?(?:item|entry)[^<>]*/>"
)
_AUTHOR_SPLIT_RE = re.compile(r"\s*(?:,|;|&|\band\b)\s*", re.IGNORECASE)
_BY_PREFIX_RE = re.compile(r"^\s*by[\s:]+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPACE_RE = re.compile(r"\s+")


def parse_feed(
    body: bytes,
    url: str,
    headers: dict[str, str] | None = None,
    max_bytes: int = MAX_DECOMPRESSED_BYTES,
) -> ParsedFeed:
    """Parse a fetched feed body. `url` is the feed's (final) URL, used to make links absolute;
    `headers` are the HTTP response headers (any case), whose charset feedparser honours;
    `max_bytes` caps a gzipped body (a .gz file served as is) once inflated.

    Raises FeedError when the body is not RSS/Atom/RDF/JSON Feed (empty, HTML page, other
    JSON or XML; kind hard) or could not be read at all (kind soft), and never anything else. An
    ill-formed ("bozo") feed still yields its complete entries, and `ParsedFeed.warning` then
    says in one line what was wrong.
    """
    try:
        return _parse_feed(body, url, headers, max_bytes)
    except FeedError:
        raise
    except Exception as exc:
        raise FeedError(
            one_line(f"feed could not be parsed: {type(exc).__name__}: {exc}"),
            kind=FailureKind.SOFT,
        ) from exc


def _parse_feed(
    body: bytes, url: str, headers: dict[str, str] | None, max_bytes: int
) -> ParsedFeed:
    data = _prepare_body(body, max_bytes)
    if not data.strip():
        raise FeedError("not a feed: empty body")
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    # JSON Feed by its content (whatever the server calls it), or by its declared type.
    if jsonfeed.looks_like_json(data) or jsonfeed.is_json_feed_type(
        response_headers.get("content-type")
    ):
        return jsonfeed.parse_json_feed(data, url)

    response_headers.setdefault("content-type", DEFAULT_CONTENT_TYPE)
    # feedparser resolves relative links against content-location; always the feed URL we
    # fetched, since a server's own Content-Location may be relative or wrong.
    response_headers["content-location"] = url
    response_headers.pop("content-encoding", None)  # already decompressed in _prepare_body

    # A BytesIO, never the bytes themselves: given bytes or str feedparser tries them as a
    # file name or URL, i.e. file system or network I/O.
    parsed = feedparser.parse(
        io.BytesIO(data),
        response_headers=response_headers,
        resolve_relative_uris=RESOLVE_RELATIVE_URIS,
        sanitize_html=SANITIZE_HTML,
    )

    version = parsed.get("version") or None
    raw_entries = list(parsed.get("entries") or [])
    root = _root_element(data)
    if root is not None and root.split(":")[-1].lower() in HTML_ROOTS and not version:
        what = "an HTML page" if root.lower() in ("html", "head", "body") else "an HTML fragment"
        linked = feed_links(data, url)
        hint = f"; it links the feed {linked[0].url}" if linked else ""
        raise FeedError(one_line(f"not a feed: got {what} (<{root}>){hint}"))
    if not version and not raw_entries:
        if root is None:
            raise FeedError("not a feed: no XML element found")
        raise FeedError(f"not a feed: XML root <{root}> is not RSS, Atom or RDF")

    warnings: list[str] = []
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if bozo is not None and not isinstance(bozo, IGNORED_BOZO):
        warnings.append(_describe_bozo(bozo, shifted=not data.startswith(XML_DECLARATIONS)))
    if not version:
        warnings.append("unrecognised feed format")
    if _strict_parse_failed(bozo) and _last_entry_truncated(data, len(raw_entries)):
        # The loose parser keeps a half-read last item (cut title, no link, ...); a truncated
        # download must not store it, the next fetch gets it whole.
        raw_entries.pop()
        warnings.append("dropped the truncated last entry")

    now = datetime.now(UTC)
    entries: list[Entry] = []
    skipped = 0
    for raw in raw_entries:
        entry = _make_entry(raw, url, now)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    if skipped:
        warnings.append(f"skipped {skipped} entries with no guid, link, title, date or text")

    feed = parsed.get("feed") or {}
    return ParsedFeed(
        title=_plain_text(feed.get("title"), feed.get("title_detail")),
        site_url=_absolute_link(feed.get("link"), url),
        entries=entries,
        warning=one_line("; ".join(warnings)) if warnings else None,
        format=version,
        ttl_minutes=_ttl(feed.get("ttl")),
    )


# --- input preparation ------------------------------------------------------------------------


def _prepare_body(body: bytes, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Undo transfer compression left on the body and strip what precedes the XML
    declaration (whitespace, a UTF-8 BOM): expat refuses "<?xml" anywhere but at offset 0, and
    feedparser would then fall back to its far sloppier loose parser."""
    data = bytes(body or b"")
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, min(max_bytes, MAX_DECOMPRESSED_BYTES))
    data = data.removeprefix(UTF8_BOM)
    # Only ASCII whitespace is stripped, so UTF-16/32 bodies (BOM or not) are left intact.
    return data.lstrip(b" \t\r\n\f\v")


def _gunzip(data: bytes, limit: int) -> bytes:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, limit)
    except zlib.error as exc:
        raise FeedError(f"not a feed: corrupt gzip body ({exc})") from exc
    if decompressor.unconsumed_tail:
        raise FeedError(f"not a feed: gzip body decompresses to more than {limit} bytes")
    if not out and not decompressor.eof:
        raise FeedError("not a feed: truncated gzip body with nothing in it")
    # A truncated stream still gives what it had: the truncated-feed handling takes over.
    return out


def _root_element(data: bytes) -> str | None:
    match = _ROOT_RE.match(data[:65536])
    return match.group(1).decode("ascii", "replace") if match else None


def _strict_parse_failed(bozo: object) -> bool:
    return isinstance(bozo, xml.sax.SAXException)


def _last_entry_truncated(data: bytes, n_entries: int) -> bool:
    """True when the body ends inside an <item>/<entry>: its last opening tag comes after the
    last closing one. (Byte regexes: for UTF-16 bodies this finds nothing and keeps all.)"""
    if not n_entries:
        return False
    opens = list(_ENTRY_OPEN_RE.finditer(data))
    if not opens:
        return False
    closes = list(_ENTRY_CLOSE_RE.finditer(data))
    last_close = closes[-1].end() if closes else -1
    return opens[-1].start() >= last_close


def _describe_bozo(exc: BaseException, shifted: bool) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        line = exc.getLineNumber() or 0
        column = exc.getColumnNumber() or 0
        # feedparser prepends its own XML declaration line when the body had none.
        if shifted and line > 1:
            line -= 1
        return f"{exc.getMessage()} at line {line}, column {column}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if isinstance(exc, LookupError | ValueError) else text


# --- entries ----------------------------------------------------------------------------------


def _make_entry(raw: Any, feed_url: str, now: datetime) -> Entry | None:
    """One feedparser entry → Entry, or None when nothing identifies it."""
    link = _absolute_link(raw.get("link"), feed_url)
    title = _plain_text(raw.get("title"), raw.get("title_detail"))
    summary = _text_or_none(raw.get("summary"))
    content = _longest_content(raw.get("content"))
    updated = _entry_date(raw, "updated", now)
    if updated is None:
        # dc:modified (the elements namespace; dcterms:modified feedparser reads as updated).
        updated = _entry_date(raw, "dc_modified", now)
    # Atom feeds with only <updated> and RSS 1.0's dc:date (which feedparser files under
    # "updated") give no other date: that one is then the publication date too.
    published = _entry_date(raw, "published", now) or updated

    guid = _text_or_none(raw.get("id"))
    if guid is None:
        guid = link
    if guid is None:
        guid = content_guid(title, published, summary or content)
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
        authors=_authors(raw),
        categories=_categories(raw),
        tags=_tags(raw),
        image=_image(raw, feed_url),
    )


def _absolute_link(value: object, base: str) -> str | None:
    text = _text_or_none(value)
    if text is None:
        return None
    try:
        absolute = urljoin(base, text)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    # tag:, urn:, javascript: and friends are ids, not fetchable pages.
    return absolute if scheme in WEB_SCHEMES else None


def _longest_content(contents: object) -> str | None:
    """content:encoded / Atom <content>; feedparser gives a list, keep the longest value."""
    if not isinstance(contents, list):
        return None
    values = [c.get("value") for c in contents if isinstance(c, dict)]
    texts = [v for v in values if isinstance(v, str) and v.strip()]
    return max(texts, key=len) if texts else None


# --- dates ------------------------------------------------------------------------------------


def _entry_date(raw: Any, key: str, now: datetime) -> datetime | None:
    # dict.get, not raw.get: FeedParserDict quietly answers "updated" with "published" (a
    # deprecated fallback), which would invent an updated_at for every RSS item.
    parsed = dict.get(raw, f"{key}_parsed")
    value: datetime | None = None
    if isinstance(parsed, time.struct_time):
        try:
            # feedparser normalises *_parsed to UTC; timegm reads a struct_time as UTC.
            value = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (OverflowError, ValueError, OSError):
            value = None
    if value is None:
        value = parse_datetime(dict.get(raw, key))
    if value is not None and value > now + MAX_FUTURE:
        return None  # a typo'd year or a scheduled post: not a real publication time
    return value


def _ttl(value: object) -> int | None:
    text = _text_or_none(value)
    if text is None or not text.isdigit():
        return None
    return int(text)


# --- people, categories, images ---------------------------------------------------------------


def _authors(raw: Any) -> list[str]:
    """author, authors and dc:creator (feedparser folds both into `authors`), split into
    people, "By " and e-mail addresses dropped, de-duplicated case-insensitively."""
    candidates: list[str] = []
    for detail in raw.get("authors") or []:
        if isinstance(detail, dict) and isinstance(detail.get("name"), str):
            candidates.append(detail["name"])
    if isinstance(raw.get("author"), str):
        candidates.append(raw["author"])
    names: list[str] = []
    for candidate in candidates:
        names.extend(split_authors(candidate))
    return _dedupe(names)


def split_authors(value: str) -> list[str]:
    """'By A, B and C' → ['A', 'B', 'C']; 'jo@example.com (Jo Smith)' → ['Jo Smith']."""
    text = html.unescape(_SPACE_RE.sub(" ", value)).strip()
    # "mail (Name)" and "Name <mail>": keep the name before splitting, the comma-free part.
    text = re.sub(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*\(([^()]*)\)", r"\1", text)
    text = re.sub(r"<\s*[\w.+-]+@[^>]*>", "", text)
    text = re.sub(r"\(\s*[\w.+-]+@[^)]*\)", "", text)
    names = []
    for part in _AUTHOR_SPLIT_RE.split(_BY_PREFIX_RE.sub("", text)):
        part = _BY_PREFIX_RE.sub("", part).strip(" \t-–—|·")
        if not part or _EMAIL_RE.fullmatch(part) or "://" in part:
            continue
        names.append(part)
    return names


def _media_keywords(raw: Any) -> set[str]:
    value = raw.get("media_keywords")
    return {k.strip().lower() for k in value.split(",")} if isinstance(value, str) else set()


def _categories(raw: Any) -> list[str]:
    """RSS <category>, Atom <category term/label> and media:category."""
    keywords = _media_keywords(raw)
    values: list[str] = []
    for tag in raw.get("tags") or []:
        scheme = tag.get("scheme")
        term = tag.get("label") or tag.get("term")
        if not isinstance(term, str) or scheme == ITUNES_SCHEME:
            continue
        # feedparser files media:keywords as scheme-less tags too; they are tags, not
        # categories (a <category> with the very same text is indistinguishable and lost here).
        if scheme is None and term.strip().lower() in keywords:
            continue
        values.extend(_split_terms(term))
    return _dedupe(values)


def _tags(raw: Any) -> list[str]:
    """media:keywords and itunes:keywords/itunes:category (comma-separated free keywords)."""
    values: list[str] = []
    media = raw.get("media_keywords")
    if isinstance(media, str):
        values.extend(_split_terms(media))
    for tag in raw.get("tags") or []:
        if tag.get("scheme") == ITUNES_SCHEME and isinstance(tag.get("term"), str):
            values.extend(_split_terms(tag["term"]))
    return _dedupe(values)


def _split_terms(value: str) -> list[str]:
    return [_SPACE_RE.sub(" ", t).strip() for t in html.unescape(value).split(",") if t.strip()]


def _image(raw: Any, feed_url: str) -> str | None:
    """media:content (an image), then media:thumbnail, then an image enclosure, then
    itunes:image."""
    candidates: list[object] = []
    for media in raw.get("media_content") or []:
        medium = (media.get("medium") or "").lower()
        mime = (media.get("type") or "").lower()
        url = media.get("url") or ""
        # Many feeds give media:content neither medium nor type; trust the file extension then.
        untyped_image = not medium and not mime and _looks_like_image(url)
        if medium == "image" or mime.startswith("image/") or untyped_image:
            candidates.append(url)
    candidates.extend(thumb.get("url") for thumb in raw.get("media_thumbnail") or [])
    candidates.extend(
        link.get("href")
        for link in raw.get("links") or []
        if link.get("rel") == "enclosure" and (link.get("type") or "").startswith("image/")
    )
    image = raw.get("image")
    if isinstance(image, dict):
        candidates.append(image.get("href"))
    for candidate in candidates:
        if absolute := _absolute_link(candidate, feed_url):
            return absolute
    return None


def _looks_like_image(url: str) -> bool:
    try:
        return urlsplit(url).path.lower().endswith(IMAGE_EXTENSIONS)
    except ValueError:
        return False


# --- text helpers -----------------------------------------------------------------------------


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain_text(value: object, detail: object = None) -> str | None:
    """Titles are plain text; feedparser hands over HTML when the feed escaped markup in them."""
    text = _text_or_none(value)
    if text is None:
        return None
    mime = detail.get("type") if isinstance(detail, dict) else None
    if mime is None or "html" in str(mime) or "<" in text or "&" in text:
        collector = _TextCollector()
        collector.feed(text)
        collector.close()
        text = "".join(collector.parts)
    return _text_or_none(_SPACE_RE.sub(" ", text))


def _text_or_none(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = value.casefold()
        if value and key not in seen:
            seen.add(key)
            out.append(value)
    return out
