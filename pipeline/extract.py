"""Turn a fetched page (plus its feed entry) into an Article with per-field provenance."""

from __future__ import annotations

import codecs
import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.utils import load_html

from pipeline.dedup import content_hash
from pipeline.metadata import Candidates, PageMetadata, clean_text, dedupe, read_metadata
from pipeline.records import Article, Entry
from pipeline.urls import canonicalize, registrable_host, same_site, url_key

EXTRACTOR_VERSION = f"news-ingest-extract/1+trafilatura-{trafilatura.__version__}"

# Which source wins each field: the first one in the tuple that offers a valid value.
# JSON-LD is written for search engines and is the most carefully kept; OpenGraph is written for
# social cards (titles there are sometimes shortened or teased); the feed entry describes the same
# article but is often truncated; trafilatura's own metadata is a heuristic last resort.
PRECEDENCE: dict[str, tuple[str, ...]] = {
    "title": ("jsonld", "opengraph", "feed", "meta", "trafilatura"),
    "authors": ("jsonld", "meta", "opengraph", "feed", "trafilatura"),
    "published_at": ("jsonld", "opengraph", "meta", "feed", "trafilatura", "url"),
    "modified_at": ("jsonld", "opengraph", "meta", "feed"),
    "site_name": ("opengraph", "jsonld", "meta", "trafilatura"),
    "language": ("meta", "jsonld", "opengraph", "trafilatura"),
    "description": ("opengraph", "jsonld", "meta", "feed", "trafilatura"),
    "image": ("opengraph", "jsonld", "meta", "feed", "trafilatura"),
    "categories": ("jsonld", "opengraph", "meta", "rel-tag", "feed", "trafilatura"),
    "tags": ("jsonld", "opengraph", "meta", "rel-tag", "feed", "trafilatura"),
}
# Article field -> attribute of metadata.Candidates holding it.
CANDIDATE_ATTR = {"published_at": "published", "modified_at": "modified"}
# trafilatura.bare_extraction options chosen by scripts/evaluate_extraction.py on the corpus.
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "favor_precision": False,
    "deduplicate": False,
}
# Dates further ahead than this are typos or event dates, not publication dates.
MAX_FUTURE = timedelta(days=1)
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
# Separators between a headline and the site name in <title>-like strings.
TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ", " • ", " / ", ": ")
AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\||&|\band\b|\bund\b|\by\b)\s*", re.IGNORECASE)
AUTHOR_PREFIX = re.compile(r"^(?:by|von|par|por|door|av|from)\s*:?\s+", re.IGNORECASE)
# Trailing job words of bylines ("홍길동 기자" = "reporter Hong Gildong").
AUTHOR_SUFFIX = re.compile(r"\s*(?:기자|記者|特派員|편집위원)$")
MAX_AUTHOR_LEN = 60
BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "section",
     "article", "pre", "ul", "ol", "table", "figure", "figcaption"}
)
HTML_CONTENT_TYPES = ("html", "xml", "text/plain")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", re.I)
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](\d\d)[/-](\d\d)(?:/|[^0-9]|$)")
_ISO_IN_TEXT = re.compile(
    r"((?:19|20)\d\d-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:?\d\d)?)"
)
# CMS/analytics labels that leak into keyword fields: ids, "key: value" pairs, domains, slugs.
_MACHINE_LABEL = re.compile(
    r"[0-9a-f-]{16,}|\d+|.|[^\s]*_[^\s]*|[a-z0-9-]+(?:\.[a-z0-9-]+)+|.*:\S.*|\w[\w ]*: .*"
)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n\s*\n+")
_LATIN1_ALIASES = frozenset({"iso8859-1", "latin-1", "cp1252", "iso8859-15", "ascii"})


class ExtractionError(Exception):
    """Raised by `extract_article` only when the page yields no text, no title+description and
    there is no feed entry to fall back to."""


# --------------------------------------------------------------------------- decoding


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_html(html: bytes, headers: dict[str, str] | None = None) -> str:
    """Decode page bytes: HTTP charset, then <meta charset>, then UTF-8 with replacement."""
    declared: list[str] = []
    content_type = _header(headers, "content-type")
    if content_type:
        match = _HEADER_CHARSET.search(content_type)
        if match:
            declared.append(match.group(1))
    meta_match = _META_CHARSET.search(html[:4096])
    if meta_match:
        declared.append(meta_match.group(1).decode("ascii", "ignore"))
    for name in declared:
        codec = _codec(name)
        if codec is None:
            continue
        # A page labelled Latin-1 that is valid non-ASCII UTF-8 is mislabelled UTF-8 in practice.
        if codec in _LATIN1_ALIASES and not html.isascii():
            try:
                return html.decode("utf-8")
            except UnicodeDecodeError:
                pass
        try:
            return html.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return html.decode("utf-8", errors="replace")


def _header(headers: dict[str, str] | None, name: str) -> str:
    if not headers:
        return ""
    for key, value in headers.items():
        if key.lower() == name:
            return value or ""
    return ""


def _not_html_reason(html: bytes, headers: dict[str, str] | None) -> str | None:
    """Why these bytes are not an HTML page, or None when they may be one."""
    if not html or not html.strip():
        return "empty-body"
    content_type = _header(headers, "content-type").lower()
    if content_type and not any(t in content_type for t in HTML_CONTENT_TYPES):
        return f"not-html:{content_type.split(';')[0].strip()}"
    head = html[:1024].lstrip()
    if head.startswith(b"%PDF") or b"\x00" in head:
        return "not-html:binary"
    return None


# --------------------------------------------------------------------------- values


def parse_datetime(value: object, now: datetime | None = None) -> datetime | None:
    """A timezone-aware UTC datetime from the date formats pages use; None when unreadable,
    implausibly old, or more than MAX_FUTURE ahead of `now`."""
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        parsed = _parse_date_string(value.strip())
    if parsed is None:
        return None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    limit = (now or datetime.now(UTC)) + MAX_FUTURE
    if parsed > limit or parsed < EARLIEST_DATE:
        return None
    return parsed


def _parse_date_string(text: str) -> datetime | None:
    if text.isdigit() and len(text) in (10, 13):  # Unix epoch seconds / milliseconds
        try:
            return datetime.fromtimestamp(int(text) / (1000 if len(text) == 13 else 1), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    match = _ISO_IN_TEXT.search(text)
    if match:
        try:
            return datetime.fromisoformat(match.group(1))
        except ValueError:
            return None
    return None


def _date_from_url(url: str) -> str | None:
    match = _URL_DATE.search(url)
    if not match:
        return None
    year, month, day = match.groups()
    return f"{year}-{month}-{day}"


def clean_authors(names: list[str]) -> list[str]:
    """Split joined bylines, strip "By", drop URLs/emails/non-names, de-duplicate."""
    out: list[str] = []
    for raw in names:
        for part in AUTHOR_SPLIT.split(raw):
            name = clean_text(AUTHOR_SUFFIX.sub("", AUTHOR_PREFIX.sub("", part.strip())))
            if not name or len(name) > MAX_AUTHOR_LEN:
                continue
            if "@" in name or "://" in name or name.lower().startswith("www."):
                continue
            if not any(ch.isalpha() for ch in name):
                continue
            parts = name.split("-")
            if " " not in name and len(parts) > 1 and name.islower() and min(map(len, parts)) > 1:
                name = name.replace("-", " ").title()  # a profile slug such as "jane-doe"
            out.append(name)
    return dedupe(out)


def split_tags(values: list[str] | str | None) -> list[str]:
    """Tags from trafilatura (one comma-joined string, or a list of them): split, trim, de-dupe
    case-insensitively keeping the first display form."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    parts: list[str] = []
    for value in values:
        if isinstance(value, str):
            parts.extend(value.split(","))
    cleaned = [p for p in (clean_text(x) for x in parts) if p]
    return dedupe([p for p in cleaned if not _MACHINE_LABEL.fullmatch(p)])


def strip_site_name(title: str, site_names: list[str]) -> str:
    """Drop a " | Site" / " - Site" suffix (or "Site | " prefix) naming the site."""
    keys = {s.casefold() for s in site_names if s}
    if not keys:
        return title
    for sep in TITLE_SEPARATORS:
        if sep not in title:
            continue
        head, _, tail = title.rpartition(sep)
        if head.strip() and _names_site(tail, keys):
            return head.strip()
        first, _, rest = title.partition(sep)
        if rest.strip() and _names_site(first, keys):
            return rest.strip()
    return title


def _names_site(part: str, keys: set[str]) -> bool:
    folded = part.strip().casefold()
    return bool(folded) and any(folded == k or folded.replace(" ", "") == k for k in keys)


def _language(value: str | None) -> str | None:
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip())[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment (feed content), one paragraph per block element."""
    if not fragment or not fragment.strip():
        return ""
    if "<" not in fragment:
        return _tidy(fragment)
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy(re.sub(r"<[^>]+>", " ", fragment))
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in BLOCK_TAGS:
            el.tail = "\n\n" + (el.tail or "")
    return _tidy(root.text_content())


def _tidy(text: str) -> str:
    lines = [_SPACE.sub(" ", line).strip() for line in text.replace("\xa0", " ").split("\n")]
    return _LINES.sub("\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------- sources


def _feed_candidates(entry: Entry | None) -> Candidates:
    if entry is None:
        return Candidates()
    return Candidates(
        title=clean_text(entry.title),
        description=html_to_text(entry.summary) or None,
        image=entry.image,
        published=entry.published_at.isoformat() if entry.published_at else None,
        modified=entry.updated_at.isoformat() if entry.updated_at else None,
        authors=list(entry.authors),
        categories=list(entry.categories),
        tags=list(entry.tags),
    )


def _trafilatura_candidates(doc: Any) -> Candidates:
    if doc is None:
        return Candidates()
    author = getattr(doc, "author", None)
    return Candidates(
        title=clean_text(doc.title),
        description=clean_text(doc.description),
        site_name=clean_text(doc.sitename),
        image=clean_text(doc.image),
        language=clean_text(doc.language),
        published=clean_text(doc.date),
        authors=author.split(";") if isinstance(author, str) else [],
        categories=split_tags(doc.categories),
        tags=split_tags(doc.tags),
    )


def _valid(field_name: str, value: Any, now: datetime) -> Any:
    """The value cleaned for the Article field, or None/empty when it does not qualify."""
    if field_name in ("published_at", "modified_at"):
        return parse_datetime(value, now)
    if field_name == "authors":
        return clean_authors(value)
    if field_name in ("categories", "tags"):
        return split_tags(value)
    if field_name == "language":
        return _language(value)
    return clean_text(value)


def _is_site_like(name: str, site_keys: set[str]) -> bool:
    """An author that is really the publication ("mdr.de", "Lesotho Times")."""
    folded = name.casefold()
    squeezed = folded.replace(" ", "")
    return any(k in (folded, squeezed) or squeezed.startswith(k) for k in site_keys if k)


def _choose_authors(
    sources: dict[str, Candidates], site_keys: set[str], now: datetime
) -> tuple[list[str], str]:
    """Authors by PRECEDENCE, but a source naming only the site itself yields to a later source
    naming people; site names are dropped from lists that also name people."""
    fallback: tuple[list[str], str] = ([], "")
    for source in PRECEDENCE["authors"]:
        cand = sources.get(source)
        if cand is None:
            continue
        names = clean_authors(cand.authors)
        if not names:
            continue
        people = [n for n in names if not _is_site_like(n, site_keys)]
        if people and (source != "trafilatura" or not fallback[0]):
            return people, source
        if not fallback[0]:
            fallback = (names, source)
    return fallback


def _site_keys(url: str, sources: dict[str, Candidates]) -> set[str]:
    keys = {c.site_name.casefold().replace(" ", "") for c in sources.values() if c.site_name}
    host = registrable_host(url)
    keys.add(host)
    keys.add(host.split(".")[0])
    return {k for k in keys if len(k) >= 3}


def _choose(field_name: str, sources: dict[str, Candidates], now: datetime) -> tuple[Any, str]:
    attr = CANDIDATE_ATTR.get(field_name, field_name)
    for source in PRECEDENCE[field_name]:
        cand = sources.get(source)
        if cand is None:
            continue
        value = _valid(field_name, getattr(cand, attr), now)
        if value:
            return value, source
    return None, ""


def _merge(
    url: str,
    page: PageMetadata | None,
    sources: dict[str, Candidates],
    text: str,
    now: datetime,
) -> Article:
    chosen: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for field_name in PRECEDENCE:
        if field_name == "authors":
            value, source = _choose_authors(sources, _site_keys(url, sources), now)
        else:
            value, source = _choose(field_name, sources, now)
        chosen[field_name] = value
        if source:
            provenance[field_name] = source
    title = chosen["title"]
    if title:
        site_names = [c.site_name for c in sources.values() if c.site_name]
        site_names.append(registrable_host(url))
        title = strip_site_name(title, site_names)
    for key in ("image",):
        if chosen[key]:
            chosen[key] = urljoin(url, chosen[key])

    canonical, canonical_source = url, "url"
    if page is not None:
        for href, source in ((page.canonical_url, "meta"), (page.opengraph.url, "opengraph")):
            if href:
                absolute = urljoin(url, href)
                if absolute.startswith(("http://", "https://")) and same_site(absolute, url):
                    canonical, canonical_source = absolute, source
                    break
    canonical = canonicalize(canonical)
    provenance["canonical_url"] = canonical_source
    return Article(
        url=url,
        canonical_url=canonical,
        url_key=url_key(canonical),
        title=title,
        text=text,
        language=chosen["language"],
        published_at=chosen["published_at"],
        modified_at=chosen["modified_at"],
        site_name=chosen["site_name"],
        description=chosen["description"],
        image=chosen["image"],
        authors=chosen["authors"] or [],
        categories=chosen["categories"] or [],
        tags=chosen["tags"] or [],
        # An empty text must not hash equal to every other empty text.
        content_hash=content_hash(text) if text else "",
        provenance=provenance,
        extractor_version=EXTRACTOR_VERSION,
    )


def _entry_text(entry: Entry | None) -> str:
    if entry is None:
        return ""
    return html_to_text(entry.content) or html_to_text(entry.summary)


def fallback_article(entry: Entry, url: str, reason: str) -> Article:
    """An Article built from the feed entry alone, for a page that could not be fetched/used."""
    now = datetime.now(UTC)
    sources = {"feed": _feed_candidates(entry), "url": Candidates(published=_date_from_url(url))}
    text = _entry_text(entry)
    article = _merge(url, None, sources, text, now)
    article.source = "feed"
    article.fallback_reason = reason
    if text:
        article.provenance["text"] = "feed"
    return article


def extract_article(
    html: bytes,
    url: str,
    entry: Entry | None = None,
    headers: dict[str, str] | None = None,
    *,
    now: datetime | None = None,
) -> Article:
    """Extract the article of a page, merging trafilatura, the page's metadata and the feed entry
    by PRECEDENCE. Falls back to the entry's content (source="feed") when the page yields no
    body text; raises ExtractionError only when there is no entry to fall back to."""
    now = now or datetime.now(UTC)
    reason = _not_html_reason(html, headers) if isinstance(html, bytes) else "not-bytes"
    tree = None
    if reason is None:
        try:
            tree = load_html(decode_html(html, headers))
        except Exception:  # lxml raises a zoo of errors on garbage; all mean "no tree"
            tree = None
        if tree is None:
            reason = "unparseable-html"
    if tree is None:
        if entry is None:
            raise ExtractionError(reason or "unparseable-html")
        return fallback_article(entry, url, reason or "unparseable-html")

    try:
        page = read_metadata(tree)
    except Exception:  # metadata is a bonus: a malformed page must not lose its text
        page = PageMetadata()
    doc: Any = None
    try:
        doc = trafilatura.bare_extraction(tree, url=url, **TRAFILATURA_OPTIONS)
    except Exception:  # trafilatura bugs on odd trees must not lose the page's metadata
        doc = None
    text = _tidy(doc.text) if doc is not None and doc.text else ""
    sources: dict[str, Candidates] = {
        "jsonld": page.jsonld,
        "opengraph": page.opengraph,
        "meta": page.meta,
        "rel-tag": page.rel_tag,
        "feed": _feed_candidates(entry),
        "trafilatura": _trafilatura_candidates(doc),
        "url": Candidates(published=_date_from_url(url)),
    }
    source, fallback_reason, text_source = "page", None, "trafilatura"
    if not text and entry is not None:
        text = _entry_text(entry)
        source, fallback_reason, text_source = "feed", "no-body-text", "feed"
    article = _merge(url, page, sources, text, now)
    if not text and entry is None:
        # Script-rendered pages carry no body in HTML; their own summary beats losing the page.
        if not article.description or not article.title:
            raise ExtractionError("no body text on the page and no feed entry")
        text = article.text = article.description
        article.content_hash = content_hash(text)
        fallback_reason, text_source = "no-body-text", article.provenance["description"]
    article.source = source
    article.fallback_reason = fallback_reason
    if text:
        article.provenance["text"] = text_source
    return article
