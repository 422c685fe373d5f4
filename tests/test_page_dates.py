"""The page's first <time datetime> element as a weak publication-date source, on small
hand-made pages and on real corpus pages that declare no date in their metadata."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.extract import extract_article
from tests.conftest import corpus_pages

NOW = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://www.ledger.example.net/news/bridge-reopens-after-repairs"
BODY = " ".join(["The bridge reopened on Monday after two years of repairs and delays."] * 25)


def _page(head: str = "", byline: str = "") -> bytes:
    return (f"<html><head><title>Bridge reopens</title>{head}</head><body><article>"
            f"<h1>Bridge reopens</h1>{byline}<p>{BODY}</p></article></body></html>").encode()


def test_first_time_element_dates_a_page_declaring_none() -> None:
    byline = ('<p>By Jane Doe, <time datetime="2025-06-15T11:15:00-04:00">June 15</time></p>'
              '<aside><time datetime="2025-01-02">Related story</time></aside>')
    article = extract_article(_page(byline=byline), URL, now=NOW)
    assert article.published_at == datetime(2025, 6, 15, 15, 15, tzinfo=UTC)
    assert article.provenance["published_at"] == "time"
    assert article.confidence["published_at"] == 0.6


def test_a_time_element_without_zone_is_utc() -> None:
    byline = '<span>Published <time datetime="2025-07-08 23:51">07/08/2025</time></span>'
    article = extract_article(_page(byline=byline), URL, now=NOW)
    assert article.published_at == datetime(2025, 7, 8, 23, 51, tzinfo=UTC)


def test_declared_dates_win_over_the_time_element() -> None:
    head = ('<script type="application/ld+json">'
            + json.dumps({"@type": "NewsArticle", "datePublished": "2025-06-10T08:00:00+02:00"})
            + "</script>")
    byline = '<time datetime="2025-06-15T11:15:00-04:00">June 15</time>'
    article = extract_article(_page(head, byline), URL, now=NOW)
    assert article.published_at == datetime(2025, 6, 10, 6, 0, tzinfo=UTC)
    assert article.provenance["published_at"] == "jsonld"


def test_a_time_element_the_url_contradicts_is_passed_over() -> None:
    """A weak source: a <time> of another story (a sidebar's, a clock's) loses to the URL."""
    byline = '<time datetime="2025-09-30T10:00:00+00:00">Today</time>'
    url = "https://www.ledger.example.net/2025/06/15/bridge-reopens/"
    article = extract_article(_page(byline=byline), url, now=NOW)
    assert article.published_at == datetime(2025, 6, 15, tzinfo=UTC)
    # trafilatura reads the same day from the URL; either way not the <time>.
    assert article.provenance["published_at"] in ("trafilatura", "url")


def test_a_time_element_the_url_confirms_is_kept_with_its_clock() -> None:
    byline = '<time datetime="2025-06-15T23:30:00+09:00">15 June</time>'
    url = "https://www.ledger.example.net/2025/06/15/bridge-reopens/"
    article = extract_article(_page(byline=byline), url, now=NOW)
    assert article.published_at == datetime(2025, 6, 15, 23, 30,
                                            tzinfo=timezone(timedelta(hours=9)))
    assert article.provenance["published_at"] == "time"
    assert article.confidence["published_at"] == 0.7  # 0.6, and the URL agreeing


def test_unreadable_time_elements_date_nothing() -> None:
    article = extract_article(_page(byline='<time datetime="soon">Soon</time>'), URL, now=NOW)
    assert article.provenance.get("published_at") != "time"


# Real pages whose only machine-readable date is a <time datetime> in the byline (the labels'
# day, in the labels' offset).
CORPUS_TIME_ELEMENTS = {
    "jocmp__www.notebookcheck.net__1752012461747.html.gz": "2025-07-08",  # trafilatura: 08-07
    "jocmp__www.animenewsnetwork.com__1781536993736.html.gz": "2026-06-15",  # URL: 06-14
}


@pytest.mark.parametrize("name", sorted(CORPUS_TIME_ELEMENTS))
def test_corpus_time_elements(name: str) -> None:
    found = next((p for p in corpus_pages("pages-extra") if p.file == name), None)
    if found is None or not found.present:
        pytest.skip(f"{name} is not in the corpus's pages-extra")
    article = extract_article(found.html, found.url, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert article.provenance["published_at"] == "time"
    assert article.published_at is not None
    assert article.published_at.astimezone(UTC).date().isoformat() == CORPUS_TIME_ELEMENTS[name]
    assert found.publishing_date is not None
    assert found.publishing_date.startswith(CORPUS_TIME_ELEMENTS[name])
