"""Tests for pipeline.metadata: JSON-LD, OpenGraph, meta tags and rel=tag links."""

from __future__ import annotations

from pathlib import Path

from lxml import html as lxml_html

from pipeline.metadata import read_metadata, read_metadata_html, split_list
from pipeline.names import dedupe, name_key

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


def test_microdata_on_visible_elements() -> None:
    page = """<html><body><article itemscope itemtype="https://schema.org/NewsArticle">
    <h1 itemprop="headline">Bridge reopens</h1>
    <time itemprop="datePublished" datetime="2023-08-30T16:45+0100">30 Aug</time>
    <span itemprop="author" itemscope><span itemprop="name">Jane Doe</span></span>
    <meta itemprop="keywords" content="ignored here: meta is read by the meta source">
    <span itemprop="articleSection">Local</span>
    </article></body></html>"""
    micro = read_metadata_html(page).microdata
    assert micro.title == "Bridge reopens"
    assert micro.published == "2023-08-30T16:45+0100"
    assert micro.authors == ["Jane Doe"]
    assert micro.categories == ["Local"]
    assert micro.tags == []


def test_jsonld_organisation_authors_kept_apart_from_people() -> None:
    page = """<html><head><script type="application/ld+json">{"@type": "NewsArticle",
    "author": [{"@type": "NewsMediaOrganization", "name": "Gazette Staff"},
               {"@type": "Person", "name": "Jane Doe"}],
    "publisher": {"@type": "Organization", "name": "The Gazette"}}</script>
    <meta property="og:site_name" content="Gazette Online"></head><body></body></html>"""
    meta = read_metadata_html(page)
    assert meta.jsonld.authors == ["Jane Doe"]
    assert meta.organizations == ["Gazette Staff", "The Gazette", "Gazette Online"]
    only_org = page.replace(',\n               {"@type": "Person", "name": "Jane Doe"}', "")
    assert read_metadata_html(only_org).jsonld.authors == ["Gazette Staff"]


def test_cxense_author_h1_and_title_tag() -> None:
    page = """<html><head><title>Head | Site</title>
    <meta name="cXenseParse:author" content="松岡大地"></head>
    <body><h1> Head </h1><h1>Second</h1></body></html>"""
    meta = read_metadata_html(page)
    assert meta.meta.authors == ["松岡大地"]
    assert meta.h1 == "Head"
    assert meta.title_tag == "Head | Site"


def test_bylines_in_page_order() -> None:
    page = """<html><body><a rel="author" href="/u/jd">Jane Doe</a>
    <div class="byline">By John Roe, Staff Writer</div>
    <div class="author-bio">""" + "A long biography. " * 10 + """</div>
    <div class="content"><p><strong>Mohloai Mpesi</strong></p><p>One.</p><p>Two.</p>
    <p>Three.</p><p>Four.</p><p><strong>Mid-article subheading</strong></p><p>Five.</p>
    <p>Six.</p><p>Seven.</p></div></body></html>"""
    meta = read_metadata_html(page)
    assert meta.byline.authors == ["Jane Doe", "By John Roe, Staff Writer", "Mohloai Mpesi"]
    assert read_metadata(lxml_html.fromstring(page), bylines=False).byline.authors == []


def test_dedupe_by_normalised_key() -> None:
    assert name_key("  Ｅｌｅｃｔｉｏｎ   2024 ") == "election 2024"
    assert dedupe(["Election 2024", "ELECTION  2024", "Ｅｌｅｃｔｉｏｎ 2024"]) == ["Election 2024"]


def test_meta_headline_is_a_title_below_analytics_titles_and_above_meta_title() -> None:
    page = """<html><head><meta name="title" content="SEO title | Site">
    <meta name="headline" content="Bridge reopens after repairs"></head><body></body></html>"""
    assert read_metadata_html(page).meta.title == "Bridge reopens after repairs"
    itemprop = page.replace('name="headline"', 'itemprop="headline"')
    assert read_metadata_html(itemprop).meta.title == "Bridge reopens after repairs"
    parsely = page.replace("</head>", '<meta name="parsely-title" content="Parsely"></head>')
    assert read_metadata_html(parsely).meta.title == "Parsely"
