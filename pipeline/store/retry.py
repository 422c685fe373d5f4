"""How often, and after which failures, an entry's page is fetched again."""

from __future__ import annotations

from pipeline import schedule
from pipeline.records import Fetch

# Fetches of an entry's page that may fail: an entry with no article yet is left alone after
# this many failures; one linked to feed text (a fallback) or to an older version of its page
# is tried again after a temporary failure (see page_retryable) until then.
MAX_PAGE_ATTEMPTS = 3


def page_retryable(fetch: Fetch) -> bool:
    """Whether a failed page fetch is worth another try in a later run: a temporary failure
    (timeouts, connection errors, 429, 502-504: schedule.classify_failure) or any other 5xx.
    A 4xx, a refused destination, an oversized body or a robots.txt refusal is not."""
    if fetch.ok:
        return False
    error = fetch.error or ""
    if "robots.txt" in error.lower():  # a backfill's gate said no: asking again changes nothing
        return False
    if fetch.status is not None and fetch.status >= 500:
        return True
    return schedule.classify_failure(fetch.status, error) == "temporary"
