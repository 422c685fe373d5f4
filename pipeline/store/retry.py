"""How often, and after which failures, an entry's page is fetched again."""

from __future__ import annotations

from pipeline import schedule
from pipeline.records import Fetch

# Fetches of an entry's page that may fail: an entry with no article yet is left alone after
# this many failures; one linked to feed text (a fallback) or to an older version of its page
# is tried again after a temporary failure (see page_retryable) until then.
MAX_PAGE_ATTEMPTS = 3


def page_retryable(fetch: Fetch) -> bool:
    """Whether a failed page fetch is worth another try in a later run (schedule.page_retryable:
    by the failure's kind, never its message)."""
    return schedule.page_retryable(fetch)
