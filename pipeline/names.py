"""Normalisers of short texts and display names (titles, authors, categories, tags, site names):
one definition of each, for page metadata, extraction and the warehouse's keys."""

from __future__ import annotations

import html
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def clean_text(value: object) -> str | None:
    """A string with whitespace collapsed, or None when empty or not a string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    if "&" in value:
        # JSON-LD and some CMS meta fields carry HTML-escaped text ("&quot;", "&#8217;").
        value = html.unescape(value)
    cleaned = _SPACE.sub(" ", value).strip()
    return cleaned or None


def name_key(value: str) -> str:
    """The normalised key of a display name (the warehouse's key for categories and tags):
    NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def squeezed(value: str) -> str:
    """Case-folded with spaces dropped: how a site's name is matched ("Lesotho Times",
    "lesothotimes.com")."""
    return value.casefold().replace(" ", "")


MAX_ONE_LINE = 300  # characters of a one-line warning or error message


def one_line(text: str, limit: int = MAX_ONE_LINE) -> str:
    """`text` on one line (whitespace runs become one space), cut to `limit` with "…": the
    form of every warning and error a feed or a discovery records."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dedupe(values: list[str]) -> list[str]:
    """Drop repeats by `name_key`, keeping order and the first display form."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        key = name_key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out
