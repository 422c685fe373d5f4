"""Tests for pipeline.metadata: JSON-LD, OpenGraph, meta tags and rel=tag links."""

from __future__ import annotations

from pathlib import Path

from pipeline.metadata import read_metadata_html, split_list

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "wordpress_article.html"


def test_jsonld_graph_article_found_and_broken_block_tolerated() -> None:
    meta = read_metadata_html(FIXTURE.read_bytes())
    assert meta.jsonld.title == "Harbour Bridge Reopens After Repairs & Delays"
    assert meta.jsonld.published == "2024-03-05T09:30:00+01:00"
    assert meta.jsonld.modified == "2024-03-06T10:00:00+01:00"
    assert meta.jsonld.authors == ["By Jane Doe", "John Smith and Ana Lopez"]
    assert meta.jsonld.categories == ["Local News"]
    assert meta.jsonld.tags == ["Transport", "Bridges", "City Council"]
    assert meta.jsonld.site_name == "Riverside Gazette"
    assert meta.jsonld.image == "https://gazette.example.com/wp-content/uploads/bridge.jpg"


def test_opengraph_and_article_namespace() -> None:
    meta = read_metadata_html(FIXTURE.read_bytes())
    og = meta.opengraph
    assert og.title == "Harbour bridge reopens | Riverside Gazette"
    assert og.site_name == "Riverside Gazette"
    assert og.language == "en_GB"
    assert og.published == "2024-03-05T09:30:00+01:00"
    assert og.categories == ["Local News"]
    assert og.tags == ["Transport", "Bridges"]


def test_meta_names_canonical_and_lang() -> None:
    meta = read_metadata_html(FIXTURE.read_bytes())
    assert meta.meta.authors == ["Jane Doe"]
    assert meta.meta.tags == ["transport", "bridges", "city council"]
    assert meta.canonical_url == "/2024/03/05/harbour-bridge-reopens/?utm_source=rss"
    assert meta.html_lang == "en-GB"


def test_rel_category_tag_links_are_categories_and_rel_tag_links_are_tags() -> None:
    meta = read_metadata_html(FIXTURE.read_bytes())
    assert meta.rel_tag.categories == ["Local News", "Transport"]
    assert meta.rel_tag.tags == ["Bridges", "City Council", "Roads"]


def test_nested_list_jsonld_with_trailing_comma_and_parsely() -> None:
    page = """<html><head>
    <script type="application/ld+json">[{"@type": "WebPage", "mainEntity":
      {"@type": "http://schema.org/ReportageNewsArticle", "headline": "Deep one",
       "author": "Kim Lee", "datePublished": "2023-01-02",}}]</script>
    <meta name="parsely-page" content='{"title": "Parsely title",
      "pub_date": "2023-01-02T03:04:05Z",
      "section": "World", "tags": ["Asia", "Trade"], "author": "Pat Roe"}'>
    <meta name="sailthru.author" content="Someone Else">
    </head><body><p>x</p></body></html>"""
    meta = read_metadata_html(page)
    assert meta.jsonld.title == "Deep one"
    assert meta.jsonld.authors == ["Kim Lee"]
    assert meta.jsonld.published == "2023-01-02"
    assert meta.meta.title == "Parsely title"
    assert meta.meta.published == "2023-01-02T03:04:05Z"
    assert meta.meta.categories == ["World"]
    assert meta.meta.tags == ["Asia", "Trade"]
    assert meta.meta.authors == ["Someone Else"]  # sailthru meta outranks the parsely blob


def test_article_author_urls_are_not_names() -> None:
    page = """<html><head>
    <meta property="article:author" content="https://facebook.com/someone">
    <meta name="author" content="news@example.com">
    </head><body><p>x</p></body></html>"""
    meta = read_metadata_html(page)
    assert meta.opengraph.authors == []
    assert meta.meta.authors == []


def test_garbage_does_not_raise() -> None:
    for junk in (b"", b"%PDF-1.4\x00\x01\x02", b"\xff\xfe\x00garbage", "<html><head>"):
        meta = read_metadata_html(junk)
        assert meta.jsonld.title is None


def test_split_list_dedupes_case_insensitively() -> None:
    assert split_list("Politics, politics ,World;;Asia") == ["Politics", "World", "Asia"]
    assert split_list(["A, B", {"name": "C"}, 3]) == ["A", "B", "C"]
