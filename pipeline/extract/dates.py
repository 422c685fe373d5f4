"""The article's dates: a page's date strings are read by `pipeline.dates`; this module adds
the URL's date (the last resort of `published_at`) and the publication/modification check."""

from __future__ import annotations

import re
from datetime import date, datetime

from pipeline.dates import plausible_datetime
from pipeline.extract.rules import (
    DATE_AGREEMENT_BONUS,
    DATE_AGREEMENT_DAYS,
    DATE_SOURCE_TRUST,
    PRECEDENCE,
    WEAK_DATE_SOURCES,
)
from pipeline.metadata import Candidates

# "/2016/10/" without a day: the month the URL was minted in.
_URL_MONTH = re.compile(r"/((?:19|20)\d\d)/(0[1-9]|1[0-2])/")
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](\d\d)[/-](\d\d)(?:/|[^0-9]|$)")
# A compact date inside a path segment ("/20240305/", "/article/A2026012914320005196").
_URL_COMPACT_DATE = re.compile(r"(?:/|[_-]|[A-Za-z])(20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")


def date_from_url(url: str) -> str | None:
    """The ISO date written in a URL's path ("/2024/03/05/", "/20240305/"), or None."""
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


def modified_is_credible(published: datetime | None, modified: datetime | None) -> bool:
    """False for a "modified" before publication: a template default or a swapped field."""
    return published is None or modified is None or modified >= published


def month_from_url(url: str) -> tuple[int, int] | None:
    """The (year, month) a URL's path gives ("/2016/10/"), or None."""
    match = _URL_MONTH.search(url.split("?", 1)[0])
    return (int(match.group(1)), int(match.group(2))) if match else None


def choose_published(
    sources: dict[str, Candidates], url: str, now: datetime
) -> tuple[datetime | None, str, float]:
    """The publication date by PRECEDENCE, each candidate checked against the references: the
    feed's date and the URL's date (or month): a guess (trafilatura's, the URL's) that a
    reference contradicts is passed over, a declared date every reference contradicts yields
    to another declared date one confirms, and a day/month read the wrong way round is turned
    when the URL's month says so. Publication fields only are candidates (a modification date
    never stands in for one); dateModified agreeing raises the confidence. A publication date
    after dateModified is kept: the modification date is the one dropped (modified_is_credible),
    as template defaults are more common than swapped fields."""
    candidates: list[tuple[str, datetime]] = []
    for source in PRECEDENCE["published_at"]:
        cand = sources.get(source)
        value = plausible_datetime(cand.published, now) if cand is not None else None
        if value is not None:
            candidates.append((source, value))
    if not candidates:
        return None, "", 0.0
    url_cand = sources.get("url")
    url_day = plausible_datetime(url_cand.published, now) if url_cand is not None else None
    feed_cand = sources.get("feed")
    feed_day = plausible_datetime(feed_cand.published, now) if feed_cand is not None else None
    modified = _declared_modified(sources, now)
    url_month = month_from_url(url)
    # Each reference by the source it is: no candidate confirms itself.
    refs = {k: v for k, v in (("feed", feed_day), ("url", url_day)) if v is not None}
    references = list(refs.values())

    checked = _checked(candidates, url_month, references)
    if not checked:
        return None, "", 0.0
    chosen = checked[0]
    if chosen[0] not in WEAK_DATE_SOURCES and references and not any(
        _agrees(chosen[1], r) for k, r in refs.items() if k != chosen[0]
    ):
        confirmed = [c for c in checked[1:] if c[0] not in WEAK_DATE_SOURCES
                     and any(_agrees(c[1], r) for k, r in refs.items() if k != c[0])]
        chosen = confirmed[0] if confirmed else chosen
    source, value = chosen
    score = DATE_SOURCE_TRUST.get(source, 0.0)
    for name, ref in (*refs.items(), ("modified", modified)):
        if ref is not None and name != source and _agrees(value, ref):
            score += DATE_AGREEMENT_BONUS
    return value, source, round(min(1.0, score), 2)


def _checked(
    candidates: list[tuple[str, datetime]],
    url_month: tuple[int, int] | None,
    references: list[datetime],
) -> list[tuple[str, datetime]]:
    checked: list[tuple[str, datetime]] = []
    for source, value in candidates:
        if url_month and (value.year, value.month) != url_month:
            swapped = _swapped(value)
            # A magazine's URL may carry its issue's month: the month only turns a day and
            # month read the wrong way round, it rejects nothing.
            if swapped is not None and (swapped.year, swapped.month) == url_month:
                value = swapped
        if source in WEAK_DATE_SOURCES and source != "url" and references and not any(
            _agrees(value, r) for r in references
        ):
            continue
        checked.append((source, value))
    return checked


def _declared_modified(sources: dict[str, Candidates], now: datetime) -> datetime | None:
    for source in PRECEDENCE["modified_at"]:
        cand = sources.get(source)
        value = plausible_datetime(cand.modified, now) if cand is not None else None
        if value is not None:
            return value
    return None


def _agrees(a: datetime, b: datetime) -> bool:
    return abs((a.date() - b.date()).days) <= DATE_AGREEMENT_DAYS


def _swapped(value: datetime) -> datetime | None:
    if value.day > 12 or value.day == value.month:
        return None
    try:
        return value.replace(month=value.day, day=value.month)
    except ValueError:
        return None
