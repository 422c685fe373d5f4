"""`news-ingest demo`: generate a sample news site, serve it on 127.0.0.1, ingest it, show it."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from flows.api import TemporaryServer, prefect_api
from flows.reports import format_rows, quiet_task_logs, summary_line
from pipeline.loopback import LoopbackSite
from pipeline.sample_site import build_sample_site
from pipeline.settings import DEFAULT_WAREHOUSE, Settings
from pipeline.store import Warehouse

DEMO_PORT = 8765  # fixed when free, so repeated demos reuse the same feed and article URLs
DEMO_QUERIES = (
    "articles_per_site_day",
    "top_tags_per_week",
    "authors_per_outlet",
    "cluster_sizes",
    "article_versions",
    "feed_health",
)


def example_queries() -> dict[str, str]:
    """The shipped example queries, by name (file stem)."""
    folder = resources.files("warehouse").joinpath("queries")
    return {
        Path(item.name).stem: item.read_text("utf-8")
        for item in sorted(folder.iterdir(), key=lambda i: i.name)
        if item.name.endswith(".sql")
    }


def _start_site() -> LoopbackSite:
    try:
        return LoopbackSite(port=DEMO_PORT).bind()
    except OSError:
        return LoopbackSite().bind()


def _allow_loopback() -> None:
    allowed = [h for h in os.environ.get("NEWS_INGEST_ALLOW_HOSTS", "").split(",") if h.strip()]
    if "127.0.0.1" not in allowed:
        os.environ["NEWS_INGEST_ALLOW_HOSTS"] = ",".join([*allowed, "127.0.0.1"])


def run_demo(settings: Settings, prefect_server: TemporaryServer | None = None) -> int:
    from flows.ingest import ingest

    quiet_task_logs()
    _allow_loopback()
    site = _start_site()
    sample = build_sample_site(site.base_url)
    site.load(sample.routes)
    site.start()
    feeds = [sample.url(p) for p in sample.all_feed_paths]
    print(
        f"Serving a generated news site of {len(sample.articles)} articles from 3 publishers"
        f" at {site.base_url} ({len(feeds)} feeds, one of them broken on purpose)."
    )
    print(f"Ingesting into {settings.warehouse} ...")
    try:
        with prefect_api(prefect_server):
            counts = ingest(feed_urls=feeds, warehouse=str(settings.warehouse))
            # The site moves on: one article is updated in place and its Atom feed says so.
            site.load(sample.updated_routes())
            print("\nOne article was updated on the site; running again ...")
            again = ingest(feed_urls=feeds, warehouse=str(settings.warehouse))
    finally:
        site.stop()
    print()
    print(summary_line(counts))
    print(summary_line(again))
    with Warehouse(settings.warehouse, read_only=True) as wh:
        print("\nWhat landed (table: counts):")
        names, rows = wh.query(
            "SELECT 'feeds' AS table_name, count(*) AS rows FROM feeds"
            " UNION ALL SELECT 'feed_entries', count(*) FROM feed_entries"
            " UNION ALL SELECT 'articles', count(*) FROM articles"
            " UNION ALL SELECT 'authors', count(*) FROM authors"
            " UNION ALL SELECT 'categories', count(*) FROM categories"
            " UNION ALL SELECT 'tags', count(*) FROM tags"
            " UNION ALL SELECT 'fetches', count(*) FROM fetches"
        )
        print(format_rows(names, rows, "table"))
        print("\nLatest articles (view: article_details):")
        names, rows = wh.query(
            "SELECT title, site_name, published_at, authors, categories, tags"
            " FROM article_details ORDER BY published_at DESC LIMIT 8"
        )
        print(format_rows(names, rows, "table"))
        queries = example_queries()
        for name in DEMO_QUERIES:
            sql = queries[name]
            print(f"\nExample query {name} (news-ingest query {name}):")
            names, rows = wh.query(sql)
            print(format_rows(names, rows, "table"))
    where = "" if settings.warehouse == DEFAULT_WAREHOUSE else f" --warehouse {settings.warehouse}"
    print(f'\nTry: news-ingest sql "SELECT title, url FROM articles LIMIT 5"{where}')
    return 0
