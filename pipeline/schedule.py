"""Per-feed polling: when to fetch a feed next, from its publishing rate, hints and failures;
and whether a failed page is worth another fetch."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from pipeline.errors import FailureKind, kind_for_status
from pipeline.records import FeedState, Fetch

if TYPE_CHECKING:  # the warehouse imports this module
    from pipeline.store import Warehouse

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
# The backoff of each failure kind: what we refuse to fetch (a private address, a URL that is
# not http(s), an oversized body) stays refused, so it backs off like a feed that is not there.
BACKOFF = {
    FailureKind.TEMPORARY: "temporary",
    FailureKind.SOFT: "soft",
    FailureKind.HARD: "hard",
    FailureKind.REFUSED: "hard",
}
MAX_RETRY_AFTER = timedelta(days=7)  # a Retry-After beyond this is treated as a typo
RETRY_AFTER_STATUSES = frozenset({429, 503})  # the answers whose Retry-After is honoured
JITTER = 0.2  # ±20%: feeds added together must not stay in lock-step
POLLS_PER_ITEM = 2  # poll about twice as often as the feed publishes
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d+)", re.IGNORECASE)


def failure_kind(fetch: Fetch) -> FailureKind:
    """The kind of a failed fetch, as recorded where it failed. A record made without one (by
    hand, or a result that failed after its fetch went well) has the kind of its HTTP status,
    else temporary when no response came and soft when one did."""
    if fetch.failure_kind is not None:
        return fetch.failure_kind
    if fetch.status is None:
        return FailureKind.TEMPORARY
    if fetch.status >= 400:
        return kind_for_status(fetch.status)
    return FailureKind.SOFT


def classify_failure(fetch: Fetch) -> str:
    """The backoff of a failed feed fetch: `temporary` (timeouts, refused connections, 429/5xx
    that say "later"), `hard` (the feed is not there or not a feed: 4xx, not a feed, refused
    destination), else `soft`. Read from the failure's kind, never from its message."""
    return BACKOFF[failure_kind(fetch)]


def page_retryable(fetch: Fetch) -> bool:
    """Whether a failed page fetch is worth another try in a later run: a temporary failure
    (timeouts, connection errors, the deadline, 429, 502-504) or any other 5xx. A 4xx, a
    refused destination, an oversized body or a robots.txt refusal is not."""
    if fetch.ok:
        return False
    kind = failure_kind(fetch)
    if kind is FailureKind.REFUSED:  # asking again changes nothing
        return False
    return kind is FailureKind.TEMPORARY or (fetch.status is not None and fetch.status >= 500)


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


def retry_after_until(
    status: int | None, retry_after_header: str | None, asked_at: datetime
) -> datetime | None:
    """Until when a server asked not to be asked again: the Retry-After of a 429 or 503
    answered at `asked_at` (seconds or an HTTP date, capped); None when it set no such time."""
    if status not in RETRY_AFTER_STATUSES or not retry_after_header:
        return None
    delay = retry_after({"retry-after": retry_after_header}, asked_at)
    return asked_at + delay if delay else None


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
    delay: timedelta = FAILURE_BASE * (2 ** min(n - 1, 20)) * FAILURE_WEIGHT[kind]
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
    """(next fetch time, the delay chosen, backoff kind or None) after one fetch of a feed.
    `consecutive_failures` counts this fetch when it failed. The backoff follows the failure's
    kind on `fetch` (`error`, the message, plays no part in it)."""
    hinted = retry_after(fetch.headers, now) if fetch.status in RETRY_AFTER_STATUSES else None
    if failed:
        kind = classify_failure(fetch)
        delay = failure_delay(kind, consecutive_failures)
        if hinted is not None:
            delay = max(delay, hinted)  # the server said when; never sooner than that
            return now + delay, delay, kind
        delay = jittered(delay, rng)
        return now + delay, delay, kind
    delay = success_interval(entries_per_day, ttl_minutes, freshness(fetch.headers, now))
    delay = jittered(delay, rng)
    return now + delay, delay, None


def retry_after_holds(wh: Warehouse, feeds: list[FeedState], now: datetime) -> dict[int, datetime]:
    """The feeds (id -> until when) whose last fetch was a 429 or 503 with a Retry-After that
    has not passed: the server asked not to be asked before then, whatever the kind of run."""
    if not feeds:
        return {}
    _, rows = wh.query(
        "SELECT feed_id, status, retry_after, started_at FROM fetches"
        " WHERE kind = 'feed' AND started_at >= ? AND feed_id IN (SELECT unnest(?))"
        " QUALIFY row_number() OVER (PARTITION BY feed_id ORDER BY fetch_id DESC) = 1",
        [now - MAX_RETRY_AFTER - timedelta(days=1), [f.feed_id for f in feeds]],
    )
    holds = {}
    for feed_id, status, header, asked_at in rows:
        until = retry_after_until(status, header, asked_at)
        if until is not None and until > now:
            holds[int(feed_id)] = until
    return holds
