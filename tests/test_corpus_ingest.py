"""Every real page of ../shared/corpus/pages, listed in a loopback feed, lands in the warehouse."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from html import escape
from urllib.parse import urlsplit

from flows.ingest import ingest
from pipeline.corpus import CorpusPage
from pipeline.loopback import LoopbackSite
from pipeline.store import Warehouse
from tests.conftest import corpus_pages


def corpus_feed(base_url: str, records: list[CorpusPage]) -> bytes:
    items = []
    for i, rec in enumerate(records):
        link = base_url + local_path(rec, i)
        published = datetime.fromisoformat(rec.publishing_date or "")
        items.append(
            f"<item><title>{escape(rec.title)}</title><link>{escape(link)}</link>"
            f"<guid>{escape(link)}</guid><pubDate>{format_datetime(published)}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>corpus</title><link>{base_url}/</link>{''.join(items)}</channel></rss>"
    ).encode()


def local_path(rec: CorpusPage, i: int) -> str:
    parts = urlsplit(rec.url)
    return f"/{i:03d}-{rec.publisher}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def test_every_corpus_page_lands(prefect_server, allow_loopback, tmp_path) -> None:  # type: ignore[no-untyped-def]
    records = corpus_pages("pages")
    with LoopbackSite() as site:
        for i, rec in enumerate(records):
            site.set(local_path(rec, i), rec.html, "text/html; charset=utf-8")
        site.set("/corpus.xml", corpus_feed(site.base_url, records), "application/rss+xml")
        db = tmp_path / "news.duckdb"
        counts = ingest(feed_urls=[site.url("/corpus.xml")], warehouse=str(db))
    assert counts["articles_new"] == len(records)
    assert counts["pages_failed"] == 0
    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query(
            "SELECT source, count(*), count(*) FILTER (WHERE length(text) > 200),"
            " count(published_at), count(title) FROM articles GROUP BY source"
        )
        _, linked = wh.query("SELECT count(*) FROM feed_entries WHERE article_id IS NULL")
        _, reasons = wh.query("SELECT DISTINCT fallback_reason FROM articles WHERE source = 'feed'")
    by_source = {r[0]: r[1:] for r in rows}
    # Pages are extracted from the page itself; the only fallback allowed is a page whose text
    # exists only in JavaScript (one such page in the corpus), recorded with its reason.
    total, with_text, with_date, with_title = by_source["page"]
    assert by_source.get("feed", (0,))[0] <= 1
    assert reasons in ([], [("no-body-text",)])
    assert total + by_source.get("feed", (0,))[0] == len(records)
    assert with_title == total
    assert with_text >= total - 2
    assert with_date >= total - 2
    assert linked == [(0,)]
