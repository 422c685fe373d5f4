"""Articles: storing a batch of page results (new articles, their names, clusters and
aliases; new versions of known ones; the entries' links to them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.records import Article, PageResult
from pipeline.store.aliases import alias_keys, lookup_keys
from pipeline.store.clusters import cluster_articles, refresh_band_index
from pipeline.store.connection import WarehouseConnection
from pipeline.store.edits import page_validators, refresh_validators, watch_new
from pipeline.store.entries import link_entries
from pipeline.store.names import load_names
from pipeline.store.retry import page_retryable
from pipeline.store.rows import article_row, version_row
from pipeline.store.runs import insert_fetches
from pipeline.store.schemas import ALIAS_SCHEMA, ARTICLE_SCHEMA, VERSION_SCHEMA
from pipeline.store.versions import store_versions
from pipeline.store.websub import stamp_arrivals


def record_page_results(
    db: WarehouseConnection, run_id: int, results: list[PageResult], now: datetime | None = None
) -> dict[str, int]:
    """Store a batch of pages in one transaction: fetch rows; new articles with their
    authors, categories, tags, signature and cluster; new versions of known articles; URL
    aliases; and the entries' links to their article. `now`: the time recorded (a clock)."""
    now = now or datetime.now(UTC)
    counts = {
        "pages_fetched": 0,
        "pages_failed": 0,
        "articles_new": 0,
        "articles_linked": 0,
        "articles_updated": 0,
        "fallbacks": 0,
        "duplicates": 0,
    }
    with db.transaction() as con:
        fetch_ids = insert_fetches(db, run_id, [r.fetch for r in results])
        for r in results:
            counts["pages_fetched" if r.fetch.ok else "pages_failed"] += 1
        fresh = [
            (r, fid)
            for r, fid in zip(results, fetch_ids, strict=True)
            if r.article and r.page.article_id is None
        ]
        # Pages arrive in any order; ids (and so "the earliest article of the story") follow
        # publication time within a batch, then the URL, so a rerun gives the same ids.
        fresh.sort(key=lambda pair: publication_order(pair[0]))
        # Keys this batch can resolve: the article's own key and every URL that led to it.
        # One lookup for those and for the aliases stored further down.
        # Pages of known articles fetched again (updates, retries) may bring new aliases:
        # a final or canonical URL the feed text, or the older version, did not know.
        refetched = [
            r
            for r in results
            if r.page.article_id is not None and r.article and r.article.source == "page"
        ]
        stored_aliases, known = lookup_keys(
            con,
            {k for r in [*(r for r, _ in fresh), *refetched] for k in alias_keys(r)},
            {r.article.url_key for r, _ in fresh if r.article},
        )
        new_rows: list[dict[str, Any]] = []
        new_articles: list[Article] = []
        validators: dict[int, tuple[str | None, str | None, str | None]] = {}
        # One sequence query for the batch; ids left unused by duplicates are just gaps.
        spare_ids = iter(db.allocate("article_id", len(fresh)))
        for r, fetch_id in fresh:
            art = r.article
            assert art is not None
            if art.url_key in known:
                counts["articles_linked"] += 1
                continue
            article_id = next(spare_ids)
            known[art.url_key] = article_id
            new_articles.append(art)
            new_rows.append(article_row(art, article_id, fetch_id, now, run_id))
            # What a revisit's conditional GET and body hash start from: only a page the
            # article was extracted from (the same bytes are never extracted again).
            if r.fetch.ok and art.source == "page":
                validators[article_id] = page_validators(r.fetch)
            counts["articles_new"] += 1
            if art.source == "feed":
                counts["fallbacks"] += 1
        if new_rows:
            counts["duplicates"] = cluster_articles(db, new_rows, new_articles, now)
            db.load("articles", new_rows, ARTICLE_SCHEMA)
            db.load(
                "article_versions",
                [version_row(row, 1) for row in new_rows],
                VERSION_SCHEMA,
            )
            load_names(db, new_rows, new_articles)
            watch_new(db, new_rows, validators)
        refreshed = [
            (r, fid)
            for r, fid in zip(results, fetch_ids, strict=True)
            if r.page.article_id is not None
        ]
        counts["articles_updated"] = store_versions(db, refreshed, now, run_id)
        refresh_validators(
            db,
            [
                (r.page.article_id, r.fetch)
                for r, _ in refreshed
                if r.fetch.ok and r.page.article_id and r.article and r.article.source == "page"
            ],
        )
        fallback_ids = {row["article_id"] for row in new_rows if row["source"] == "feed"}
        alias_rows: dict[str, int] = {}
        link_rows = []
        failed_rows = []
        for r in results:
            if r.page.article_id is not None:
                # Fetched again (an update, or a retry of a failed page): a failure leaves
                # the stored article as it is, never a second article.
                article_id = r.page.article_id
                retry = page_retryable(r.fetch)
                if r.article and r.article.source == "page":
                    for key in alias_keys(r):
                        alias_rows.setdefault(key, article_id)
            elif r.article is None:
                for feed_id, entry_key in r.page.entry_refs:
                    failed_rows.append(
                        {"feed_id": feed_id, "entry_key": entry_key, "error": r.error}
                    )
                continue
            else:
                article_id = known[r.article.url_key]
                for key in alias_keys(r):
                    alias_rows.setdefault(key, article_id)
                # Feed text stored for now: the page is tried again if it may yet answer.
                retry = article_id in fallback_ids and page_retryable(r.fetch)
            failed = not r.fetch.ok
            for feed_id, entry_key in r.page.entry_refs:
                link_rows.append(
                    {
                        "feed_id": feed_id,
                        "entry_key": entry_key,
                        "article_id": article_id,
                        "failed": failed,
                        "retry": retry,
                        "error": (r.error or r.fetch.error) if failed else None,
                    }
                )
        if alias_rows:
            # Looked up above, so a plain insert: ON CONFLICT costs far more on a big index.
            db.load(
                "article_urls",
                [
                    {"url_key": k, "article_id": v}
                    for k, v in alias_rows.items()
                    if k not in stored_aliases
                ],
                ALIAS_SCHEMA,
            )
        link_entries(db, link_rows, failed_rows)
        stamp_arrivals(db, [row["article_id"] for row in new_rows])
    refresh_band_index(db)
    return counts


def publication_order(result: PageResult) -> tuple[datetime, str]:
    art = result.article
    published = art.published_at if art and art.published_at else datetime.max.replace(tzinfo=UTC)
    return published, result.page.url
