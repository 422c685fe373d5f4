"""The candidates of the sources beside the page's own metadata (`pipeline.metadata`): the feed
entry, trafilatura's metadata, the URL's date, and the page's byline markup."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lxml import etree
from trafilatura.metadata import extract_metadata
from trafilatura.settings import Extractor

from pipeline.dates import plausible_datetime
from pipeline.extract.body import html_to_text
from pipeline.extract.dates import date_from_url
from pipeline.extract.topics import split_tags
from pipeline.metadata import Candidates, read_bylines
from pipeline.names import clean_text
from pipeline.records import Entry

_TIME_XPATH = etree.XPath("//time[@datetime]")
_HAS_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


def feed_candidates(entry: Entry | None) -> Candidates:
    """What the feed entry says of the article."""
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


def url_candidates(url: str) -> Candidates:
    """The publication date the URL's path gives."""
    return Candidates(published=date_from_url(url))


def time_element_candidates(tree: Any) -> Candidates:
    """The publication date of the page's first <time datetime> element: the dateline most
    article templates print above the text (a weak source: a feed or URL date it contradicts
    wins, see rules.WEAK_DATE_SOURCES)."""
    for el in _TIME_XPATH(tree):
        value = clean_text(el.get("datetime"))
        if value and _HAS_YEAR.search(value):  # not a duration ("PT4M") or a bare clock time
            return Candidates(published=value)
    return Candidates()


def entry_text(entry: Entry | None) -> str:
    """The feed entry's text: its content, else its summary."""
    if entry is None:
        return ""
    return html_to_text(entry.content) or html_to_text(entry.summary)


def safe_bylines(tree: Any) -> Candidates:
    """The page's byline markup; none when reading it fails."""
    try:
        return read_bylines(tree)
    except Exception:  # byline markup is a bonus, like the rest of the metadata
        return Candidates()


def trafilatura_metadata(
    tree: Any, url: str, sources: dict[str, Candidates], now: datetime
) -> Candidates:
    """trafilatura's own metadata, when the other sources leave the publication date or the
    title unknown (on the corpus, 5 pages of 133; elsewhere it only ever filled categories,
    tags or the site name of 3-4 pages, which the fields' other sources do without)."""
    has_date = any(plausible_datetime(c.published, now) for c in sources.values())
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
