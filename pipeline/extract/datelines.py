"""The printed dateline as a last-resort publication date: the text of the first element whose
class names a date ("date", "pubdate", "published", ...), read in the formats publishers print
(ISO, "2019年4月4日", "21.12.2024", "21. Dezember 2024", "December 21, 2024")."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pipeline.extract.rules import DATELINE_CLASS_WORDS, DATELINE_MONTH_NAMES, MAX_DATELINE_TEXT
from pipeline.extract.tagmarkup import class_words, classed_with
from pipeline.metadata import Candidates
from pipeline.names import clean_text

_DATE_STEMS = re.compile("date|publi|timestamp|datum|fecha", re.IGNORECASE)
_MONTH = r"(?P<month_name>[^\W\d_]{3,10})\.?"
# Tried in order; each names its groups year, month (or month_name) and day.
_FORMATS = (
    re.compile(r"(?P<year>(?:19|20)\d\d)\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日"),
    re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d)[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<day>\d{1,2})\.\s?(?P<month>\d{1,2})\.\s?(?P<year>(?:19|20)\d\d)"),
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})\.?\s+(?:de\s+)?{_MONTH}\s+(?:de\s+)?"
               r"(?P<year>(?:19|20)\d\d)"),
    re.compile(rf"{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)"),
)


def read_dateline(text: str) -> str | None:
    """The first date printed in `text` as an ISO day, or None."""
    for pattern in _FORMATS:
        for match in pattern.finditer(text):
            parts = match.groupdict()
            month = _month_number(parts["month_name"]) if parts.get("month_name") else (
                int(parts["month"]))
            if month is None:
                continue
            try:
                return date(int(parts["year"]), month, int(parts["day"])).isoformat()
            except ValueError:
                continue
    return None


def _month_number(word: str) -> int | None:
    """The month a printed word names: the start (three letters or more) of month names that
    all mean one month; None for any other word."""
    folded = word.casefold()
    if len(folded) < 3:
        return None
    months = {n for name, n in DATELINE_MONTH_NAMES.items() if name.startswith(folded)}
    return months.pop() if len(months) == 1 else None


def dateline_candidates(tree: Any) -> Candidates:
    """The publication day of the page's first dateline element (see the module docstring)."""
    for el in classed_with(tree, _DATE_STEMS):
        words = {w for name in (el.get("class") or "").split() for w in class_words(name)}
        if not words & DATELINE_CLASS_WORDS or el.tag in ("html", "body", "article", "main"):
            continue
        text = clean_text(el.text_content())
        if not text or len(text) > MAX_DATELINE_TEXT:
            continue
        day = read_dateline(text)
        if day is not None:
            return Candidates(published=day)
    return Candidates()
