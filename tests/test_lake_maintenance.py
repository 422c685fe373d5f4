"""The nightly `maintenance` flow on a lake: after a real ingest of the sample site, it compacts
the run's small files, expires old snapshots and says what it did; the rows stay as they were."""

from __future__ import annotations

from typing import Any

from flows.ingest import ingest, maintenance
from pipeline.store import Warehouse
from pipeline.warehouse_ops import warehouse_info

CONTENT_TABLES = ("feed_entries", "articles", "article_urls", "authors", "tags", "categories")


def rows(location: Any) -> dict[str, list[str]]:
    with Warehouse(location, read_only=True) as wh:
        return {t: sorted(map(repr, wh.query(f"SELECT * FROM {t}")[1])) for t in CONTENT_TABLES}


def test_maintenance_compacts_a_lake_and_keeps_its_rows(  # type: ignore[no-untyped-def]
    prefect_server, allow_loopback, sample_site, lake_location, monkeypatch, caplog, tmp_path
) -> None:
    site, sample = sample_site
    monkeypatch.setenv("NEWS_INGEST_LAKE_DATA", lake_location.data_path)
    # Expire every snapshot but the newest: the test's own lake is minutes old.
    monkeypatch.setenv("NEWS_INGEST_LAKE_EXPIRE_DAYS", "0")
    monkeypatch.setenv("NEWS_INGEST_ARCHIVE", str(tmp_path / "archive"))  # a PostgreSQL lake's
    url = lake_location.attach_uri
    feeds = [sample.url(p) for p in sample.all_feed_paths]
    counts = ingest(feed_urls=feeds, warehouse=url)
    assert counts["articles_new"] == sample.expected_article_count
    before_rows = rows(lake_location)
    before = warehouse_info(lake_location)

    caplog.set_level("INFO")
    result = maintenance(warehouse=url)

    assert result["feeds"] == len(feeds)
    after = warehouse_info(lake_location)
    assert rows(lake_location) == before_rows
    assert after["snapshots"] < before["snapshots"]
    # The run's small commits sat inlined in the catalog or in many small files: afterwards
    # every table holding rows is at most one Parquet file.
    assert after["data_files"] <= sum(1 for n in after["tables"].values() if n)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "maintenance: lake files:" in logged and "snapshots:" in logged
    # The nightly search index, built from the lake: every article is in it.
    assert f"search index: {sample.expected_article_count} articles" in logged

