"""Failed pages tried again: a fallback article (feed text) upgraded in place once its page
answers, a failed refetch of an updated entry kept pending; real DuckDB files throughout."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.errors import FailureKind, kind_for_status
from pipeline.records import Article, FeedState, Fetch
from pipeline.store import (
    MAX_PAGE_ATTEMPTS,
    PageResult,
    PendingPage,
    Warehouse,
    page_retryable,
)
from pipeline.urls import url_key
from tests.test_store import T0, entry, ok_result, one_feed, page_fetch, scalar

LINK = "https://n.example/story"


@pytest.fixture
def wh(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Warehouse(tmp_path / "wh.duckdb") as warehouse:
        yield warehouse


def article(url: str, **kw: object) -> Article:
    fields: dict[str, object] = {
        "canonical_url": url,
        "title": "Headline",
        "text": "Body text.",
        "content_hash": f"hash-{url_key(url)}",
        "extractor_version": "test-1",
        "provenance": {"title": "page"},
        **kw,
    }
    return Article(url=url, url_key=url_key(url), **fields)  # type: ignore[arg-type]


def _feed_text(page: PendingPage, reason: str) -> Article:
    return article(
        page.url,
        source="feed",
        fallback_reason=reason,
        text="Feed text.",
        content_hash="hash-feed",
        authors=["Feed Writer"],
        tags=["FeedTag"],
        provenance={"text": "feed"},
    )


def _page_text(page: PendingPage, text: str = "Page body text.", **kw: object) -> Article:
    fields: dict[str, object] = {
        "text": text,
        "content_hash": f"hash-{text}",
        "authors": ["Ann Page"],
        "tags": ["PageTag"],
        "description": "From the page",
        "language": "en",
        "site_name": "News",
        **kw,
    }
    return article(page.url, **fields)


def _failed(page: PendingPage, status: int | None, error: str) -> PageResult:
    """What fetch_page_batch returns for a failed page whose entry has text."""
    fetch = page_fetch(page.url, status, error=error)
    return PageResult(page=page, fetch=fetch, article=_feed_text(page, error), error=error)


def _ok(page: PendingPage, art: Article) -> PageResult:
    return PageResult(page=page, fetch=page_fetch(page.url), article=art)


def _entry_state(wh: Warehouse) -> list[tuple[object, ...]]:
    return wh.sql(
        "SELECT article_id, page_attempts, last_page_error, refetch FROM feed_entries"
        " ORDER BY feed_id, entry_key"
    )


def _setup(wh: Warehouse) -> tuple[int, FeedState]:
    state = one_feed(wh)
    run_id = wh.start_run()
    wh.record_feed_results(run_id, [ok_result(state, entry("g1", LINK, updated_at=T0))])
    return run_id, state


def test_page_retryable() -> None:
    def failed(status: int | None, error: str, kind: FailureKind | None = None) -> Fetch:
        fetch = page_fetch(LINK, status, error=error)
        # The kind as the fetcher (or a backfill's robots.txt gate) records it; an HTTP error
        # status's kind is the status's own.
        fetch.failure_kind = kind or kind_for_status(status or 0)
        return fetch

    for status, error, kind in [
        (503, "HTTP 503", None),
        (429, "HTTP 429", None),
        (502, "HTTP 502", None),
        (500, "HTTP 500", None),
        (None, "read timeout", FailureKind.TEMPORARY),
        (None, "connection failed: refused", FailureKind.TEMPORARY),
        (None, "deadline exceeded: response took over 30 s", FailureKind.TEMPORARY),
    ]:
        assert page_retryable(failed(status, error, kind)), (status, error)
    for status, error, kind in [
        (404, "HTTP 404", None),
        (410, "HTTP 410", None),
        (403, "HTTP 403", None),
        (None, "refused private address 10.0.0.1 for host 'x'", FailureKind.REFUSED),
        (None, "unsupported URL scheme 'ftp'", FailureKind.REFUSED),
        (None, "disallowed by robots.txt", FailureKind.REFUSED),
        (200, "response too large: 99999999 bytes declared, limit 10", FailureKind.REFUSED),
    ]:
        assert not page_retryable(failed(status, error, kind)), (status, error)
    assert not page_retryable(page_fetch(LINK))


def test_temporary_failure_keeps_feed_text_then_the_page_upgrades_it(wh: Warehouse) -> None:
    run_id, _ = _setup(wh)
    (page,) = wh.pending_pages()
    counts = wh.record_page_results(run_id, [_failed(page, 503, "HTTP 503")])
    assert (counts["articles_new"], counts["fallbacks"], counts["pages_failed"]) == (1, 1, 1)
    ((article_id, source, reason),) = wh.sql(
        "SELECT article_id, source, fallback_reason FROM articles"
    )
    assert (source, reason) == ("feed", "HTTP 503")
    assert _entry_state(wh) == [(article_id, 1, "HTTP 503", True)]

    # The next run tries the page again, for the article already stored.
    (retry,) = wh.pending_pages()
    assert retry.article_id == article_id and retry.link_key == page.link_key
    run2 = wh.start_run()
    counts = wh.record_page_results(run2, [_ok(retry, _page_text(retry))])
    assert counts["articles_updated"] == 1
    assert (counts["articles_new"], counts["fallbacks"], counts["articles_linked"]) == (0, 0, 0)
    assert wh.counts()["articles"] == 1
    row = wh.sql(
        "SELECT article_id, source, fallback_reason, text, description, language, site_name,"
        " version, content_hash, provenance, cluster_id FROM articles"
    )[0]
    assert row[:9] == (
        article_id,
        "page",
        None,
        "Page body text.",
        "From the page",
        "en",
        "News",
        2,
        "hash-Page body text.",
    )
    assert json.loads(row[9]) == {"title": "page"}
    assert row[10] == article_id
    assert wh.sql(
        "SELECT version, content_hash, text FROM article_versions ORDER BY version"
    ) == [(1, "hash-feed", "Feed text."), (2, "hash-Page body text.", "Page body text.")]
    details = wh.sql("SELECT authors, tags FROM article_details")
    assert details == [(["Ann Page"], ["PageTag"])]
    assert scalar(wh, "SELECT fetch_id FROM articles") == scalar(
        wh, "SELECT max(fetch_id) FROM fetches WHERE kind = 'page'"
    )
    assert _entry_state(wh) == [(article_id, 1, "HTTP 503", False)]
    assert wh.pending_pages() == []


def test_upgrade_adds_the_pages_final_and_canonical_urls_as_aliases(wh: Warehouse) -> None:
    run_id, state = _setup(wh)
    (page,) = wh.pending_pages()
    wh.record_page_results(run_id, [_failed(page, 503, "HTTP 503")])
    article_id = scalar(wh, "SELECT article_id FROM articles")
    (retry,) = wh.pending_pages()
    # This time the page answers from where it moved, and names its canonical URL.
    moved, canonical = "https://n.example/2026/story", "https://news.example/story-canonical"
    result = _ok(retry, _page_text(retry, canonical_url=canonical))
    result.fetch.final_url = moved
    wh.record_page_results(wh.start_run(), [result])
    aliases = dict(wh.sql("SELECT url_key, article_id FROM article_urls"))
    assert aliases[url_key(moved)] == article_id
    assert aliases[url_key(canonical)] == article_id
    # A later entry linking to the canonical URL joins the article without a fetch.
    run3 = wh.start_run()
    wh.record_feed_results(run3, [ok_result(state, entry("g2", canonical))])
    assert wh.pending_pages() == []
    assert scalar(wh, "SELECT article_id FROM feed_entries WHERE guid = 'g2'") == article_id
    assert wh.counts()["articles"] == 1


def test_retry_with_the_same_text_only_switches_the_source(wh: Warehouse) -> None:
    run_id, _ = _setup(wh)
    (page,) = wh.pending_pages()
    wh.record_page_results(run_id, [_failed(page, None, "read timeout")])
    (retry,) = wh.pending_pages()
    same = _page_text(retry, text="Feed text.", content_hash="hash-feed")
    counts = wh.record_page_results(run_id, [_ok(retry, same)])
    assert counts["articles_updated"] == 1
    assert wh.sql("SELECT source, fallback_reason, version FROM articles") == [
        ("page", None, 1)
    ]
    assert scalar(wh, "SELECT count(*) FROM article_versions") == 1
    assert wh.pending_pages() == []


def test_permanent_failure_is_not_retried(wh: Warehouse) -> None:
    run_id, _ = _setup(wh)
    (page,) = wh.pending_pages()
    wh.record_page_results(run_id, [_failed(page, 410, "HTTP 410")])
    article_id = scalar(wh, "SELECT article_id FROM articles")
    assert _entry_state(wh) == [(article_id, 1, "HTTP 410", False)]
    assert wh.pending_pages() == []


def test_temporary_failures_stop_after_max_attempts(wh: Warehouse) -> None:
    a, b = wh.feed_states(["https://a.example/feed", "https://b.example/feed"])
    run_id = wh.start_run()
    wh.record_feed_results(run_id, [ok_result(a, entry("a1", LINK))])
    wh.record_feed_results(run_id, [ok_result(b, entry("b1", LINK + "?utm_source=b"))])
    for attempt in range(1, MAX_PAGE_ATTEMPTS + 1):
        (page,) = wh.pending_pages()
        assert len(page.entry_refs) == 2
        counts = wh.record_page_results(run_id, [_failed(page, 503, "HTTP 503")])
        assert counts["pages_failed"] == 1
        assert counts["articles_new"] == (1 if attempt == 1 else 0)
        assert counts["articles_updated"] == 0
        article_id = scalar(wh, "SELECT article_id FROM articles")
        more = attempt < MAX_PAGE_ATTEMPTS
        assert _entry_state(wh) == [(article_id, attempt, "HTTP 503", more)] * 2
    assert wh.pending_pages() == []
    # One article, still the feed text, one version; no duplicate link or alias.
    assert wh.sql("SELECT source, version FROM articles") == [("feed", 1)]
    assert scalar(wh, "SELECT count(*) FROM article_versions") == 1
    assert scalar(wh, "SELECT count(*) FROM feed_entries") == 2
    assert scalar(wh, "SELECT count(DISTINCT article_id) FROM article_urls") == 1
    assert scalar(wh, "SELECT count(*) FROM fetches WHERE kind = 'page'") == MAX_PAGE_ATTEMPTS


def test_failed_refetch_of_an_updated_entry_is_retried(wh: Warehouse) -> None:
    run_id, state = _setup(wh)
    (page,) = wh.pending_pages()
    wh.record_page_results(run_id, [_ok(page, _page_text(page, "First text."))])
    article_id = scalar(wh, "SELECT article_id FROM articles")

    def update(minutes: int) -> None:
        changed = entry("g1", LINK, updated_at=T0 + timedelta(minutes=minutes))
        wh.record_feed_results(run_id, [ok_result(state, changed)])

    update(10)
    assert _entry_state(wh) == [(article_id, 0, None, True)]
    (again,) = wh.pending_pages()
    assert again.article_id == article_id
    counts = wh.record_page_results(run_id, [_failed(again, None, "connect timeout")])
    assert (counts["articles_new"], counts["articles_updated"]) == (0, 0)
    # The stored page version stays; the refetch stays pending.
    assert wh.sql("SELECT source, text, version FROM articles") == [
        ("page", "First text.", 1)
    ]
    assert _entry_state(wh) == [(article_id, 1, "connect timeout", True)]

    (again,) = wh.pending_pages()
    counts = wh.record_page_results(run_id, [_ok(again, _page_text(again, "Second text."))])
    assert counts["articles_updated"] == 1
    assert wh.sql("SELECT text, version FROM articles") == [("Second text.", 2)]
    assert _entry_state(wh) == [(article_id, 1, "connect timeout", False)]
    assert wh.pending_pages() == []

    # An update whose page is then gone for good is not retried, and keeps the article.
    update(20)
    (again,) = wh.pending_pages()
    wh.record_page_results(run_id, [_failed(again, 404, "HTTP 404")])
    assert _entry_state(wh) == [(article_id, 1, "HTTP 404", False)]
    assert wh.sql("SELECT source, version FROM articles") == [("page", 2)]
    assert wh.pending_pages() == []


def test_refetch_retries_are_bounded(wh: Warehouse) -> None:
    run_id, state = _setup(wh)
    (page,) = wh.pending_pages()
    wh.record_page_results(run_id, [_ok(page, _page_text(page))])
    wh.record_feed_results(
        run_id, [ok_result(state, entry("g1", LINK, updated_at=T0 + timedelta(hours=1)))]
    )
    for _ in range(MAX_PAGE_ATTEMPTS):
        (again,) = wh.pending_pages()
        wh.record_page_results(run_id, [_failed(again, 503, "HTTP 503")])
    assert wh.pending_pages() == []
    assert _entry_state(wh)[0][1:] == (MAX_PAGE_ATTEMPTS, "HTTP 503", False)
    assert scalar(wh, "SELECT version FROM articles") == 1


# -- end to end: the real ingest flow over the loopback site ---------------------------------


def test_ingest_retries_a_failed_page_and_upgrades_its_fallback(
    prefect_server,
    allow_loopback,
    sample_site,  # type: ignore[no-untyped-def]
    tmp_path,
) -> None:
    from flows.ingest import ingest
    from tests.test_ingest_flow import snapshot

    site, sample = sample_site
    # This feed's items carry a summary only: the feed text differs from the page's.
    feed = sample.tracked_feed_path
    victim = next(
        a
        for a in sample.articles
        if sample.url(a.path).startswith(sample.url(feed).rsplit("/feed", 1)[0])
        and a.path != sample.duplicate_listed_path
    )
    content_type, body = sample.routes[victim.path]
    site.fail(victim.path, 503)
    db = tmp_path / "news.duckdb"
    feeds = [sample.url(feed)]
    query = (
        "SELECT article_id, source, fallback_reason, text, version FROM articles WHERE url_key = ?"
    )
    key = [url_key(sample.url(victim.path))]

    first = ingest(feed_urls=feeds, warehouse=str(db))
    assert first["fallbacks"] == 1 and first["pages_failed"] == 1
    with Warehouse(db, read_only=True) as wh:
        ((article_id, source, reason, _, version),) = wh.query(query, key)[1]
        articles = wh.counts()["articles"]
    assert (source, version) == ("feed", 1) and "503" in reason

    site.set(victim.path, body, content_type)
    hits = site.hits[victim.path]
    second = ingest(feed_urls=feeds, warehouse=str(db))
    assert site.hits[victim.path] == hits + 1
    assert second["articles_updated"] == 1
    assert second.get("articles_new", 0) == 0 and second.get("fallbacks", 0) == 0
    with Warehouse(db, read_only=True) as wh:
        rows = wh.query(query, key)[1]
        assert rows[0][0] == article_id and rows[0][1:3] == ("page", None)
        assert victim.paragraphs[0][:40] in rows[0][3] and rows[0][4] == 2
        assert wh.query(
            "SELECT version FROM article_versions WHERE article_id = ? ORDER BY version",
            [article_id],
        )[1] == [(1,), (2,)]
        assert wh.counts()["articles"] == articles
        assert wh.query("SELECT count(*) FROM feed_entries WHERE refetch OR article_id IS NULL")[
            1
        ] == [(0,)]

    before = snapshot(db)
    third = ingest(feed_urls=feeds, warehouse=str(db))
    assert third.get("pages_fetched", 0) == 0 and third.get("articles_updated", 0) == 0
    assert site.hits[victim.path] == hits + 1
    assert snapshot(db) == before
