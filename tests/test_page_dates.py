"""The page's first <time datetime> element and its printed dateline as weak publication-date
sources, on small hand-made pages and on real corpus pages that declare no date in their
metadata."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import html as lxml_html

from pipeline.extract import extract_article
from pipeline.extract.datelines import dateline_candidates, read_dateline
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


def test_a_duration_or_clock_time_element_is_passed_over_for_the_next() -> None:
    byline = (
        '<time datetime="PT4M">4 min read</time> <time datetime="11:15">11:15</time>'
        ' <time datetime="2025-06-14T09:30:00+02:00">14 June</time>'
    )
    article = extract_article(_page(byline=byline), URL, now=NOW)
    assert article.provenance.get("published_at") == "time"
    assert article.published_at is not None
    assert article.published_at.date().isoformat() == "2025-06-14"


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


# --------------------------------------------------------------------------- printed datelines

@pytest.mark.parametrize(("text", "day"), [
    ("2019年04月21日 12時00分更新", "2019-04-21"),
    ("2019年4月4日", "2019-04-04"),
    ("22.03.2026 - 14:08", "2026-03-22"),
    ("Published 21. Dezember 2024", "2024-12-21"),
    ("on 21 December 2024 at 09:31 AM EST", "2024-12-21"),
    ("December 21st, 2024", "2024-12-21"),
    ("Dec. 1, 2016", "2016-12-01"),
    ("3 de marzo de 2025", "2025-03-03"),
    ("12 févr. 2025", "2025-02-12"),
    ("2025/02/17 11:01", "2025-02-17"),
])
def test_datelines_read_in_the_formats_publishers_print(text: str, day: str) -> None:
    assert read_dateline(text) == day


@pytest.mark.parametrize("text", ["Updated 3 hours ago", "31.02.2024", "Vol. 12 No. 3",
                                  "Smarch 4, 2020", "07/08/2025"])
def test_no_dateline_in_text_without_an_unambiguous_date(text: str) -> None:
    assert read_dateline(text) is None


def test_dateline_element_dates_a_page_without_declared_dates() -> None:
    byline = '<p class="article__readTime date">2019年2月27日 読了時間 3 分</p>'
    article = extract_article(_page(byline=byline), URL, now=NOW)
    assert article.published_at == datetime(2019, 2, 27, tzinfo=UTC)
    assert article.provenance["published_at"] == "dateline"


def test_time_element_wins_over_the_dateline_and_other_classes_are_no_datelines() -> None:
    byline = ('<div class="update-notice">Last checked 1 January 2020</div>'
              '<span class="pubdate">3 June 2025</span>'
              '<time datetime="2025-06-02T10:00:00Z">2 June</time>')
    article = extract_article(_page(byline=byline), URL, now=NOW)
    assert article.provenance["published_at"] == "time"
    assert article.published_at == datetime(2025, 6, 2, 10, tzinfo=UTC)
    tree = lxml_html.fromstring(_page(byline=byline))
    assert dateline_candidates(tree).published == "2025-06-03"


def test_a_dateline_the_url_contradicts_is_passed_over() -> None:
    byline = '<span class="date">1 January 2020</span>'
    url = "https://www.ledger.example.net/2025/06/15/bridge-reopens/"
    article = extract_article(_page(byline=byline), url, now=NOW)
    assert article.published_at == datetime(2025, 6, 15, tzinfo=UTC)
    assert article.provenance["published_at"] != "dateline"


# Real pages dated only by a printed dateline, which trafilatura misread (labels' local day).
CORPUS_DATELINES = {
    "postlight__weekly.ascii.jp.html.gz": "2019-04-21",  # trafilatura: 04-19
    "postlight__www.infoq.com.html.gz": "2019-02-27",  # trafilatura: 02-16; label 02-27 JST
    "postlight__www.publickey1.jp.html.gz": "2019-04-04",  # trafilatura: 2017-01-01
}


@pytest.mark.parametrize("name", sorted(CORPUS_DATELINES))
def test_corpus_datelines(name: str) -> None:
    found = next((p for p in corpus_pages("pages-extra") if p.file == name), None)
    if found is None or not found.present:
        pytest.skip(f"{name} is not in the corpus's pages-extra")
    article = extract_article(found.html, found.url, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert article.provenance["published_at"] == "dateline"
    assert article.published_at == datetime.fromisoformat(CORPUS_DATELINES[name]).replace(
        tzinfo=UTC)
    # The label: the same day in Japan (a local midnight written in UTC, or a daytime).
    assert found.publishing_date is not None
    label = datetime.fromisoformat(found.publishing_date)
    label = label if label.tzinfo else label.replace(tzinfo=UTC)
    japan = timezone(timedelta(hours=9))
    assert label.astimezone(japan).date().isoformat() == CORPUS_DATELINES[name]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Mayor 3, 2024 results", None),  # a word that begins with a month's letters is no month
        ("Octane 12, 2024", None),
        ("Mail 12 2024", None),
        ("5. Jänner 2024", "2024-01-05"),
        ("Sept. 3, 2023", "2023-09-03"),
        ("12 de setiembre de 2021", "2021-09-12"),
    ],
)
def test_a_printed_month_is_the_start_of_one_month_name(text: str, day: str | None) -> None:
    assert read_dateline(text) == day
