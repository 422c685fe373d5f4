"""Access state (free/metered/subscription/unknown) and per-field confidence: read from pages,
stored by migration 009, and shown by low_confidence, article_fill_rate, article_topics and
the paywalled_share query, on a DuckDB file and on lakes (SQLite and PostgreSQL catalogs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from pipeline.extract import extract_article
from pipeline.extract.access import ends_at_paywall, truncated
from pipeline.records import Article, Entry, FeedResult, Fetch, PageResult, ParsedFeed
from pipeline.store import Warehouse
from pipeline.urls import url_key
from tests.conftest import corpus_pages

URL = "https://www.courier.example.org/news/harbour-bridge-reopens"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
BODY = "".join(
    f"<p>Paragraph {i}: the council said the works would finish in spring after delays.</p>"
    for i in range(6)
)


def page(head: str = "", body: str = BODY) -> bytes:
    return (f'<html lang="en"><head><title>Bridge reopens</title>{head}</head><body>'
            f"<h1>Bridge reopens</h1><article>{body}</article></body></html>").encode()


def jsonld(**fields: object) -> str:
    obj = {"@type": "NewsArticle", "headline": "Bridge reopens", **fields}
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


# -- reading the access state -----------------------------------------------------------------


def test_jsonld_not_accessible_for_free_with_a_paywalled_part_is_subscription() -> None:
    head = jsonld(isAccessibleForFree="False", hasPart={
        "@type": "WebPageElement", "isAccessibleForFree": "False", "cssSelector": ".paywall"})
    article = extract_article(page(head), URL, now=NOW)
    assert article.access == "subscription"
    assert article.provenance["access"] == "jsonld" and article.confidence["access"] == 0.9


def test_jsonld_paywall_with_a_metered_tier_is_metered() -> None:
    head = (jsonld(isAccessibleForFree=False)
            + '<meta property="article:content_tier" content="metered">')
    assert extract_article(page(head), URL, now=NOW).access == "metered"


@pytest.mark.parametrize(("tier", "state"), [
    ("free", "free"), ("metered", "metered"), ("locked", "subscription")])
def test_meta_content_tier(tier: str, state: str) -> None:
    head = f'<meta property="article:content_tier" content="{tier}">'
    article = extract_article(page(head), URL, now=NOW)
    assert article.access == state and article.provenance["access"] == "meta"


def test_text_much_shorter_than_the_declared_article_body_is_truncated() -> None:
    full = " ".join(["The council said the works would finish in spring."] * 80)
    head = jsonld(articleBody=full)
    article = extract_article(page(head), URL, now=NOW)
    assert truncated({"articleBody": full}, article.text)
    assert article.access == "subscription" and article.provenance["access"] == "truncated"
    assert article.confidence["access"] == 0.7


def test_word_count_far_above_the_text_is_truncated() -> None:
    assert truncated({"wordCount": "1200"}, "only a teaser of twenty words " * 4)
    assert not truncated({"wordCount": 40}, "only a teaser of twenty words " * 4)


def test_text_ending_at_a_paywall_marker() -> None:
    body = BODY + "<p>Jetzt weiterlesen mit SZ Plus: Abonnieren Sie unser Digitalabo.</p>"
    article = extract_article(page(body=body), URL, now=NOW)
    assert ends_at_paywall(article.text)
    assert article.access == "subscription" and article.provenance["access"] == "marker"


def test_declared_free_is_free_and_a_plain_page_unknown() -> None:
    assert extract_article(page(jsonld(isAccessibleForFree=True)), URL, now=NOW).access == "free"
    plain = extract_article(page(), URL, now=NOW)
    assert plain.access == "unknown" and "access" not in plain.confidence


def test_corpus_pages_access_states() -> None:
    states = {extract_article(p.html, p.url, now=NOW).access
              for p in corpus_pages("pages") if p.present}
    # The corpus's news sites declare all of them (JSON-LD isAccessibleForFree, content tiers).
    assert states == {"free", "metered", "subscription", "unknown"}


# -- stored and shown, on a file and on lakes -------------------------------------------------


def _article(path: str, site: str, access: str, confidence: dict[str, float],
             tags: list[str]) -> Article:
    url = f"https://{site}/{path}"
    return Article(
        url=url, canonical_url=url, url_key=url_key(url), title=f"Title {path}",
        text=f"Body of {path}.", site_name=site, content_hash=f"hash-{site}-{path}",
        extractor_version="test", provenance={f: "meta" for f in confidence},
        confidence=confidence, access=access, authors=["Jane Doe"], tags=tags,
    )


def _store(wh: Warehouse, articles: list[Article]) -> None:
    (state,) = wh.feed_states(["https://feeds.example/all.xml"])
    run_id = wh.start_run()
    entries = [Entry(guid=a.url, link=a.url, title=a.title) for a in articles]
    fetch = Fetch(url=state.url, kind="feed", started_at=T0, status=200, final_url=state.url,
                  body=b"<rss/>", headers={}, redirects=[], feed_id=state.feed_id)
    parsed = ParsedFeed(title="All", site_url="https://feeds.example/", entries=entries,
                        format="rss20", ttl_minutes=30)
    wh.record_feed_results(run_id, [FeedResult(feed=state, fetch=fetch, parsed=parsed)])
    by_key = {a.url_key: a for a in articles}
    results = [
        PageResult(page=p, fetch=Fetch(url=p.url, kind="page", started_at=T0, status=200,
                                       final_url=p.url, body=b"<html/>", headers={},
                                       redirects=[]),
                   article=by_key[p.link_key])
        for p in wh.pending_pages()
    ]
    wh.record_page_results(run_id, results)


@pytest.fixture
def wh(warehouse_at: Any) -> Iterator[Warehouse]:
    with Warehouse(warehouse_at) as warehouse:
        yield warehouse


def test_access_and_confidence_stored_and_shown(wh: Warehouse) -> None:
    arts = [
        _article("a", "paper.example", "subscription", {"title": 0.8, "authors": 0.4}, ["Brexit"]),
        _article("b", "paper.example", "free", {"title": 0.9}, ["brexit", "Économie"]),
        _article("c", "paper.example", "unknown", {"title": 0.3}, []),
        _article("d", "blog.example", "metered", {"title": 0.8}, ["Economie"]),
    ]
    _store(wh, arts)
    rows = wh.sql("SELECT url, access, confidence FROM articles ORDER BY url")
    assert [(u.rsplit("/", 1)[-1], a) for u, a, _ in rows] == [
        ("d", "metered"), ("a", "subscription"), ("b", "free"), ("c", "unknown")]
    assert json.loads(str(rows[1][2])) == {"authors": 0.4, "title": 0.8}

    low = wh.sql("SELECT url, field, source, confidence FROM low_confidence ORDER BY url, field")
    assert [(u.rsplit("/", 1)[-1], f, s, c) for u, f, s, c in low] == [
        ("a", "authors", "meta", 0.4), ("c", "title", "meta", 0.3)]

    fill = dict(wh.sql("SELECT site, with_access FROM article_fill_rate"))
    assert fill["paper.example"] == pytest.approx(2 / 3) and fill["blog.example"] == 1.0
    low_share = dict(wh.sql("SELECT site, with_low_confidence FROM article_fill_rate"))
    assert low_share["paper.example"] == pytest.approx(2 / 3)

    query = resources.files("warehouse").joinpath("queries", "paywalled_share.sql")
    shares = {r[0]: r[1:] for r in wh.sql(query.read_text("utf-8"))}
    # paper.example: 2 known (1 subscription, 1 free); blog.example: 1 metered.
    assert shares["paper.example"] == (3, 2, 0.0, 0.5, 0.5)
    assert shares["blog.example"] == (1, 1, 1.0, 0.0, 1.0)


def test_topic_keys_fold_case_and_accents_and_site_wide_tags_drop(wh: Warehouse) -> None:
    # 20 articles of one site all tagged "Newsletter" (its boilerplate), a few with real tags.
    arts = [_article(f"n{i}", "paper.example", "free", {"title": 0.8},
                     ["Newsletter"] + (["Économie"] if i % 5 == 0 else [])
                     + (["economie"] if i == 1 else []))
            for i in range(20)]
    _store(wh, arts)
    keys = wh.sql("SELECT DISTINCT topic_key, site_wide FROM topic_site_share ORDER BY 1")
    assert keys == [("economie", False), ("newsletter", True)]
    kept = wh.sql("SELECT DISTINCT topic_key FROM article_topics")
    assert kept == [("economie",)]
    assert wh.sql("SELECT count(DISTINCT article_id) FROM article_topics") == [(5,)]
