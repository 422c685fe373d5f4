"""Headline rules beyond site-name stripping: short tails cut at the displayed headline, a site
name glued on with a colon, and an <h1> that is no headline, on small hand-made pages and on
real corpus pages of publishers the rules were not written for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.extract import clean_title, extract_article, strip_site_name
from pipeline.extract.titles import displayed_headline
from tests.conftest import corpus_pages

NOW = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://www.ledger.example.net/news/harbour-bridge-reopens"
BODY = " ".join(["The bridge reopened on Monday after two years of repairs and delays."] * 25)


def _page(head: str, h1: str, title_tag: str = "The Ledger") -> bytes:
    return (f"<html><head><title>{title_tag}</title>{head}</head><body><article>"
            f"<h1>{h1}</h1><p>{BODY}</p></article></body></html>").encode()


def _og(title: str) -> str:
    return f'<meta property="og:title" content="{title}">'


def test_parenthesised_note_cut_at_the_displayed_headline() -> None:
    head = _og("Harbour bridge reopens after repairs (Published 2016)")
    article = extract_article(_page(head, "Harbour bridge reopens after repairs"), URL, now=NOW)
    assert article.title == "Harbour bridge reopens after repairs"
    assert article.provenance["title"] == "h1"


def test_spaced_colon_section_cut_at_the_displayed_headline() -> None:
    head = _og("Harbour bridge reopens after repairs : Local")
    article = extract_article(_page(head, "Harbour bridge reopens after repairs"), URL, now=NOW)
    assert article.title == "Harbour bridge reopens after repairs"


@pytest.mark.parametrize("og_title", [
    # A colon without a space before it joins a kicker or a subtitle.
    "Harbour bridge reopens after repairs: what changes for drivers",
    # A long tail after a spaced colon (French typography) is a subtitle, not a section.
    "Harbour bridge reopens after repairs : what changes for the drivers of the city",
    # A long parenthesised tail is part of the headline.
    "Harbour bridge reopens after repairs (and the city council says it will stay open)",
])
def test_subtitles_are_not_cut(og_title: str) -> None:
    article = extract_article(_page(_og(og_title), "Harbour bridge reopens after repairs"),
                              URL, now=NOW)
    assert article.title == og_title


def test_short_tails_need_another_source_showing_the_bare_headline() -> None:
    title = "Harbour bridge reopens after repairs (Published 2016)"
    assert clean_title(title, [], [("h1", "Something else entirely")]) == (title, "")
    assert clean_title(title, [], [("h1", "Harbour bridge reopens after repairs")]) == (
        "Harbour bridge reopens after repairs", "h1"
    )


def test_site_name_glued_on_with_a_colon() -> None:
    assert strip_site_name("描画できる「Treeviz」:phpspot開発日誌", ["phpspot開発日誌"]) == (
        "描画できる「Treeviz」"
    )
    # Only a part naming the site goes.
    assert strip_site_name("Genetik:Das Geheimnis", ["Spektrum"]) == "Genetik:Das Geheimnis"


def test_h1_sharing_no_word_with_the_title_is_no_headline() -> None:
    assert displayed_headline("Original text", "Bridge reopens | The Ledger") is None
    assert displayed_headline("Bridge reopens", "Bridge reopens | The Ledger") == "Bridge reopens"
    assert displayed_headline("好奇心日报", "这个约会软件_智能_好奇心日报") == "好奇心日报"
    assert displayed_headline("Anything", None) == "Anything"
    page = _page("", "Original text", title_tag="Harbour bridge reopens after repairs")
    article = extract_article(page, URL, now=NOW)
    assert article.title == "Harbour bridge reopens after repairs"
    assert article.provenance["title"] == "title-tag"


def test_without_an_h1_trafilatura_reads_the_title_tag() -> None:
    """The <title> stands in only for a rejected <h1>; a page without one keeps trafilatura's
    title, which splits the <title> at its separators."""
    page = (f"<html><head><title>Harbour bridge reopens after repairs – Der Blog von Anna"
            f"</title></head><body><article><p>{BODY}</p></article></body></html>").encode()
    article = extract_article(page, URL, now=NOW)
    assert article.provenance["title"] == "trafilatura"
    assert article.title == "Harbour bridge reopens after repairs"


def test_the_title_tag_loses_its_site_name() -> None:
    page = _page('<meta property="og:site_name" content="The Ledger">', "Translate this page",
                 title_tag="Harbour bridge reopens after repairs | The Ledger")
    article = extract_article(page, URL, now=NOW)
    assert article.title == "Harbour bridge reopens after repairs"


def test_the_displayed_case_of_the_same_headline_is_kept() -> None:
    head = _og("Six Gadgets Powered By The Alexa Assistant")
    article = extract_article(_page(head, "Six Gadgets Powered by the Alexa Assistant"), URL,
                              now=NOW)
    assert article.title == "Six Gadgets Powered by the Alexa Assistant"
    assert article.provenance["title"] == "h1"


def test_a_section_kicker_the_h1_shows_is_kept() -> None:
    head = (_og("Box Office: Peculiar children top the weekend | The Ledger")
            + '<meta property="og:site_name" content="The Ledger">'
            + '<meta property="article:section" content="Box Office">')
    h1 = "Box Office: Peculiar children top the weekend"
    assert extract_article(_page(head, h1), URL, now=NOW).title == h1
    # Without the kicker on display, the section is a decoration.
    shown = extract_article(_page(head, "Peculiar children top the weekend"), URL, now=NOW)
    assert shown.title == "Peculiar children top the weekend"


def test_quotes_alone_keep_the_chosen_source() -> None:
    head = _og("Bridge 'reopens' after two years of repairs")
    article = extract_article(_page(head, "Bridge ‘reopens’ after two years of repairs"), URL,
                              now=NOW)
    assert article.title == "Bridge 'reopens' after two years of repairs"
    assert article.provenance["title"] == "opengraph"


# Real pages of publishers nobody tuned for, one rule each (the labels' titles).
CORPUS_TITLES = {
    "postlight__www.nytimes.com--recent.html.gz": "parenthesised note",
    "postlight__www.yomiuri.co.jp.html.gz": "spaced-colon section",
    "postlight__phpspot.org.html.gz": "site name glued with a colon",
    "postlight__www.elecom.co.jp.html.gz": "an <h1> that is a widget's",
    "postlight__fortune.com.html.gz": "the displayed case",
    "postlight__fandom.wikia.com.html.gz": "a section kicker the <h1> shows",
}


@pytest.mark.parametrize("name", sorted(CORPUS_TITLES))
def test_corpus_titles(name: str) -> None:
    found = next((p for p in corpus_pages("pages-extra") if p.file == name), None)
    if found is None or not found.present:
        pytest.skip(f"{name} is not in the corpus's pages-extra")
    article = extract_article(found.html, found.url, now=NOW)
    fold = str.maketrans("‘’", "''")
    assert (article.title or "").translate(fold) == found.title.translate(fold), (
        CORPUS_TITLES[name]
    )


@pytest.mark.parametrize("title_tag", ["Ledger", "Home", "The Ledger | ledger.example.net"])
def test_a_title_tag_that_is_only_the_site_never_beats_the_headline(title_tag: str) -> None:
    """No og:title, no JSON-LD, no feed title (a URL-list backfill): an <h1> sharing no word
    with a <title> that names only the site is still the headline."""
    page = _page("", "Harbour bridge reopens after repairs", title_tag=title_tag)
    article = extract_article(page, URL, now=NOW)
    assert article.title == "Harbour bridge reopens after repairs"


@pytest.mark.parametrize(
    ("title_tag", "h1"),
    [
        ("台风摩羯登陆海南_新闻_新浪网", "台风“摩羯”登陆海南"),
        ("東京で新しい店がオープン｜朝日新聞", "東京で新店オープン"),
    ],
)
def test_an_unspaced_headline_shares_text_with_its_title_tag(title_tag: str, h1: str) -> None:
    assert displayed_headline(h1, title_tag) == h1
    article = extract_article(_page("", h1, title_tag=title_tag), URL, now=NOW)
    assert article.title == h1


def test_an_h1_in_capitals_does_not_replace_the_declared_title() -> None:
    head = _og("Bridge reopens after two years of repairs")
    page = _page(head, "BRIDGE REOPENS AFTER TWO YEARS OF REPAIRS")
    article = extract_article(page, URL, now=NOW)
    assert article.title == "Bridge reopens after two years of repairs"
