"""Authors and dates on publishers nobody tuned for (issue 17): one test per failure class, on
small hand-made pages and on real pages of the shared corpus (pages-extra holds other
publishers than the rules were written on)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.extract import clean_authors, extract_article
from pipeline.extract.authors import author_confidence
from pipeline.records import Entry
from tests.conftest import corpus_pages

URL = "https://www.courier.example.org/news/harbour-bridge-reopens"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PAGE = """<html lang="en"><head><title>Bridge reopens</title>{head}</head>
<body><h1>Bridge reopens</h1><article>{body}
<p>The council said the works would finish in spring after months of delays and costs.</p>
<p>Residents had complained for a year about the closure and the long detours it caused.</p>
<p>Engineers replaced the corroded steel cables and resurfaced the whole deck last week.</p>
<p>The mayor thanked the crews who worked through the winter nights to reopen the bridge.</p>
</article></body></html>"""


def page(head: str = "", body: str = "") -> bytes:
    return PAGE.format(head=head, body=body).encode()


def jsonld(obj: dict[str, object]) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def byline(text: str) -> str:
    return f'<div class="byline">{text}</div>'


# -- byline prefixes in other languages -------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "Published by Jane Doe", "Veröffentlicht von Jane Doe", "Von Jane Doe", "Par Jane Doe",
    "Por Jane Doe", "di Jane Doe", "Door Jane Doe", "Written by Jane Doe", "Écrit par Jane Doe",
    "Autorin: Jane Doe", "投稿者 Jane Doe", "Byby Jane Doe",
])
def test_localised_byline_prefixes_are_stripped(raw: str) -> None:
    assert clean_authors([raw]) == ["Jane Doe"]


def test_prefix_stripped_from_a_page_byline() -> None:
    article = extract_article(page(body=byline("Veröffentlicht von Anna Schmidt")), URL, now=NOW)
    assert article.authors == ["Anna Schmidt"]
    assert article.provenance["authors"] == "byline"


def test_italian_family_name_particle_is_not_a_prefix() -> None:
    assert clean_authors(["Ludovica Di Maio"]) == ["Ludovica Di Maio"]


# -- labels glued to names --------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "name"), [
    ("AuthorJane Doe", "Jane Doe"),
    ("ByTravis Haney", "Travis Haney"),
    ("Andrew HusbandTwitterNews", "Andrew Husband"),
    ("Howard BlumeStaff Writer", "Howard Blume"),
    ("Sam Stein Senior Politics Editor", "Sam Stein"),
    ("Lawrence Bonk Contributing Reporter ·", "Lawrence Bonk"),
    ("Meg Wagner NEW YORK DAILY NEWS", "Meg Wagner"),
])
def test_labels_roles_and_site_names_glued_to_names_are_cut(raw: str, name: str) -> None:
    assert clean_authors([raw]) == [name]


def test_names_with_glued_capitals_stay_whole() -> None:
    # "McDonald", "DeVries": a capital inside a name is not a glued label.
    assert clean_authors(["Mary McDonald", "Jan DeVries", "Parker Byrne"]) == [
        "Mary McDonald", "Jan DeVries", "Parker Byrne"
    ]


def test_family_name_first_is_reordered() -> None:
    assert clean_authors(["Gillman, Steve"]) == ["Steve Gillman"]
    assert clean_authors(["AFP, MANILA"]) == ["AFP"]  # a dateline, not a reordered name


# -- organisations, sponsors, places, domains, addresses taken as people ----------------------


@pytest.mark.parametrize("raw", [
    "Sponsored content", "Anzeige", "Paid Post", "Presented by Acme",
    "jane@example.com", "@janedoe", "www.example.com", "https://example.com/jane",
    "MANILA", "Updated", "Culture Writer", "Senior Correspondent",
    "Ariel Pierre-Louis at MSA Models", "Paul Warren for Amika",
])
def test_not_an_author(raw: str) -> None:
    assert clean_authors([raw]) == []


@pytest.mark.parametrize("team", ["Redaktion", "Staff", "Newsroom", "MM-Redaktion", "Web Desk"])
def test_team_words_yield_to_a_named_person(team: str) -> None:
    head = f'<meta name="author" content="{team}">'
    article = extract_article(page(head, byline("By Jane Doe")), URL, now=NOW)
    assert article.authors == ["Jane Doe"]


def test_a_dateline_city_after_a_name_is_cut() -> None:
    assert clean_authors(["Jonathan Harding Houston"]) == ["Jonathan Harding"]


def test_copyright_holder_in_meta_author_yields_to_the_person() -> None:
    head = ('<meta name="author" content="Condé Nast">'
            '<meta name="copyright" content="Copyright (c) Condé Nast">'
            '<meta property="article:author" content="Emma Grey Ellis">')
    article = extract_article(page(head), URL, now=NOW)
    assert article.authors == ["Emma Grey Ellis"]
    assert article.provenance["authors"] == "opengraph"


def test_byline_date_trailer_is_cut() -> None:
    assert clean_authors(["by JOSH HASKELL, DAVID CAPLAN and PATRICK REEVELL December 16, "
                          "2016, 4:19 PM"]) == ["JOSH HASKELL", "DAVID CAPLAN", "PATRICK REEVELL"]


def test_digits_reject_visible_text_names_but_not_declared_ones() -> None:
    assert clean_authors(["Updated Oct 9"], visible_text=True) == []
    # A JSON-LD Person's name is the publisher's word (the chaos test site names "Reporter 3").
    head = jsonld({"@type": "NewsArticle", "headline": "Bridge reopens",
                   "author": [{"@type": "Person", "name": "Reporter 3"},
                              {"@type": "Person", "name": "Editor 1"}]})
    assert extract_article(page(head), URL, now=NOW).authors == ["Reporter 3", "Editor 1"]


# -- authors emitted where the page names none ------------------------------------------------


def test_a_page_naming_nobody_has_no_author() -> None:
    body = '<div class="author-tools">Twitter Facebook</div><div class="byline">Share</div>'
    article = extract_article(page(body=body), URL, now=NOW)
    assert article.authors == []
    assert "authors" not in article.provenance and "authors" not in article.confidence


# -- co-authors joined with a localised "and" -------------------------------------------------


@pytest.mark.parametrize("joined", [
    "Anna Schmidt und Max Weber", "Anna Schmidt et Max Weber", "Anna Schmidt y Max Weber",
    "Anna Schmidt e Max Weber", "Anna Schmidt en Max Weber", "Anna Schmidt i Max Weber",
    "Anna Schmidt og Max Weber", "Anna Schmidt and Max Weber", "Anna Schmidt & Max Weber",
])
def test_co_authors_joined_with_a_localised_and(joined: str) -> None:
    assert clean_authors([joined]) == ["Anna Schmidt", "Max Weber"]


def test_co_authors_linked_one_by_one_are_read_together() -> None:
    body = ('<address><a rel="author" href="/profile/jane">Jane Doe</a> and '
            '<a rel="author" href="/profile/max">Max Weber</a></address>')
    article = extract_article(page(body=body), URL, now=NOW)
    assert article.authors == ["Jane Doe", "Max Weber"]


def test_a_spaced_double_family_name_is_one_person() -> None:
    article = extract_article(page(body=byline("Katarzyna Kapusta - Gruchlik")), URL, now=NOW)
    assert article.authors == ["Katarzyna Kapusta - Gruchlik"]


def test_a_conjunction_inside_a_name_does_not_split_it() -> None:
    assert clean_authors(["RT en Español"]) == ["RT en Español"]


# -- agreement between sources as confidence --------------------------------------------------


def test_agreeing_sources_raise_the_confidence() -> None:
    head = (jsonld({"@type": "NewsArticle", "headline": "Bridge reopens",
                    "author": {"@type": "Person", "name": "Jane Doe"}})
            + '<meta name="author" content="Jane Doe">')
    entry = Entry(guid="g", link=URL, title="Bridge reopens", authors=["Jane Doe"])
    agreed = extract_article(page(head), URL, entry, now=NOW)
    alone = extract_article(page(jsonld({"@type": "NewsArticle", "headline": "Bridge reopens",
                                         "author": {"@type": "Person", "name": "Jane Doe"}})),
                            URL, now=NOW)
    assert agreed.authors == alone.authors == ["Jane Doe"]
    assert agreed.confidence["authors"] == 1.0 > alone.confidence["authors"] == 0.8


def test_a_weak_byline_the_feed_contradicts_gives_no_author() -> None:
    # The page's byline markup and the feed name different people, and the byline is the
    # strongest page source: no author rather than a wrong one.
    entry = Entry(guid="g", link=URL, title="Bridge reopens", authors=["Ann Other"])
    offered = {"feed": ["Ann Other"], "byline": ["Jane Doe"]}
    assert author_confidence(["Jane Doe"], "byline", offered) < 0.5
    article = extract_article(page(body=byline("By Jane Doe")), URL, entry, now=NOW)
    assert article.authors == ["Ann Other"]  # the feed comes first and is not contradicted
    assert article.provenance["authors"] == "feed"


# -- dates checked against the feed and the URL -----------------------------------------------


def test_a_guessed_date_the_url_contradicts_yields_to_the_url() -> None:
    body = "<p>© 2022 The Courier. Posted 2 January 2022.</p>"
    url = "https://www.courier.example.org/security/alert20190402.html"
    article = extract_article(page(body=body), url, now=NOW)
    assert article.published_at is not None
    assert article.published_at.date().isoformat() == "2019-04-02"


def test_day_and_month_turned_by_the_urls_month() -> None:
    head = '<meta name="date" content="04/10/2016">'  # read day-first: 4 October or 10 April
    url = "https://www.courier.example.org/story/2016/10/who-will-win"
    article = extract_article(page(head), url, now=NOW)
    assert article.published_at is not None
    assert (article.published_at.month, article.published_at.day) == (10, 4)


def test_a_declared_date_every_reference_contradicts_yields_to_a_confirmed_one() -> None:
    head = (jsonld({"@type": "NewsArticle", "headline": "Bridge reopens",
                    "datePublished": "2020-01-01T08:00:00Z"})
            + '<meta property="article:published_time" content="2024-03-05T09:30:00Z">')
    entry = Entry(guid="g", link=URL, title="Bridge reopens",
                  published_at=datetime(2024, 3, 5, 10, 0, tzinfo=UTC))
    article = extract_article(page(head), URL, entry, now=NOW)
    assert article.published_at == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    assert article.provenance["published_at"] == "opengraph"


def test_a_feed_date_alone_does_not_overrule_the_page() -> None:
    # The feed lists every item under one date; the page declares its own: the feed is a
    # reference, it does not confirm itself.
    head = '<meta property="article:published_time" content="2024-03-05T09:30:00Z">'
    entry = Entry(guid="g", link=URL, title="Bridge reopens",
                  published_at=datetime(2024, 3, 11, 10, 0, tzinfo=UTC))
    article = extract_article(page(head), URL, entry, now=NOW)
    assert article.published_at == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    assert article.confidence["published_at"] == 0.75


def test_publication_preferred_over_modification() -> None:
    head = jsonld({"@type": "NewsArticle", "headline": "Bridge reopens",
                   "datePublished": "2024-03-05T09:30:00Z", "dateModified": "2024-03-06T12:00:00Z"})
    article = extract_article(page(head), URL, now=NOW)
    assert article.published_at == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    assert article.modified_at == datetime(2024, 3, 6, 12, 0, tzinfo=UTC)
    # JSON-LD's trust, and dateModified within a day of it agrees.
    assert article.confidence["published_at"] == 0.9


# -- real pages of publishers the rules were not written on -----------------------------------

# pages-extra pages (Mercury parser's fixtures) whose byline shows one failure class each.
EXTRA_AUTHORS = {
    "postlight__247sports.com.html.gz": ["Travis Haney"],  # "ByTravis Haney"
    "postlight__sect.iij.ad.jp.html.gz": ["Masafumi Negishi"],  # "投稿者 ..."
    "postlight__www.latimes.com.html.gz": ["Howard Blume"],  # "Howard BlumeStaff Writer"
    "postlight__www.huffingtonpost.com.html.gz": ["Sam Stein"],  # role phrase after the name
    "postlight__uproxx.com.html.gz": ["Andrew Husband"],  # glued share buttons
    "postlight__www.wired.com.html.gz": ["Emma Grey Ellis"],  # "Condé Nast" in meta author
    "postlight__www.thepennyhoarder.com.html.gz": ["Steve Gillman"],  # "Gillman, Steve"
    "postlight__www.nydailynews.com.html.gz": ["Meg Wagner"],  # all-caps site name after it
    "jocmp__www.dw.com__1781467709395.html.gz": ["Jonathan Harding"],  # dateline city
    "postlight__www.theguardian.com.html.gz": ["Julia Carrie Wong", "Sam Levin"],  # rel=author x2
    "jocmp__lublin.se.pl__1740022803567.html.gz": ["Katarzyna Kapusta - Gruchlik"],
}


@pytest.mark.parametrize("name", sorted(EXTRA_AUTHORS))
def test_corpus_unseen_publishers_bylines(name: str) -> None:
    found = next((p for p in corpus_pages("pages-extra") if p.file == name), None)
    if found is None or not found.present:
        pytest.skip(f"{name} is not in the corpus's pages-extra")
    article = extract_article(found.html, found.record["url"], now=NOW)
    assert [a.casefold() for a in article.authors] == [
        a.casefold() for a in EXTRA_AUTHORS[name]
    ]


def test_corpus_unseen_publishers_authors_beat_trafilatura_alone() -> None:
    import trafilatura

    def f1(got: set[str], want: set[str]) -> float:
        hits = len(got & want)
        return 2 * hits / (len(got) + len(want)) if hits else float(not got and not want)

    ours = theirs = 0.0
    labelled = [p for p in corpus_pages("pages-extra") if p.record.get("authors") and p.present]
    for p in labelled:
        want = {a.casefold() for a in p.record["authors"]}
        article = extract_article(p.html, p.record["url"], now=NOW)
        ours += f1({a.casefold() for a in article.authors}, want)
        doc = trafilatura.bare_extraction(p.html, url=p.record["url"], with_metadata=True)
        names = (getattr(doc, "author", None) or "").split(";")
        theirs += f1({n.strip().casefold() for n in names if n.strip()}, want)
    # Measured 0.904 against trafilatura's 0.760 on 162 labelled pages.
    assert ours / len(labelled) >= 0.90
    assert ours > theirs
