"""Tags read from a publisher's visible tag box (pipeline.extract.tagmarkup), on small hand-made
pages and on real corpus pages that declare no keywords."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import html as lxml_html

from pipeline.extract import extract_article
from pipeline.extract.tagmarkup import class_words, names_tag_list, tag_list_candidates
from tests.conftest import corpus_pages

NOW = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://www.courier.example.org/politik/geisel-berichtet-123.html"
BODY = " ".join(["Der Bericht beschreibt die Lage in der Region ausführlich."] * 30)


def _page(extra: str, head: str = "") -> bytes:
    return (
        f"<html><head><title>Geisel berichtet</title>{head}</head><body>"
        f"<nav class='main-nav'><a href='/politik/'>Politik</a><a href='/sport/'>Sport</a></nav>"
        f"<article><h1>Geisel berichtet</h1><p>{BODY}</p>{extra}</article></body></html>"
    ).encode()


def _tags(fragment: str) -> list[str]:
    return tag_list_candidates(lxml_html.fromstring(f"<div>{fragment}</div>")).tags


def test_class_words_split_camel_case_and_separators() -> None:
    assert class_words("articleTags") == ["article", "tags"]
    assert class_words("tags__tag-list_x1Y") == ["tags", "tag", "list", "x", "y"]


@pytest.mark.parametrize("cls", [
    "articleTags", "article-tags", "post-tags entry-meta", "tag-list_tagList__mPIdS",
    "p-related-tags js-related-tags", "tags-links", "tagLinks", "schlagworte",
])
def test_classes_naming_a_tag_list(cls: str) -> None:
    assert names_tag_list(cls)


@pytest.mark.parametrize("cls", [
    # WordPress's per-tag classes on the article element name tags, not a list of them.
    "post type-post hentry tag-bridges tag-roads",
    "tagline", "hashtag", "stage", "vintage",
    # Navigation: clouds, menus, popular and trending lists.
    "tag-cloud", "widget_tag_cloud", "popular-tags", "trending-tags", "nav-tags", "tags-menu",
])
def test_classes_naming_no_tag_list(cls: str) -> None:
    assert not names_tag_list(cls)


def test_tag_box_links_become_tags() -> None:
    box = ("<div class='articleTags'><span class='articleTag'><a href='/person/g-m/'>Giorgia "
           "Meloni</a></span><span class='articleTag'><a href='/t/rom/'>Rom</a></span></div>")
    article = extract_article(_page(box), URL, now=NOW)
    assert article.tags == ["Giorgia Meloni", "Rom"]
    assert article.provenance["tags"] == "tag-list"
    assert article.confidence["tags"] == 0.5


def test_declared_keywords_win_over_the_tag_box() -> None:
    box = "<ul class='tag-list'><li><a href='/t/a/'>Visible</a></li></ul>"
    head = "<meta name='keywords' content='Declared, Keywords'>"
    article = extract_article(_page(box, head), URL, now=NOW)
    assert article.tags == ["Declared", "Keywords"]
    assert article.provenance["tags"] == "meta"


def test_navigation_and_clouds_are_not_tags() -> None:
    cloud = "".join(f"<a href='/t/{i}/'>Thema {i}</a>" for i in range(5))
    page = _page(f"<div class='tag-cloud'>{cloud}</div>"
                 f"<nav class='tags'><a href='/t/x/'>Menu</a></nav>")
    article = extract_article(page, URL, now=NOW)
    assert article.tags == []
    assert "tags" not in article.provenance


def test_a_box_of_too_many_links_is_a_menu() -> None:
    many = "".join(f"<a href='/t/{i}/'>Thema {i}</a>" for i in range(21))
    assert _tags(f"<div class='tags'>{many}</div>") == []
    assert _tags(f"<div class='tags'>{many[:200]}</div>") != []


def test_first_box_wins_long_texts_and_repeats_dropped() -> None:
    teaser = "Ein sehr langer Teaser-Titel, der eine ganze Schlagzeile eines anderen Artikels ist"
    boxes = (f"<ul class='tag-list'><li><a href='/t/a/'>Hamas</a></li><li><a href='/t/b/'>"
             f"{teaser}</a></li><li><a href='/t/c/'>hamas</a></li></ul>"
             f"<div class='post-tags'><a href='/t/d/'>Later</a></div>")
    assert _tags(boxes) == ["Hamas"]


def test_rel_tag_links_win_over_the_tag_box() -> None:
    box = ("<div class='entry-tags'><a rel='tag' href='/tag/bridges/'>Bridges</a>"
           "<a rel='tag' href='/tag/roads/'>Roads</a></div>")
    article = extract_article(_page(box), URL, now=NOW)
    assert article.tags == ["Bridges", "Roads"]
    assert article.provenance["tags"] == "rel-tag"


# Real pages whose tags are shown in a tag box and declared nowhere else (the labels' topics).
CORPUS_TAG_BOXES = {
    "at_SalzburgerNachrichten_2026_01_06.html.gz": ["Giorgia Meloni"],
    "jp_YomiuriShimbun_2024_12_03.html.gz": ["#北朝鮮", "#韓国"],
    "us_RollingStone_2024_08_27.html.gz": ["American Crime Film"],
}


@pytest.mark.parametrize("name", sorted(CORPUS_TAG_BOXES))
def test_corpus_tag_boxes(name: str) -> None:
    found = next((p for p in corpus_pages("pages") if p.file == name), None)
    if found is None or not found.present:
        pytest.skip(f"{name} is not in the corpus's pages")
    article = extract_article(found.html, found.url, now=NOW)
    assert article.tags == CORPUS_TAG_BOXES[name]
    assert {t.casefold() for t in article.tags} == {
        t.casefold() for t in found.record["topics"]
    }
    assert article.provenance["tags"] == "tag-list"
