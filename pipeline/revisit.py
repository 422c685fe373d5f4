"""When to look at a published article again, and what a revisit found (pure).

The schedule is NewsDiffs': keyed to the time since the article last changed, every 15 min
for 3 h, hourly to a day, 3-hourly to a week, every 3 days to a month; past the window the
article is no longer watched. An edit sets "last changed" to now, so the article is back on
the fast schedule. `plan` picks the due articles of a whole warehouse at once, vectorised over
numpy arrays (100k watched articles in milliseconds; scripts/revisit_benchmark.py), most
overdue first, at most `per_host` per host and `budget` in all per run.

A revisit sends the last ETag/Last-Modified (a 304 costs one cheap request) and hashes the
body (the same bytes are not extracted again); `outcome` names what it found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

DEFAULT_SCHEDULE = "15m/3h,1h/1d,3h/7d,3d/30d"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")

Outcome = Literal["not-modified", "same-body", "changed", "removed", "failed"]


def parse_duration(text: str) -> float:
    """Seconds of "15m", "3h", "1d", "2w", "30s"."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 15m, 3h, 1d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class Schedule:
    """Tiers of (revisit every `interval` seconds, while the article last changed less than
    `until` seconds ago), `until` increasing; past the last tier the article is unwatched."""

    intervals: tuple[float, ...]
    untils: tuple[float, ...]

    @property
    def window(self) -> float:
        return self.untils[-1]

    def revisits_per_window(self) -> float:
        """Revisits of an article that never changes, over the whole window."""
        total, start = 0.0, 0.0
        for interval, until in zip(self.intervals, self.untils, strict=True):
            total += (until - start) / interval
            start = until
        return total

    def revisits_per_day(self) -> float:
        """Revisits per watched article per day, averaged over the window (no edits)."""
        return self.revisits_per_window() / (self.window / 86400)

    def interval_after(self, age: float) -> float | None:
        """The revisit interval for an article last changed `age` seconds ago; None: unwatched."""
        for interval, until in zip(self.intervals, self.untils, strict=True):
            if age < until:
                return interval
        return None


def parse_schedule(text: str) -> Schedule:
    """ "15m/3h,1h/1d,3h/7d,3d/30d": every 15 min until 3 h since the last change, then hourly
    until a day, ... Tiers must grow: each `until` past the last, each interval under its own
    tier's length."""
    intervals: list[float] = []
    untils: list[float] = []
    for part in text.split(","):
        every, sep, until = part.partition("/")
        if not sep:
            raise ValueError(f"schedule tier {part.strip()!r} is not INTERVAL/UNTIL (e.g. 15m/3h)")
        interval, end = parse_duration(every), parse_duration(until)
        if interval <= 0 or end <= (untils[-1] if untils else 0):
            raise ValueError(f"schedule tier {part.strip()!r}: UNTIL must grow, INTERVAL > 0")
        intervals.append(interval)
        untils.append(end)
    if not intervals:
        raise ValueError("empty revisit schedule")
    return Schedule(tuple(intervals), tuple(untils))


@dataclass(frozen=True)
class Plan:
    """One run's revisits: the due article ids in the order to fetch, the ids past the window
    (no longer watched), each watched article's next revisit time (epoch seconds, NaN when
    unwatched) and how many due ones the budget or a host's bound held back."""

    due: npt.NDArray[np.int64]
    unwatch: npt.NDArray[np.int64]
    next_at: npt.NDArray[np.float64]
    deferred: int


def plan(
    ids: npt.NDArray[np.int64],
    hosts: Sequence[str] | npt.NDArray[Any],
    last_changed: npt.NDArray[np.float64],
    last_checked: npt.NDArray[np.float64],
    now: float,
    schedule: Schedule,
    budget: int,
    per_host: int,
    all_watched: bool = False,
) -> Plan:
    """Which watched articles to revisit now. Times are epoch seconds; `last_checked` NaN
    where never revisited (the first fetch counts then). `all_watched`: every article is due,
    whatever the schedule says, still within the budget and per-host bound."""
    untils = np.asarray(schedule.untils)
    intervals = np.asarray(schedule.intervals)
    age = now - last_changed
    tier = np.searchsorted(untils, age, side="right")
    expired = tier >= len(untils)
    interval = intervals[np.minimum(tier, len(untils) - 1)]
    last = np.where(np.isnan(last_checked), last_changed, last_checked)
    next_at = np.where(expired, np.nan, last + interval)
    due_mask = ~expired if all_watched else ~expired & (next_at <= now)
    candidates = np.flatnonzero(due_mask)
    # Most overdue first (stable: equal lateness keeps the input order).
    lateness = now - np.where(np.isnan(next_at), now, next_at)
    order = candidates[np.argsort(-lateness[candidates], kind="stable")]
    # Hosts as given (names, or integer codes, which are faster) mapped to small codes.
    host_codes = np.unique(np.asarray(hosts)[order], return_inverse=True)[1]
    # Rank of each candidate within its host: a stable sort by host keeps lateness order.
    by_host = np.argsort(host_codes, kind="stable")
    sorted_codes = host_codes[by_host]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(sorted_codes)]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[by_host] = np.arange(len(order)) - group_start
    chosen = order[rank < per_host][: max(budget, 0)]
    return Plan(
        due=ids[chosen].astype(np.int64),
        unwatch=ids[expired].astype(np.int64),
        next_at=next_at,
        deferred=len(candidates) - len(chosen),
    )


def is_section_redirect(url: str, final_url: str | None) -> bool:
    """A page that now redirects to a section or home page (how sites take an article down):
    the final path is the root or a proper prefix of the article's path, on the same site."""
    if not final_url or final_url == url:
        return False
    before, after = urlsplit(url), urlsplit(final_url)
    if (before.hostname or "").removeprefix("www.") != (after.hostname or "").removeprefix("www."):
        return False
    old = [p for p in before.path.split("/") if p]
    new = [p for p in after.path.split("/") if p]
    return len(new) < len(old) and old[: len(new)] == new


def removal_reason(status: int | None, url: str, final_url: str | None) -> str | None:
    """Why a revisited page counts as taken down (None: it does not): gone-404, gone-410,
    or redirect-to-section."""
    if status in (404, 410):
        return f"gone-{status}"
    if status is not None and 200 <= status < 300 and is_section_redirect(url, final_url):
        return "redirect-to-section"
    return None


def outcome(
    status: int | None,
    error: str | None,
    url: str,
    final_url: str | None,
    body_hash: str | None,
    previous_hash: str | None,
) -> Outcome:
    """What one revisit found: a 304, the same bytes, a page taken down, a changed page (to
    extract and judge), or a failure that changes nothing."""
    if status == 304:
        return "not-modified"
    if removal_reason(status, url, final_url):
        return "removed"
    if error is not None or status is None or not 200 <= status < 300:
        return "failed"
    if body_hash is not None and body_hash == previous_hash:
        return "same-body"
    return "changed"
