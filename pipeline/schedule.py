"""Per-feed polling: when to fetch a feed next, from its publishing rate, hints and failures."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from pipeline.records import Fetch

MIN_INTERVAL = timedelta(minutes=5)
DEFAULT_INTERVAL = timedelta(hours=1)  # a feed with no publishing history yet
MAX_INTERVAL = timedelta(hours=12)  # a healthy but quiet feed is still looked at twice a day
FAILURE_BASE = timedelta(minutes=15)
MAX_BACKOFF = {
    "temporary": timedelta(hours=6),
    "soft": timedelta(days=1),
    "hard": timedelta(days=3),
}
FAILURE_WEIGHT = {"temporary": 1, "soft": 2, "hard": 4}  # how fast each kind backs off
MAX_RETRY_AFTER = timedelta(days=7)  # a Retry-After beyond this is treated as a typo
JITTER = 0.2  # ±20%: feeds added together must not stay in lock-step
POLLS_PER_ITEM = 2  # poll about twice as often as the feed publishes
TEMPORARY_STATUSES = frozenset({408, 425, 429, 502, 503, 504})
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d+)", re.IGNORECASE)


def classify_failure(status: int | None, error: str) -> str:
    """`temporary` (timeouts, refused connections, 429/5xx that say "later"), `hard` (the feed
    is not there or not a feed: 4xx, not a feed, refused destination), else `soft`."""
    if status is None:
        lowered = error.lower()
        if "refused private address" in lowered or "unsupported url" in lowered:
            return "hard"
        return "temporary"
    if status in TEMPORARY_STATUSES:
        return "temporary"
    if 400 <= status < 500:
        return "hard"
    if status >= 500:
        return "soft"
    return "hard" if "not a feed" in error.lower() else "soft"


def retry_after(headers: dict[str, str], now: datetime) -> timedelta | None:
    """The Retry-After header (seconds or an HTTP date) as a delay, capped."""
    raw = headers.get("retry-after", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        delay = timedelta(seconds=int(raw))
    else:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - now
    return min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def freshness(headers: dict[str, str], now: datetime) -> timedelta | None:
    """How long the server says the response stays fresh (Cache-Control max-age, Expires)."""
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    if match:
        return timedelta(seconds=int(match.group(1)))
    expires = headers.get("expires")
    if expires:
        try:
            when = parsedate_to_datetime(expires)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(when - now, timedelta(0))
    return None


def success_interval(
    entries_per_day: float | None, ttl_minutes: int | None, fresh_for: timedelta | None
) -> timedelta:
    """The delay after a good fetch: from the publishing rate, never sooner than the server's
    own hints (RSS <ttl>, Cache-Control, Expires) ask for, within the bounds."""
    if entries_per_day and entries_per_day > 0:
        interval = timedelta(days=1) / (entries_per_day * POLLS_PER_ITEM)
    elif entries_per_day == 0:
        interval = MAX_INTERVAL
    else:
        interval = DEFAULT_INTERVAL
    if ttl_minutes:
        interval = max(interval, timedelta(minutes=ttl_minutes))
    if fresh_for:
        interval = max(interval, fresh_for)
    return min(max(interval, MIN_INTERVAL), MAX_INTERVAL)


def failure_delay(kind: str, consecutive_failures: int) -> timedelta:
    """Exponential backoff: BASE · 2^(n−1) · weight, capped per kind."""
    n = max(consecutive_failures, 1)
    delay = FAILURE_BASE * (2 ** min(n - 1, 20)) * FAILURE_WEIGHT[kind]
    return min(delay, MAX_BACKOFF[kind])


def jittered(delay: timedelta, rng: random.Random | None = None) -> timedelta:
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return delay * factor


def next_fetch(
    fetch: Fetch,
    failed: bool,
    error: str | None,
    consecutive_failures: int,
    entries_per_day: float | None,
    ttl_minutes: int | None,
    now: datetime,
    rng: random.Random | None = None,
) -> tuple[datetime, timedelta, str | None]:
    """(next fetch time, the delay chosen, failure kind or None) after one fetch of a feed.
    `consecutive_failures` counts this fetch when it failed."""
    hinted = retry_after(fetch.headers, now) if fetch.status in (429, 503) else None
    if failed:
        kind = classify_failure(fetch.status, error or "")
        delay = failure_delay(kind, consecutive_failures)
        if hinted is not None:
            delay = max(delay, hinted)  # the server said when; never sooner than that
            return now + delay, delay, kind
        delay = jittered(delay, rng)
        return now + delay, delay, kind
    delay = success_interval(entries_per_day, ttl_minutes, freshness(fetch.headers, now))
    delay = jittered(delay, rng)
    return now + delay, delay, None
