"""The article's dates: a page's date strings are read by `pipeline.dates`; this module adds
the URL's date (the last resort of `published_at`) and the publication/modification check."""

from __future__ import annotations

import re
from datetime import date, datetime

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
