"""Turn a fetched page (plus its feed entry) into an Article with per-field provenance: each
field is chosen from its sources by `rules.PRECEDENCE` by that field's module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urljoin

import trafilatura
from trafilatura.utils import load_html

from pipeline.dates import plausible_datetime
from pipeline.dedup import content_hash
from pipeline.errors import ExtractionError
from pipeline.extract.access import read_access
from pipeline.extract.authors import choose_authors
from pipeline.extract.body import text_extraction, tidy
from pipeline.extract.datelines import dateline_candidates
from pipeline.extract.dates import choose_published, modified_is_credible
from pipeline.extract.decoding import MAX_HTML_BYTES, decode_html, not_html_reason
from pipeline.extract.language import choose_language
from pipeline.extract.rules import CANDIDATE_ATTR, PRECEDENCE, SOURCE_TRUST
from pipeline.extract.sources import (
    entry_text,
    feed_candidates,
    safe_bylines,
    time_element_candidates,
    trafilatura_metadata,
    url_candidates,
)
from pipeline.extract.tagmarkup import tag_list_candidates
from pipeline.extract.titles import (
    displayed_headline,
    headline,
    headline_text,
    site_names_of,
    title_tag_stand_in,
)
from pipeline.extract.topics import choose_topics
from pipeline.metadata import Candidates, PageMetadata, read_metadata
from pipeline.names import clean_text, name_key, squeezed
from pipeline.records import Article, Entry
from pipeline.urls import canonicalize, registrable_host, same_site, url_key

EXTRACTOR_VERSION = f"news-ingest-extract/5+trafilatura-{trafilatura.__version__}"
# Site keys shorter than this match too much ("tv", "de").
MIN_SITE_KEY = 3


def _valid(field_name: str, value: Any, now: datetime) -> Any:
    """The value cleaned for the Article field, or None when it does not qualify (the fields
    without a chooser of their own: dates, title, site name, description, image)."""
    if field_name in ("published_at", "modified_at"):
        return plausible_datetime(value, now)
    if field_name == "title":
        return headline_text(value)
    return clean_text(value)


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


def _site_keys(url: str, sources: dict[str, Candidates]) -> set[str]:
    keys = {squeezed(c.site_name) for c in sources.values() if c.site_name}
    host = registrable_host(url)
    keys.add(host)
    keys.add(host.split(".")[0])
    return {k for k in keys if len(k) >= MIN_SITE_KEY}


def _add_late_sources(
    field_name: str, chosen: str, sources: dict[str, Candidates],
    late: dict[str, Callable[[], Candidates]],
) -> bool:
    """Read the late sources (costly scans of the page, needed by few pages) that rank above
    the source `chosen` for `field_name`; whether any was added."""
    order = PRECEDENCE[field_name]
    cut = order.index(chosen) if chosen in order else len(order)
    added = False
    for name in order[:cut]:
        if name not in sources and name in late:
            sources[name] = late.pop(name)()
            added = True
    return added


def _merge(
    url: str,
    page: PageMetadata | None,
    sources: dict[str, Candidates],
    text: str,
    now: datetime,
    bylines: Callable[[], Candidates] | None = None,
    late: dict[str, Callable[[], Candidates]] | None = None,
) -> Article:
    chosen: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    confidence: dict[str, float] = {}
    site_keys = _site_keys(url, sources)
    organizations = {name_key(o) for o in page.organizations} if page is not None else set()

    def pick(field_name: str) -> tuple[Any, str]:
        if field_name == "authors":
            names, source, confidence["authors"] = choose_authors(
                sources, site_keys, organizations, bylines
            )
            return names, source
        if field_name in ("categories", "tags"):
            return choose_topics(field_name, sources, site_keys)
        if field_name == "published_at":
            published, source, confidence["published_at"] = choose_published(sources, url, now)
            return published, source
        if field_name == "language":
            return choose_language(sources, text)
        return _choose(field_name, sources, now)

    for field_name in PRECEDENCE:
        value, source = pick(field_name)
        if late and _add_late_sources(field_name, source, sources, late):
            value, source = pick(field_name)
        chosen[field_name] = value
        if source:
            provenance[field_name] = source
    if not modified_is_credible(chosen["published_at"], chosen["modified_at"]):
        chosen["modified_at"] = None
        provenance.pop("modified_at", None)
    title = chosen["title"]
    if title:
        # The provenance names the source whose text is kept, also when it is another's.
        title, provenance["title"] = headline(
            title, provenance["title"], url, page, sources, chosen["categories"] or []
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
    # Authors and dates have weighed their sources' agreement; the rest trust their source.
    confidence = {f: confidence.get(f, SOURCE_TRUST.get(s, 0.5)) for f, s in provenance.items()}
    access, confidence["access"], access_source = read_access(page, text)
    if access_source:
        provenance["access"] = access_source
    else:
        confidence.pop("access")
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
        confidence=confidence,
        access=access,
        extractor_version=EXTRACTOR_VERSION,
    )


def fallback_article(entry: Entry, url: str, reason: str) -> Article:
    """An Article built from the feed entry alone, for a page that could not be fetched/used."""
    now = datetime.now(UTC)
    sources = {"feed": feed_candidates(entry), "url": url_candidates(url)}
    text = entry_text(entry)
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
    reason = not_html_reason(html, headers) if isinstance(html, bytes) else "not-bytes"
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
    doc, _ = text_extraction(tree, url)
    text = tidy(doc.text) if doc is not None and doc.text else ""
    shown_h1 = displayed_headline(page.h1, page.title_tag)
    sources: dict[str, Candidates] = {
        "jsonld": page.jsonld,
        "opengraph": page.opengraph,
        "meta": page.meta,
        "microdata": page.microdata,
        "rel-tag": page.rel_tag,
        "h1": Candidates(title=shown_h1),
        "feed": feed_candidates(entry),
        "url": url_candidates(url),
    }
    sources["trafilatura"] = trafilatura_metadata(tree, url, sources, now)
    # The <title> stands in for an <h1> that is no headline (else trafilatura's title, which
    # splits the <title> at its separators, is the better last resort).
    stand_in = None
    if page.h1 and not shown_h1:
        stand_in = title_tag_stand_in(page.title_tag, site_names_of(url, sources))
    sources["title-tag"] = Candidates(title=stand_in)
    # Read only when no source above them gives the field (after trafilatura's metadata, which
    # is read when the declared sources leave a date unknown).
    late: dict[str, Callable[[], Candidates]] = {
        "tag-list": partial(tag_list_candidates, tree),
        "time": partial(time_element_candidates, tree),
        "dateline": partial(dateline_candidates, tree),
    }
    source, fallback_reason, text_source = "page", None, "trafilatura"
    if not text and entry is not None:
        text = entry_text(entry)
        source, fallback_reason, text_source = "feed", "no-body-text", "feed"
    article = _merge(url, page, sources, text, now, partial(safe_bylines, tree), late)
    if not text and entry is None:
        # Script-rendered pages carry no body in HTML; their own summary beats losing the page.
        if not article.description or not article.title:
            raise ExtractionError("no body text on the page and no feed entry")
        text = article.text = article.description
        article.content_hash = content_hash(text)
        fallback_reason, text_source = "no-body-text", article.provenance["description"]
    article.source = source
    article.fallback_reason = fallback_reason
    article.correction = page.correction
    if text:
        article.provenance["text"] = text_source
    return article
