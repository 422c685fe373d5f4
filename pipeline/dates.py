"""The one date parser of the pipeline: feed entries, pages and sitemaps all read dates here."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

# Publishers' clocks and timezones are sloppy: only dates further ahead than this are bogus
# (a typo'd year, a scheduled post, an event date).
MAX_FUTURE = timedelta(days=1)
# A page date before this is a template default or a misread, not a publication date.
EARLIEST_PUBLICATION = datetime(1990, 1, 1, tzinfo=UTC)
# Lengths of an all-digit Unix epoch, in seconds and in milliseconds.
EPOCH_DIGITS = {10: 1, 13: 1000}
# An ISO 8601 date (and time) inside other text ("Published 2024-03-05T10:00Z").
_ISO_IN_TEXT = re.compile(
    r"((?:19|20)\d\d-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:?\d\d)?)"
)
# W3C datetime's reduced precisions (sitemaps): a year, or a year and a month.
_YEAR_MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def parse_datetime(value: object) -> datetime | None:
    """A timezone-aware UTC datetime, or None when `value` is unreadable or has no UTC form.

    Reads datetime and date objects (a date is midnight), and strings: a Unix epoch (10 digits
    in seconds, 13 in milliseconds), ISO 8601, RFC 822/2822, else the first ISO 8601 date found
    inside the text. Naive times are UTC. No string is both ISO 8601 and RFC 822 (RFC 822 needs
    four or more words), so the order of the two readers decides nothing.

    Raises OverflowError for a time whose offset takes it out of datetime's range (year 1 or
    9999 with an offset), as the feed and page parsers this one replaces did."""
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        parsed = _parse_string(value.strip())
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def plausible_datetime(value: object, now: datetime | None = None) -> datetime | None:
    """`parse_datetime`, and None when the date is before EARLIEST_PUBLICATION or more than
    MAX_FUTURE ahead of `now` (the clock when None): the test for a page's dates."""
    parsed = parse_datetime(value)
    if parsed is None:
        return None
    if parsed > (now or datetime.now(UTC)) + MAX_FUTURE or parsed < EARLIEST_PUBLICATION:
        return None
    return parsed


def parse_w3c_date(text: str | None) -> datetime | None:
    """W3C datetime (sitemaps): YYYY, YYYY-MM, YYYY-MM-DD, or full ISO 8601 with a zone, and
    whatever else `parse_datetime` reads. A year or a month alone is its first day, midnight UTC.
    """
    if not text or not text.strip():
        return None
    text = text.strip()
    match = _YEAR_MONTH.match(text)
    if match:
        try:
            return datetime(int(match.group(1)), int(match.group(2) or 1), 1, tzinfo=UTC)
        except ValueError:
            return None
    try:
        return parse_datetime(text)
    except OverflowError:  # year 1 or 9999 with an offset: not a real date
        return None


def _parse_string(text: str) -> datetime | None:
    if text.isdigit() and len(text) in EPOCH_DIGITS:
        try:
            return datetime.fromtimestamp(int(text) / EPOCH_DIGITS[len(text)], UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return datetime.fromisoformat(text)  # 3.11+: accepts "Z" and most of ISO 8601
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
