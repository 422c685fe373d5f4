"""End to end: the real `ingest` flow over a loopback site into a real DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.ingest import ingest
from pipeline.archive import read_record
from pipeline.batches import ExtractPool
from pipeline.store import Warehouse

CONTENT_TABLES = (
    "feed_entries",
    "articles",
    "article_urls",
    "authors",
    "article_authors",
    "categories",
    "article_categories",
    "tags",
    "article_tags",
)


def run_ingest(feeds: list[str], db: Path) -> dict[str, int]:
    return ingest(feed_urls=feeds, warehouse=str(db))


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every row of the content tables, to compare a warehouse before and after a run."""
    with Warehouse(db, read_only=True) as wh:
        return {t: sorted(map(repr, wh.query(f"SELECT * FROM {t}")[1])) for t in CONTENT_TABLES}


@pytest.fixture
def ingested(prefect_server, allow_loopback, sample_site, tmp_path):  # type: ignore[no-untyped-def]
    site, sample = sample_site
    db = tmp_path / "news.duckdb"
    feeds = [sample.url(p) for p in sample.all_feed_paths]
    counts = run_ingest(feeds, db)
    return site, sample, db, feeds, counts


def test_ingest_lands_every_article_with_metadata(ingested) -> None:  # type: ignore[no-untyped-def]
    site, sample, db, feeds, counts = ingested
    assert counts["articles_new"] == sample.expected_article_count
    assert counts["feeds_failed"] == 1  # the broken feed
    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query(
            "SELECT canonical_url, title, text, source, cluster_id, article_id FROM articles"
        )
        assert len(rows) == sample.expected_article_count
        by_path = {r[0].removeprefix(site.base_url): r for r in rows}
        for fact in sample.articles:
            row = by_path[fact.path]
            assert row[1] == fact.headline
            assert fact.paragraphs[0] in row[2]
            assert row[3] == "page"
            if fact.path != sample.syndicated_story_paths[1]:
                assert row[4] == row[5]  # its own story: cluster_id = article_id
        # The syndicated copy joins the earlier copy's cluster; both rows are kept.
        first, second = (by_path[p] for p in sample.syndicated_story_paths)
        assert second[4] == first[5] and first[4] == first[5]
        _, dups = wh.query("SELECT article_id, duplicate_of, method FROM article_duplicates")
        assert [(d[0], d[1]) for d in dups] == [(second[5], first[5])]
        assert dups[0][2] in ("content_hash", "near_duplicate")
        _, details = wh.query(
            "SELECT a.canonical_url, d.authors, d.categories, d.tags"
            " FROM article_details d JOIN articles a USING (article_id)"
        )
        for url, authors, categories, tags in details:
            fact = sample.article(url.removeprefix(site.base_url))
            assert authors == list(fact.authors)
            assert categories == [fact.section]
            assert sorted(t.casefold() for t in tags) == sorted(t.casefold() for t in fact.tags)
        # The same page listed twice with different utm_* parameters is one article, two entries.
        _, linked = wh.query(
            "SELECT count(*), count(DISTINCT article_id) FROM feed_entries WHERE link LIKE ?",
            [f"%{sample.duplicate_listed_path}%"],
        )
        assert linked == [(2, 1)]
        _, broken = wh.query(
            "SELECT last_error, consecutive_failures FROM feeds WHERE url = ?",
            [sample.url(sample.broken_feed_path)],
        )
        assert broken[0][0] and broken[0][1] == 1
        _, runs = wh.query("SELECT status, articles_new, feeds_total FROM runs")
        assert runs == [("completed", sample.expected_article_count, len(feeds))]
        # Every HTTP attempt is a fetch row; pages and feeds are in the raw archive.
        _, fetches = wh.query(
            "SELECT kind, count(*), count(warc_file) FROM fetches GROUP BY kind ORDER BY kind"
        )
        assert dict((k, n) for k, n, _ in fetches) == {"feed": len(feeds), "page": 14}
        _, archived = wh.query(
            "SELECT a.url, f.warc_file, f.warc_offset"
            " FROM articles a JOIN fetches f USING (fetch_id)"
        )
    archive_root = db.parent / "archive"
    for url, warc_file, offset in archived:
        record_url, headers, body = read_record(archive_root, warc_file, offset)
        assert record_url == url
        assert headers["content-type"].startswith("text/html")
        path = url.removeprefix(site.base_url).split("?", 1)[0]
        assert body == sample.routes[path][1]


def test_second_run_changes_nothing_and_fetches_no_page(ingested) -> None:  # type: ignore[no-untyped-def]
    site, sample, db, feeds, _ = ingested
    before = snapshot(db)
    page_hits = {p: site.hits[p] for p in sample.article_paths}
    assert all(n == 1 for n in page_hits.values())
    counts = run_ingest(feeds, db)
    assert snapshot(db) == before
    assert counts["feeds_not_modified"] == len(sample.feed_paths)
    assert counts.get("articles_new", 0) == 0
    for path in sample.feed_paths:
        assert site.statuses(path)[-1] == 304
    assert {p: site.hits[p] for p in sample.article_paths} == page_hits


def test_a_run_of_unchanged_feeds_starts_no_extraction_workers(
    ingested, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _, _, db, feeds, _ = ingested
    started: list[bool] = []
    real_start = ExtractPool.start

    def observed_start(self: ExtractPool):  # type: ignore[no-untyped-def]
        started.append(True)
        return real_start(self)

    monkeypatch.setattr(ExtractPool, "start", observed_start)
    counts = run_ingest(feeds, db)
    assert counts["feeds_not_modified"] > 0 and counts.get("pages_fetched", 0) == 0
    assert started == []


def test_conditional_get_sends_stored_validators(ingested) -> None:  # type: ignore[no-untyped-def]
    site, sample, db, feeds, _ = ingested
    run_ingest(feeds, db)
    for path in sample.feed_paths:
        last = site.requests_for(path)[-1]
        headers = {k.lower(): v for k, v in last.headers.items()}
        assert "if-none-match" in headers and "if-modified-since" in headers
    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query(
            "SELECT count(*) FROM fetches WHERE kind = 'feed' AND status = 304 AND error IS NULL"
        )
    assert rows[0][0] == len(sample.feed_paths)


def test_failing_feed_beside_a_good_one(
    prefect_server,
    allow_loopback,
    sample_site,  # type: ignore[no-untyped-def]
    tmp_path,
) -> None:
    site, sample = sample_site
    good, bad = sample.feed_paths[0], sample.feed_paths[1]
    site.fail(bad, 500)
    missing = "/no-such-feed.xml"
    html_page = "/not-a-feed/"
    site.set(html_page, b"<html><body><h1>Hello</h1></body></html>", "text/html")
    db = tmp_path / "news.duckdb"
    counts = run_ingest([sample.url(p) for p in (good, bad, missing, html_page)], db)
    assert counts["feeds_failed"] == 3
    assert counts["articles_new"] == sample.feed_entry_counts[good]
    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query(
            "SELECT f.url, f.last_status, f.last_error, f.consecutive_failures FROM feeds f"
            " ORDER BY feed_id"
        )
        errors = {
            url.removeprefix(site.base_url): (status, error) for url, status, error, _ in rows
        }
        assert errors[good] == (200, None)
        assert errors[bad] == (500, "HTTP 500")
        assert errors[missing] == (404, "HTTP 404")
        assert "not a feed" in errors[html_page][1].lower()
        # Every failure is on its fetch row too: HTTP errors, and the HTML page that was
        # fetched fine and failed as a feed (its row says why, as its feed does).
        _, fetch_errors = wh.query(
            "SELECT status, error FROM fetches WHERE error IS NOT NULL ORDER BY status"
        )
        assert fetch_errors == [(200, errors[html_page][1]), (404, "HTTP 404"), (500, "HTTP 500")]


def test_page_failure_falls_back_to_feed_text(
    prefect_server,
    allow_loopback,
    sample_site,  # type: ignore[no-untyped-def]
    tmp_path,
) -> None:
    site, sample = sample_site
    feed = sample.feed_paths[0]
    victim = next(
        a
        for a in sample.articles
        if sample.url(a.path).startswith(sample.url(feed).rsplit("/feed", 1)[0])
    )
    site.fail(victim.path, 503)
    db = tmp_path / "news.duckdb"
    counts = run_ingest([sample.url(feed)], db)
    assert counts["fallbacks"] == 1 and counts["pages_failed"] == 1
    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query(
            "SELECT source, fallback_reason, title, text, provenance FROM articles WHERE url = ?",
            [sample.url(victim.path)],
        )
    source, reason, title, text, provenance = rows[0]
    assert source == "feed" and "503" in reason
    assert title == victim.headline
    assert victim.paragraphs[0][:40] in text
    assert json.loads(provenance)["text"] == "feed"


def test_updated_entry_is_fetched_again_as_a_new_version(ingested) -> None:  # type: ignore[no-untyped-def]
    site, sample, db, feeds, _ = ingested
    before_hits = {p: site.hits[p] for p in sample.article_paths}
    site.load(sample.updated_routes())
    counts = run_ingest(feeds, db)
    assert counts["articles_updated"] == 1
    assert counts.get("articles_new", 0) == 0
    updated = sample.updated_article_path
    after_hits = {p: site.hits[p] for p in sample.article_paths}
    assert after_hits[updated] == before_hits[updated] + 1
    assert {p: n for p, n in after_hits.items() if p != updated} == {
        p: n for p, n in before_hits.items() if p != updated
    }
    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query(
            "SELECT a.article_id, a.version, a.text, a.cluster_id FROM articles a"
            " WHERE a.canonical_url = ?",
            [sample.url(updated)],
        )
        article_id, version, text, cluster_id = rows[0]
        assert version == 2 and "Update:" in text and cluster_id == article_id
        _, versions = wh.query(
            "SELECT version, text LIKE '%Update:%' FROM article_versions"
            " WHERE article_id = ? ORDER BY version",
            [article_id],
        )
        assert versions == [(1, False), (2, True)]
    # And once more: nothing moves.
    again = run_ingest(feeds, db)
    assert again.get("articles_updated", 0) == 0
    assert site.hits[updated] == after_hits[updated]
