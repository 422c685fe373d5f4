"""The store package's public API beyond the pipeline's own calls: numbered data migrations,
reading and writing SQL, id allocation, rolled-back trials, the step timing hook."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline import neardup
from pipeline.records import Article, Entry, Fetch, PageResult, PendingPage
from pipeline.store import Warehouse, WarehouseError, observe_steps

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LONG_TEXT = " ".join(f"word{i}" for i in range(200))  # long enough to sign


@pytest.fixture
def wh(warehouse_at: Any):  # type: ignore[no-untyped-def]
    """A new warehouse on each backend: a DuckDB file, lakes on SQLite and PostgreSQL."""
    with Warehouse(warehouse_at) as warehouse:
        yield warehouse


def add_unsigned_article(wh: Warehouse, article_id: int) -> None:
    wh.execute(
        "INSERT INTO articles (article_id, url, canonical_url, url_key, title, text,"
        " content_hash, cluster_id, fetched_at, source, extractor_version)"
        " VALUES (?, ?, ?, ?, 't', ?, ?, ?, ?, 'page', 'x')",
        [
            article_id,
            f"https://a.example/{article_id}",
            f"https://a.example/{article_id}",
            f"a.example/{article_id}",
            LONG_TEXT,
            f"hash-{article_id}",
            article_id,
            T0,
        ],
    )


def test_data_migration_is_numbered_and_recorded(warehouse_at: Any) -> None:
    versions = [(m.version, m.name) for m in Warehouse.migrations()]
    assert (6, "sign_unsigned_articles") in versions
    with Warehouse(warehouse_at) as wh:
        recorded = wh.sql("SELECT version, name FROM schema_migrations ORDER BY version")
        assert recorded == versions


def test_a_warehouse_from_before_the_number_records_the_data_migration_without_running_it(
    warehouse_at: Any,
) -> None:
    """It ran with migration 2 then; an article left unsigned since stays as it was."""
    assert neardup.signature(LONG_TEXT) is not None  # so running it would sign the article
    path = warehouse_at
    with Warehouse(path) as wh:
        add_unsigned_article(wh, 1)
        wh.execute("DELETE FROM schema_migrations WHERE version = 6")
    with Warehouse(path) as wh:
        assert wh.sql("SELECT version FROM schema_migrations WHERE version = 6") == [(6,)]
        assert wh.sql("SELECT count(*) FROM article_signatures") == [(0,)]
        assert wh.migrate() == []


def test_sql_reads_and_execute_writes(wh: Warehouse) -> None:
    wh.add_feeds(["https://a.example/feed"])
    assert wh.sql("SELECT url FROM feeds") == [("https://a.example/feed",)]
    assert wh.sql("WITH f AS (SELECT url FROM feeds) SELECT count(*) FROM f") == [(1,)]
    with pytest.raises(ValueError, match="reads"):
        wh.sql("UPDATE feeds SET active = false")
    with pytest.raises(ValueError, match="reads"):
        wh.sql("SELECT 1; SELECT 2")
    wh.execute("UPDATE feeds SET active = false")
    assert wh.sql("SELECT active FROM feeds") == [(False,)]


def test_ids_are_allocated_increasing_and_advanced_past_loaded_ones(wh: Warehouse) -> None:
    first = wh.allocate_ids("article_id", 3)
    assert first == sorted(first) and len(set(first)) == 3
    wh.advance_ids("article_id", 100)
    (after,) = wh.allocate_ids("article_id", 1)
    assert after > 100
    assert wh.allocate_ids("article_id", 0) == []
    with pytest.raises(ValueError, match="no ids named"):
        wh.allocate_ids("article_id_seq; DROP TABLE feeds", 1)


def test_rolled_back_undoes_every_write_inside(wh: Warehouse) -> None:
    with wh.rolled_back():
        assert wh.add_feeds(["https://a.example/feed"]) == 1  # its transaction joins this one
        assert wh.counts()["feeds"] == 1
    assert wh.counts()["feeds"] == 0
    assert wh.add_feeds(["https://a.example/feed"]) == 1


def test_observers_hear_the_clustering_and_page_steps(wh: Warehouse) -> None:
    (state,) = wh.feed_states(["https://a.example/feed"])
    run_id = wh.start_run()
    url = "https://a.example/1"
    page = PendingPage(url=url, link_key="a.example/1", entry=Entry(guid=url, link=url))
    art = Article(
        url=url, canonical_url=url, url_key="a.example/1", title="t", text=LONG_TEXT,
        content_hash="h1",
    )
    fetch = Fetch(url=url, kind="page", started_at=T0, final_url=url, status=200,
                  feed_id=state.feed_id)
    heard: list[tuple[str, int]] = []
    with observe_steps(lambda step, seconds, items: heard.append((step, items))):
        wh.record_page_results(run_id, [PageResult(page=page, fetch=fetch, article=art)])
    assert heard == [("cluster", 1), ("record_pages", 1)]
    wh.record_page_results(run_id, [])
    assert heard == [("cluster", 1), ("record_pages", 1)]  # no observer any more


def test_a_file_from_a_newer_duckdb_is_one_line_naming_the_way_out(tmp_path: Path) -> None:
    # File-only: the format of a DuckDB file; a lake keeps Parquet.
    """DuckDB 1.5.5 (the release whose extensions ship as wheels) cannot read a 2.0 file: the
    warehouse says so in one line with the conversion to run, not DuckDB's storage-page text."""
    import gzip

    fixture = Path(__file__).parent / "fixtures" / "written-by-duckdb-2.0.0.duckdb.gz"
    path = tmp_path / "old.duckdb"
    path.write_bytes(gzip.decompress(fixture.read_bytes()))
    with pytest.raises(WarehouseError) as caught:
        Warehouse(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "newer DuckDB" in message and "STORAGE_VERSION" in message


def test_checkpoint_keeps_every_row(wh: Warehouse) -> None:
    """A file folds its write-ahead log in; a lake moves the rows kept inline in its catalog
    into Parquet files. Either way the rows read the same afterwards."""
    wh.add_feeds([f"https://a.example/feed{i}" for i in range(3)])
    before = wh.sql("SELECT feed_id, url FROM feeds ORDER BY feed_id")
    wh.checkpoint()
    assert wh.sql("SELECT feed_id, url FROM feeds ORDER BY feed_id") == before
    assert wh.add_feeds(["https://a.example/feed3"]) == 1
