"""`news-ingest export` and `import`: partitioned exports that read back with the same rows and
types, and the whole warehouse round trip, into a file and into a lake."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest

from flows.cli import main
from flows.ingest import ingest
from pipeline.errors import WarehouseError
from pipeline.loopback import LoopbackSite
from pipeline.sample_site import build_sample_site
from pipeline.store import Warehouse
from pipeline.warehouse_ops.export import export_all, export_tables, import_export

CONTENT = ("articles", "feed_entries", "article_authors", "authors", "fetches", "feeds")


@pytest.fixture(scope="module")
def source(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A warehouse the sample site was ingested into, once for the module."""
    db = tmp_path_factory.mktemp("export") / "news.duckdb"
    patch = pytest.MonkeyPatch()
    patch.setenv("NEWS_INGEST_ALLOW_HOSTS", "127.0.0.1")
    try:
        with LoopbackSite() as site:
            sample = build_sample_site(site.base_url)
            site.load(sample.routes)
            ingest(feed_urls=[sample.url(p) for p in sample.feed_paths], warehouse=str(db))
        yield db
    finally:
        patch.undo()


def rows_of(db: Path | Any, table: str) -> list[tuple[Any, ...]]:
    with Warehouse(db, read_only=True) as wh:
        return sorted(wh.sql(f"SELECT * FROM {table}"), key=repr)


def test_parquet_export_reads_back_with_the_same_rows_and_types(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    manifest = export_tables(source, out, "parquet")
    assert json.loads((out / "manifest.json").read_text())["tables"] == manifest["tables"]
    with Warehouse(source, read_only=True) as wh:
        n_articles = wh.sql("SELECT count(*) FROM articles")[0][0]
        types = dict(
            wh.sql(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = 'articles' AND table_catalog = current_database()"
            )
        )
    entry = manifest["tables"]["articles"]
    assert entry["rows"] == n_articles > 0 and entry["day_column"] is not None
    assert sum(entry["rows_per_day"].values()) == n_articles
    # Hive-style day folders.
    days = sorted(p.name for p in (out / "articles").iterdir())
    assert days == [f"day={d}" for d in sorted(entry["rows_per_day"])]
    # pyarrow reads it back: the same rows, the partition column as a column.
    table = ds.dataset(out / "articles", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == n_articles
    # Plain DuckDB reads it back with the same types and the same rows.
    con = duckdb.connect()
    glob = str(out / "articles" / "**" / "*.parquet")
    read = con.execute(
        f"DESCRIBE SELECT * EXCLUDE (day) FROM read_parquet('{glob}', hive_partitioning = true)"
    ).fetchall()
    assert {name: kind for name, kind, *_ in read} == types
    back = con.execute(
        f"SELECT * EXCLUDE (day) FROM read_parquet('{glob}', hive_partitioning = true)"
    ).fetchall()
    assert sorted(back, key=repr) == rows_of(source, "articles")
    # A table with no day of its own is written whole.
    assert manifest["tables"]["authors"]["rows_per_day"].keys() == {"all"}


def test_csv_and_jsonl_exports_and_a_window(source: Path, tmp_path: Path) -> None:
    with Warehouse(source, read_only=True) as wh:
        days = [
            d
            for (d,) in wh.sql(
                "SELECT DISTINCT strftime(coalesce(published_at, fetched_at), '%Y-%m-%d')"
                " FROM articles ORDER BY 1"
            )
        ]
    since = datetime.fromisoformat(days[-1]).replace(tzinfo=UTC)
    for fmt, reader in (("csv", "read_csv"), ("jsonl", "read_json")):
        out = tmp_path / fmt
        manifest = export_tables(source, out, fmt, since=since, tables=["articles", "article_tags"])
        assert set(manifest["tables"]) == {"articles", "article_tags"}
        assert list(manifest["tables"]["articles"]["rows_per_day"]) == [days[-1]]
        glob = str(out / "articles" / "**" / "*")
        (n,) = duckdb.connect().execute(f"SELECT count(*) FROM {reader}('{glob}')").fetchone()
        assert n == manifest["tables"]["articles"]["rows"] > 0
        # Link tables follow their articles' window.
        tags = manifest["tables"]["article_tags"]["rows"]
        with Warehouse(source, read_only=True) as wh:
            (expected,) = wh.sql(
                "SELECT count(*) FROM article_tags WHERE article_id IN (SELECT article_id FROM"
                " articles WHERE coalesce(published_at, fetched_at) >= ?)",
                [since],
            )[0]
        assert tags == expected


def test_unknown_table_is_a_one_line_error(source: Path, tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="no table 'nope'"):
        export_tables(source, tmp_path / "x", tables=["nope"])


def test_whole_warehouse_round_trip_into_a_file(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "all"
    counts = export_all(source, out)
    assert (out / "schema.sql").is_file() and (out / "load.sql").is_file()
    moved = tmp_path / "moved"
    shutil.move(str(out), moved)  # load.sql's absolute paths no longer point here
    target = tmp_path / "copy.duckdb"
    loaded = import_export(moved, target)
    assert loaded == {t: n for t, n in counts.items()}
    for table in CONTENT:
        assert rows_of(target, table) == rows_of(source, table), table
    # New ids continue past the imported ones.
    with Warehouse(target) as wh:
        (top,) = wh.sql("SELECT max(article_id) FROM articles")[0]
        assert wh.allocate_ids("article_id", 1)[0] > top
    # Importing again into the now full warehouse is refused.
    with pytest.raises(WarehouseError, match="not empty"):
        import_export(moved, target)


def test_whole_warehouse_round_trip_into_a_lake(
    source: Path, tmp_path: Path, lake_location: Any
) -> None:
    out = tmp_path / "all"
    counts = export_all(source, out)
    loaded = import_export(out, lake_location)
    assert loaded == counts
    for table in CONTENT:
        assert rows_of(lake_location, table) == rows_of(source, table), table
    # And back out of the lake, table by table, into a new file: the same rows again.
    again = tmp_path / "again"
    assert export_all(lake_location, again) == counts
    target = tmp_path / "back.duckdb"
    import_export(again, target)
    for table in CONTENT:
        assert rows_of(target, table) == rows_of(source, table), table


def test_cli_export_and_import(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    assert (
        main(
            [
                "export",
                str(out),
                "--format",
                "parquet",
                "--tables",
                "articles",
                "--warehouse",
                str(source),
            ]
        )
        == 0
    )
    said = capsys.readouterr().out
    assert "articles" in said and (out / "manifest.json").is_file()
    whole = tmp_path / "whole"
    assert main(["export", str(whole), "--all", "--warehouse", str(source)]) == 0
    target = tmp_path / "imported.duckdb"
    assert main(["import", str(whole), "--warehouse", str(target)]) == 0
    assert rows_of(target, "articles") == rows_of(source, "articles")
    assert main(["import", str(tmp_path / "nowhere"), "--warehouse", str(target)]) == 2
    assert "no whole-warehouse export" in capsys.readouterr().err


def test_nightly_maintenance_exports_when_a_folder_is_set(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest import maintenance

    db = tmp_path / "nightly.duckdb"
    shutil.copy(source, db)
    folder = tmp_path / "nightly"
    monkeypatch.setenv("NEWS_INGEST_NIGHTLY_EXPORT_DIR", str(folder))
    monkeypatch.setenv("NEWS_INGEST_NIGHTLY_EXPORT_FORMAT", "jsonl")
    maintenance(warehouse=str(db))
    # The nightly search index is rebuilt beside the file too.
    assert (tmp_path / "nightly.duckdb.search").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "jsonl"
    assert manifest["tables"]["articles"]["rows"] == len(rows_of(db, "articles"))
    # Again the next night: the same files replaced, not doubled.
    maintenance(warehouse=str(db))
    glob = str(folder / "articles" / "**" / "*.jsonl")
    (n,) = duckdb.connect().execute(f"SELECT count(*) FROM read_json('{glob}')").fetchone()
    assert n == len(rows_of(db, "articles"))
