"""Turn a fetched page (plus its feed entry) into an Article with per-field provenance."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any
from urllib.parse import urljoin

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.metadata import extract_metadata
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

from pipeline.dedup import content_hash
from pipeline.errors import ExtractionError
from pipeline.metadata import (
    Candidates,
    PageMetadata,
    clean_text,
    dedupe,
    name_key,
    read_bylines,
    read_metadata,
)
from pipeline.records import Article, Entry
from pipeline.urls import canonicalize, registrable_host, same_site, url_key

EXTRACTOR_VERSION = f"news-ingest-extract/3+trafilatura-{trafilatura.__version__}"

# Which source wins each field: the first one in the tuple that offers a valid value (a title
# then loses its decorations and may yield to another source's: see `clean_title`).
# JSON-LD is written for search engines and is the most carefully kept; OpenGraph is written for
# social cards (titles there are sometimes shortened or teased); the feed entry describes the same
# article but is often truncated; trafilatura's own metadata is a heuristic last resort.
# Visible markup (microdata, byline elements, the <h1>) comes after the declared metadata; the
# URL's date and language detection on the text are last resorts.
PRECEDENCE: dict[str, tuple[str, ...]] = {
    "title": ("jsonld", "opengraph", "microdata", "feed", "meta", "h1", "trafilatura"),
    "authors": ("jsonld", "meta", "opengraph", "microdata", "feed", "byline", "trafilatura"),
    "published_at": (
        "jsonld", "opengraph", "microdata", "meta", "feed", "trafilatura", "url",
    ),
    "modified_at": ("jsonld", "opengraph", "microdata", "meta", "feed"),
    "site_name": ("opengraph", "jsonld", "meta", "trafilatura"),
    "language": ("meta", "jsonld", "opengraph", "microdata", "trafilatura", "detected"),
    "description": ("opengraph", "jsonld", "meta", "feed", "trafilatura"),
    "image": ("opengraph", "jsonld", "meta", "feed", "trafilatura"),
    "categories": (
        "jsonld", "opengraph", "microdata", "meta", "rel-tag", "feed", "trafilatura",
    ),
    "tags": ("jsonld", "opengraph", "microdata", "meta", "rel-tag", "feed", "trafilatura"),
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
# What extract_article asks of trafilatura: the text only. Its metadata (16% of its time per
# page) repeats what read_metadata finds in JSON-LD and meta tags; it is computed apart, and only
# for a page whose own sources leave the date or the title unknown (see _trafilatura_metadata).
TEXT_OPTIONS: dict[str, Any] = {**TRAFILATURA_OPTIONS, "with_metadata": False}
# The text is extracted in fast mode first, and by the full cascade only when the fast result
# looks short of it (see _text_extraction). The gate mirrors trafilatura's own rules for
# consulting readability/justext (external.compare_extraction, _prefer_readability); without
# the trafilatura internals it reads, every page gets the full cascade.
FAST_TEXT_OPTIONS: dict[str, Any] = {**TEXT_OPTIONS, "fast": True}
# Readability replaces trafilatura's text when its own is more than this many times longer.
READABILITY_RATIO = 2
try:
    from trafilatura.external import SANITIZED_XPATH
    from trafilatura.settings import DEFAULT_CONFIG

    # Elements trafilatura calls "unclean" in an extracted body (they send it to justext).
    UNCLEAN_XPATH: etree.XPath | None = etree.XPath(SANITIZED_XPATH)
    # Text shorter than this sends trafilatura to readability/justext (250 by default).
    MIN_EXTRACTED_SIZE: int | None = DEFAULT_CONFIG.getint("DEFAULT", "MIN_EXTRACTED_SIZE")
except Exception:  # noqa: BLE001 - an internal moved or renamed: always run the full cascade
    UNCLEAN_XPATH, MIN_EXTRACTED_SIZE = None, None
# Dates further ahead than this are typos or event dates, not publication dates.
MAX_FUTURE = timedelta(days=1)
MAX_HTML_BYTES = 2 * 1024 * 1024  # bytes of a page handed to the parser
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
# Separators between a headline and the site name in <title>-like strings.
TITLE_SEPARATORS = (
    " | ", " - ", " – ", " — ", " :: ", " · ", " • ", " / ", ": ", " * ", " » ", " ｜ ", "｜",
    "ㅣ", "：", " |", "| ",
)
DECORATION_SEPARATORS = tuple(s for s in TITLE_SEPARATORS if s.strip() not in (":", "："))
# Separators some sites glue to the headline without spaces ("Headline-Politics ㅣSite"); a
# glued decoration is cut only at another source's full headline, and only when it is short.
GLUED_SEPARATORS = frozenset("-|｜ㅣ·•»/")
MAX_GLUED_DECORATION = 30  # characters, separator included
MAX_GLUED_WORDS = 3
# Sources whose titles the publisher declares as metadata (trafilatura's title is read from them;
# the <h1> is the headline as displayed).
DECLARED_TITLE_SOURCES = frozenset({"jsonld", "opengraph", "microdata", "feed", "meta"})
# A headline cut short for a card or a feed ends with one of these.
ELLIPSES = ("…", "...")
# Invisible characters left in headlines (soft hyphen, zero-width space, word joiner, BOM): they
# make equal headlines compare unequal. ZWJ/ZWNJ are kept: some scripts need them.
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")
# Curly and low quotes folded to straight ones when titles from different sources are compared.
_QUOTE_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                             "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'})
AUTHOR_SPLIT = re.compile(
    r"\s*(?:,|;|\||&|/|\band\b|\bund\b|\bet\b|\by\b|\be\b|\bog\b|\boch\b|\ben\b)\s*",
    re.IGNORECASE,
)
AUTHOR_PREFIX = re.compile(
    r"^(?:(?:written|reported|text|words|story|posted|published)\s+)?"
    r"(?:by|von|par|por|door|av|from|autor(?:in)?|author|texte?)\s*:?\s+",
    re.IGNORECASE,
)
# Lower-case "by" words that are also name particles ("di Mario Rossi", not "Di Maio").
AUTHOR_PREFIX_LOWER = re.compile(r"^(?:di|da|de|af|af:)\s+(?=[^\W\d_])")
# Roles that follow or precede a name ("Jane Doe, Senior Reporter", "Reporter: Jane Doe").
AUTHOR_ROLE = re.compile(
    r"^(?:(?:senior|chief|deputy|staff|political|foreign|business|sports?|science|health|"
    r"special|lead|contributing|associate|managing|executive)\s+)*"
    r"(?:reporter|correspondent|editor|writer|columnist|journalist|contributor|"
    r"photographer|redakteur(?:in)?|korrespondent(?:in)?|journalist(?:in)?)s?$",
    re.IGNORECASE,
)
# Words that make a byline an organisation, not a person.
ORG_WORDS = re.compile(
    r"\b(?:redaktion|staff|agency|agencies|agentur|news|newsroom|desk|team|editorial|"
    r"editors|online|media|press|presse|wire|service|services|group|zeitung|times|"
    r"magazine|magazin|radio|tv|digital|newsdesk|redacción|rédaction|redazione|"
    r"nachrichten|agenturen|associated|reuters|bloomberg|xinhua|red)\b",
    re.IGNORECASE,
)
# A single all-caps token this short is an agency code (AFP, DPA, AP, KNA, REUTERS).
AGENCY_CODE = re.compile(r"[A-Z]{2,8}")
# Words of share buttons and menus that byline markup sometimes wraps.
UI_WORDS = frozenset(
    {"twitter", "facebook", "instagram", "linkedin", "whatsapp", "telegram", "email", "e-mail",
     "mail", "share", "teilen", "follow", "folgen", "more", "mehr", "print", "drucken", "login",
     "logout", "ausloggen", "abonnieren", "subscribe", "profile", "profil", "alle", "all",
     "artikel", "articles", "posts", "autor", "author", "autoren", "authors", "menu", "home"}
)
NAME_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "da", "del", "della", "di", "du", "la", "le", "bin",
     "ibn", "al", "el", "dos", "das", "do", "ter", "ten", "zu", "y", "e"}
)
# Trailing job words of bylines ("홍길동 기자" = "reporter Hong Gildong").
AUTHOR_SUFFIX = re.compile(r"\s*(?:기자|記者|特派員|편집위원)$")
MAX_AUTHOR_LEN = 60
# Language detection reads this much text, needs at least MIN_DETECT_TEXT characters, and
# overrides a declared language only on MIN_OVERRIDE_TEXT or more.
DETECT_CHARS = 600
MIN_DETECT_TEXT = 80
MIN_OVERRIDE_TEXT = 600

BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "section",
     "article", "pre", "ul", "ol", "table", "figure", "figcaption"}
)
HTML_CONTENT_TYPES = ("html", "xml", "text/plain")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", re.I)
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](\d\d)[/-](\d\d)(?:/|[^0-9]|$)")
# A compact date inside a path segment ("/20240305/", "/article/A2026012914320005196").
_URL_COMPACT_DATE = re.compile(r"(?:/|[_-]|[A-Za-z])(20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")
_ISO_IN_TEXT = re.compile(
    r"((?:19|20)\d\d-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:?\d\d)?)"
)
# CMS/analytics labels that leak into keyword fields: ids, "key: value" pairs, domains, slugs.
_MACHINE_LABEL = re.compile(
    r"[0-9a-f-]{16,}|\d+|.|[^\s]*_[^\s]*|[a-z0-9-]+(?:\.[a-z0-9-]+)+|.*:\S.*|\w[\w ]*: .*"
)
# "Category: Wine", "Subject: Justice": facet labels whose value is a topic.
_FACET_LABEL = re.compile(
    r"(?:category|categories|subject|subjects|topic|topics|tag|tags|keyword|keywords)\s*:\s*"
    r"([^:]+)",
    re.IGNORECASE,
)
# Internal classification codes (Reuters "AERO", "INDS08"): short all-caps tokens.
_CODE = re.compile(r"[A-Z0-9]{2,8}")
_DOMAIN_LIKE = re.compile(r"\w\.[a-z]{2,}$", re.IGNORECASE)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n\s*\n+")
_LATIN1_ALIASES = frozenset({"iso8859-1", "latin-1", "cp1252", "iso8859-15", "ascii"})




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
        path = url.split("?", 1)[0].split("#", 1)[0]
        path = path.split("://", 1)[-1].partition("/")[2]
        match = _URL_COMPACT_DATE.search("/" + path)
        if not match:
            return None
    year, month, day = match.groups()
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def clean_authors(names: list[str]) -> list[str]:
    """Split joined bylines, strip "By" and roles, drop URLs/emails/non-names, de-duplicate."""
    out: list[str] = []
    for raw in names:
        raw = clean_text(raw) or ""
        # "Jane Doe, Senior Reporter" / "By Jane Doe (AFP)": roles and parentheses go first.
        raw = re.sub(r"\s*\([^)]*\)", "", raw)
        for part in AUTHOR_SPLIT.split(raw):
            part = AUTHOR_PREFIX_LOWER.sub("", AUTHOR_PREFIX.sub("", part.strip()))
            name = clean_text(AUTHOR_SUFFIX.sub("", part))
            if not name or len(name) > MAX_AUTHOR_LEN or AUTHOR_ROLE.fullmatch(name):
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


def looks_like_person(name: str) -> bool:
    """A name shaped like a person's: 2-5 words (one in a script without case), no digits or
    sentence punctuation, each word capitalised or a particle such as "van", not a UI word."""
    if len(name) > 50 or any(ch.isdigit() for ch in name) or any(c in name for c in ":!?\"«»"):
        return False
    words = name.split()
    if not words or len(words) > 5:
        return False
    caseless = all(not ch.isupper() and not ch.islower() for ch in name if ch.isalpha())
    if len(words) == 1 and not caseless:
        return False
    capitalised = 0
    for word in words:
        first = word.lstrip("'’(")[:1]
        if not first or not first.isalpha() or word.casefold() in UI_WORDS:
            return False
        if first.isupper():
            capitalised += 1
        elif first.islower() and word.lower() not in NAME_PARTICLES:
            return False
    return caseless or capitalised >= 1


def is_organization(name: str, site_keys: set[str], organizations: set[str]) -> bool:
    """An author that is really an organisation: the site itself ("mdr.de", "Lesotho Times"),
    a publisher the page names, a news agency code ("AFP"), or a name with an organisation word
    ("Redaktion", "Staff", "News")."""
    if name_key(name) in organizations or _is_site_like(name, site_keys):
        return True
    if AGENCY_CODE.fullmatch(name):
        return True
    return bool(ORG_WORDS.search(name) or _DOMAIN_LIKE.search(name))


def split_tags(values: list[str] | str | None) -> list[str]:
    """Tags from trafilatura (one comma-joined string, or a list of them): split, trim, unwrap
    facet labels ("Category: Wine" -> "Wine"), drop machine labels (ids, slugs with "_",
    domains, "key: value" pairs), de-dupe by normalised key keeping the first display form."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    parts: list[str] = []
    for value in values:
        if isinstance(value, str):
            parts.extend(value.split(","))
    cleaned: list[str] = []
    for part in parts:
        text = clean_text(part)
        if not text:
            continue
        facet = _FACET_LABEL.fullmatch(text)
        if facet:
            text = clean_text(facet.group(1)) or ""
        if text and not _MACHINE_LABEL.fullmatch(text):
            cleaned.append(text)
    if len(cleaned) >= 6 and sum(bool(_CODE.fullmatch(t)) for t in cleaned) >= 0.75 * len(cleaned):
        return []  # a list of internal classification codes, not keywords
    return dedupe(cleaned)


def strip_site_name(title: str, site_names: list[str]) -> str:
    """Drop " | Site" / " - Site" suffixes (or "Site | " prefixes) naming the site, repeatedly:
    "Head - Section | Site" loses "| Site" and then "- Section" when the section is listed."""
    keys = {name_key(s) for s in site_names if s and s.strip()}
    if not keys:
        return title
    for _ in range(3):
        stripped = _strip_once(title, keys)
        if stripped == title:
            break
        title = stripped
    return title


def _strip_once(title: str, keys: set[str]) -> str:
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
    folded = name_key(part)
    return bool(folded) and any(
        folded == k or folded.replace(" ", "") == k.replace(" ", "") for k in keys
    )


def _within(title: str, other: str) -> bool:
    """`title` is `other` decorated: `other` plus a site-style separator (not ": ", which
    joins a kicker to its headline) and more on either side, or plus a short tail glued on
    with a separator character ("Headline-Politics")."""
    if len(other) < 12 or len(other) >= len(title) or other not in title:
        return False
    before, _, after = title.partition(other)
    before_ok = not before or any(before.endswith(sep) for sep in DECORATION_SEPARATORS)
    after_ok = (
        not after
        or any(after.startswith(sep) for sep in DECORATION_SEPARATORS)
        or _glued_decoration(after)
    )
    return before_ok and after_ok


def _glued_decoration(tail: str) -> bool:
    """`tail` is a separator character glued to the headline, then a few words."""
    return (
        len(tail) >= 2
        and len(tail) <= MAX_GLUED_DECORATION
        and tail[0] in GLUED_SEPARATORS
        and not tail[1].isspace()
        and len(tail[1:].split()) <= MAX_GLUED_WORDS
    )


def headline_text(value: object) -> str | None:
    """A title candidate with whitespace collapsed and invisible characters dropped."""
    if isinstance(value, str):
        value = _INVISIBLE.sub("", value)
    return clean_text(value)


def _untruncated(title: str, others: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The full form of a headline cut short with an ellipsis ("Bridge reopens aft…"): the
    first other candidate that starts with the cut text and goes on with more words, as
    (source, text); None when the title is not cut or no candidate completes it."""
    stem = next((title[: -len(e)].rstrip() for e in ELLIPSES if title.endswith(e)), None)
    if stem is None or len(stem) < 12:
        return None
    folded = stem.casefold()
    for source, other in others:
        if other.endswith(ELLIPSES) or other[: len(stem)].casefold() != folded:
            continue
        if any(ch.isalnum() for ch in other[len(stem):]):
            return source, other
    return None


def _displayed_headline(
    title: str, others: list[tuple[str, str]], title_tag: str | None, site_names: list[str]
) -> tuple[str, str] | None:
    """When `title` is only the page's <title> (the SEO title, which JSON-LD often copies) and
    another declared title is the headline the page displays as its <h1>, that one as
    (source, text); None otherwise. The <h1> alone does not count: on many pages it is a
    section heading, a kicker or the site's logo."""
    h1 = next((text for name, text in others if name == "h1"), None)
    if not h1 or not title_tag:
        return None
    key, shown = _title_key(title), _title_key(h1)
    if shown == key or _title_key(strip_site_name(title_tag, site_names)) != key:
        return None
    site_keys = {name_key(s) for s in site_names if s}
    for name, other in others:
        if (name in DECLARED_TITLE_SOURCES and _title_key(other) == shown
                and not _names_site(other, site_keys)):
            return name, other
    return None


def _title_key(text: str) -> str:
    """What two sources' titles share when they are the same headline: `name_key`, with curly
    quotes folded to straight ones."""
    return name_key(text.translate(_QUOTE_FOLD))


def clean_title(
    title: str,
    site_names: list[str],
    others: list[tuple[str, str]],
    source: str = "",
    title_tag: str | None = None,
) -> tuple[str, str]:
    """The headline without site-name and section decorations, and the source whose text it
    is. `others` are the page's title candidates as (source, text), site names already
    stripped. A title that is only the <title> yields to another declared title the page
    displays as its <h1>; a title cut short with an ellipsis yields to the candidate that
    completes it; a title that is another candidate plus a separator and more yields to the
    bare one."""
    title = strip_site_name(title, site_names)
    shown = _displayed_headline(title, others, title_tag, site_names)
    if shown is not None:
        source, title = shown
    full = _untruncated(title, others)
    if full is not None:
        source, title = full
    keys = {name_key(s) for s in site_names if s}
    for name, other in others:
        if other and _within(title, other) and not _names_site(other, keys):
            return other, name
    return title, source


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


# --------------------------------------------------------------------------- text


def _text_extraction(tree: Any, url: str) -> tuple[Any, str | None]:
    """trafilatura's Document for the page (None when it finds no text), and why the full
    cascade was run (None when the fast pass was kept).

    The full cascade costs ~42 ms CPU per corpus page, fast mode ~30 ms: fast mode skips the
    comparison with readability and justext, which changes the text of 6 pages of 133. The fast
    result is kept unless it shows a sign that the comparison would have replaced it
    (_full_cascade_reason); the second pass then costs what fast mode saved, on 18 pages of 133,
    and the text is the full cascade's on every corpus page.
    Both passes share `tree`: bare_extraction works on a copy of an element it is given."""
    doc: Any = None
    if UNCLEAN_XPATH is None or MIN_EXTRACTED_SIZE is None:
        reason: str | None = "gate-unavailable"
    else:
        # Counted before extraction: the page's <p> text, roughly what readability would find.
        page_paragraphs = sum(len(p.text_content()) for p in tree.iter("p"))
        try:
            doc = trafilatura.bare_extraction(tree, url=url, **FAST_TEXT_OPTIONS)
            reason = _full_cascade_reason(doc, page_paragraphs, UNCLEAN_XPATH, MIN_EXTRACTED_SIZE)
        except Exception:  # trafilatura bugs on odd trees must not lose the page's metadata
            reason = "fast-pass-failed"
        if reason is None:
            return doc, None
    try:
        doc = trafilatura.bare_extraction(tree, url=url, **TEXT_OPTIONS)
    except Exception:  # as above
        doc = None
    return doc, reason


def _full_cascade_reason(
    doc: Any, page_paragraphs: int, unclean: etree.XPath, min_size: int
) -> str | None:
    """Why a fast-mode result may fall short of the full cascade's, or None when it may not.

    "short", "no-paragraphs" and "unclean" are trafilatura's own reasons for trying readability
    or justext (external.compare_extraction, _prefer_readability); "paragraphs-elsewhere" stands
    for its "readability's text is more than twice as long", the page's <p> text standing in for
    readability's. "one-block" is a body that is a single plain paragraph: that is how stage 3
    of the cascade, the baseline rescue of a main extraction that came up short, returns an
    <article>'s text, a JSON-LD articleBody or a dump of the whole page, where the full cascade
    would have tried readability and justext first (on the corpus, the two TimesOfIndia pages:
    boilerplate kept, body F1 0.97 -> 0.92). The main extractor keeps a page's paragraphs
    apart, and a one-paragraph article costs only a rerun."""
    body = getattr(doc, "body", None)
    text = getattr(doc, "text", None)
    if body is None or not isinstance(text, str) or len(text) < min_size:
        return "short"
    paragraphs = body.findall(".//p")
    if not body.xpath(".//p//text()") or len(body.findall(".//table")) > len(paragraphs):
        return "no-paragraphs"
    if unclean(body):
        return "unclean"
    if page_paragraphs > READABILITY_RATIO * len(text):
        return "paragraphs-elsewhere"
    if len(body) == 1 and body[0].tag == "p" and len(body[0]) == 0:
        return "one-block"
    return None


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


def _trafilatura_metadata(
    tree: Any, url: str, sources: dict[str, Candidates], now: datetime
) -> Candidates:
    """trafilatura's own metadata, when the other sources leave the publication date or the
    title unknown (on the corpus, 5 pages of 133; elsewhere it only ever filled categories,
    tags or the site name of 3-4 pages, which the fields' other sources do without)."""
    has_date = any(_valid("published_at", c.published, now) for c in sources.values())
    has_title = any(c.title for name, c in sources.items() if name != "h1")
    if has_date and has_title:
        return Candidates()
    options = Extractor(with_metadata=True, url=url)
    try:
        doc = extract_metadata(
            tree, options.url, options.date_params, options.fast, options.author_blacklist
        )
    except Exception:  # noqa: BLE001 - a bonus source: its bugs must not lose the page
        return Candidates()
    return _trafilatura_candidates(doc)


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
    if field_name == "title":
        return headline_text(value)
    return clean_text(value)


def _is_site_like(name: str, site_keys: set[str]) -> bool:
    """An author that is really the publication ("mdr.de", "Lesotho Times")."""
    folded = name.casefold()
    squeezed = folded.replace(" ", "")
    return any(k in (folded, squeezed) or squeezed.startswith(k) for k in site_keys if k)


def _choose_authors(
    sources: dict[str, Candidates],
    site_keys: set[str],
    organizations: set[str],
    bylines: Callable[[], Candidates] | None = None,
) -> tuple[list[str], str]:
    """Authors by PRECEDENCE, people only: organisations (the site, publishers, agencies) are
    dropped from lists that also name people, and a source naming only organisations yields to
    a later source naming people. Byline markup must look like names to count at all; it is
    read (by `bylines`) only when the metadata before it names nobody."""
    fallback: tuple[list[str], str] = ([], "")
    for source in PRECEDENCE["authors"]:
        cand = sources.get(source)
        if cand is None and source == "byline" and bylines is not None:
            cand = sources[source] = bylines()
        if cand is None:
            continue
        if source == "byline":
            people = _byline_people(cand.authors, site_keys, organizations)
            if people:
                return people, source
            continue
        names = clean_authors(cand.authors)
        if not names:
            continue
        people = [n for n in names if not is_organization(n, site_keys, organizations)]
        # trafilatura's byline heuristics misread more than they find: its people do not
        # override an organisation the page's metadata names.
        if people and (source != "trafilatura" or not fallback[0]):
            return people, source
        if not fallback[0]:
            fallback = (names, source)
    return fallback


def _byline_people(
    texts: list[str], site_keys: set[str], organizations: set[str]
) -> list[str]:
    """The people of the first byline text that names only person-shaped names."""
    for text in texts:
        names = clean_authors([text])
        if names and all(looks_like_person(n) for n in names):
            people = [n for n in names if not is_organization(n, site_keys, organizations)]
            if people:
                return people
    return []


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


def _choose_tags(
    field_name: str, sources: dict[str, Candidates], site_keys: set[str], now: datetime
) -> tuple[list[str], str]:
    """Categories or tags from the first source offering any, by PRECEDENCE (sources are not
    unioned: each publisher fills several with overlapping, differently curated lists). Items
    naming the site go; a list that is one space-joined string yields to a later source that
    splits the same words."""
    attr = CANDIDATE_ATTR.get(field_name, field_name)
    lists: list[tuple[list[str], str]] = []
    for source in PRECEDENCE[field_name]:
        cand = sources.get(source)
        if cand is None:
            continue
        values = [v for v in split_tags(getattr(cand, attr)) if not _is_site_name(v, site_keys)]
        if values:
            lists.append((values, source))
    if not lists:
        return [], ""
    first, source = lists[0]
    if len(first) == 1 and len(first[0].split()) >= 4:
        joined = name_key(first[0])
        for values, other in lists[1:]:
            if len(values) >= 2 and all(name_key(v) in joined for v in values):
                return values, other
    return first, source


def _is_site_name(value: str, site_keys: set[str]) -> bool:
    folded = value.casefold()
    return folded in site_keys or folded.replace(" ", "") in site_keys


def _choose_language(
    sources: dict[str, Candidates], text: str
) -> tuple[str | None, str]:
    """The declared language (html lang, JSON-LD inLanguage, og:locale...); detection on the
    text when none is declared, or when "en" is (the default of CMS templates, left on pages in
    every language) and a long text clearly says otherwise."""
    declared, source = None, ""
    for name in PRECEDENCE["language"]:
        cand = sources.get(name)
        value = _language(cand.language) if cand is not None else None
        if value:
            declared, source = value, name
            break
    if declared not in (None, "en"):
        return declared, source
    detected = detect_language(text)
    if detected is None:
        return declared, source
    if declared is None:
        return detected, "detected"
    if len(text) >= MIN_OVERRIDE_TEXT and detected != declared:
        return detected, "detected"
    return declared, source


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (py3langid), or None for short or missing text."""
    if len(text) < MIN_DETECT_TEXT:
        return None
    try:
        import py3langid  # noqa: PLC0415  # imported on first use: loading the model takes ~0.5 s
    except ImportError:
        return None
    try:
        code, _ = py3langid.classify(text[:DETECT_CHARS])
    except Exception:  # the classifier must never lose an article
        return None
    return code if isinstance(code, str) and code.isalpha() else None


def _title_candidates(
    page: PageMetadata | None, sources: dict[str, Candidates]
) -> list[tuple[str, str]]:
    """Every title the page offers as (source, text): its <h1> first (the headline as
    displayed), then the sources' titles in PRECEDENCE order."""
    out: list[tuple[str, str]] = []
    h1 = headline_text(page.h1) if page is not None else None
    if h1:
        out.append(("h1", h1))
    for name in PRECEDENCE["title"]:
        cand = sources.get(name)
        text = headline_text(cand.title) if cand is not None and name != "h1" else None
        if text:
            out.append((name, text))
    return out


def _merge(
    url: str,
    page: PageMetadata | None,
    sources: dict[str, Candidates],
    text: str,
    now: datetime,
    bylines: Callable[[], Candidates] | None = None,
) -> Article:
    chosen: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    site_keys = _site_keys(url, sources)
    organizations = {name_key(o) for o in page.organizations} if page is not None else set()
    for field_name in PRECEDENCE:
        value: Any
        if field_name == "authors":
            value, source = _choose_authors(sources, site_keys, organizations, bylines)
        elif field_name in ("categories", "tags"):
            value, source = _choose_tags(field_name, sources, site_keys, now)
        elif field_name == "language":
            value, source = _choose_language(sources, text)
        else:
            value, source = _choose(field_name, sources, now)
        chosen[field_name] = value
        if source:
            provenance[field_name] = source
    published, modified = chosen["published_at"], chosen["modified_at"]
    if published is not None and modified is not None and modified < published:
        # A "modified" before publication is a template default or a swapped field.
        chosen["modified_at"] = None
        provenance.pop("modified_at", None)
    title = chosen["title"]
    if title:
        site_names = [c.site_name for c in sources.values() if c.site_name]
        site_names.append(registrable_host(url))
        site_names.extend(chosen["categories"] or [])
        others = [(name, strip_site_name(t, site_names))
                  for name, t in _title_candidates(page, sources)]
        # The provenance names the source whose text is kept, also when it is another's.
        title, provenance["title"] = clean_title(
            title, site_names, others, provenance["title"],
            headline_text(page.title_tag) if page is not None else None,
        )
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


def _safe_bylines(tree: Any) -> Candidates:
    try:
        return read_bylines(tree)
    except Exception:  # byline markup is a bonus, like the rest of the metadata
        return Candidates()


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
            # Extraction time grows with page size (a 2.6 MB page took 10 s of a worker); an
            # article's text sits well within the first MAX_HTML_BYTES of any real page.
            tree = load_html(decode_html(html[:MAX_HTML_BYTES], headers))
        except Exception:  # lxml raises a zoo of errors on garbage; all mean "no tree"
            tree = None
        if tree is None:
            reason = "unparseable-html"
    if tree is None:
        if entry is None:
            raise ExtractionError(reason or "unparseable-html")
        return fallback_article(entry, url, reason or "unparseable-html")

    try:
        page = read_metadata(tree, bylines=False)
    except Exception:  # metadata is a bonus: a malformed page must not lose its text
        page = PageMetadata()
    doc, _ = _text_extraction(tree, url)
    text = _tidy(doc.text) if doc is not None and doc.text else ""
    sources: dict[str, Candidates] = {
        "jsonld": page.jsonld,
        "opengraph": page.opengraph,
        "meta": page.meta,
        "microdata": page.microdata,
        "rel-tag": page.rel_tag,
        "h1": Candidates(title=page.h1),
        "feed": _feed_candidates(entry),
        "url": Candidates(published=_date_from_url(url)),
    }
    sources["trafilatura"] = _trafilatura_metadata(tree, url, sources, now)
    source, fallback_reason, text_source = "page", None, "trafilatura"
    if not text and entry is not None:
        text = _entry_text(entry)
        source, fallback_reason, text_source = "feed", "no-body-text", "feed"
    article = _merge(url, page, sources, text, now, partial(_safe_bylines, tree))
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
