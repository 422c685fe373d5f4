"""Warehouse URLs, and attaching a DuckLake on SQLite and PostgreSQL catalogs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline import lake
from pipeline.errors import LakeConfigError
from pipeline.lake import WarehouseLocation, parse_warehouse_url


def test_a_plain_path_is_a_duckdb_file_warehouse(tmp_path: Path) -> None:
    location = parse_warehouse_url(tmp_path / "w.duckdb", env={})
    assert location == WarehouseLocation("file", str(tmp_path / "w.duckdb"))
    assert not location.is_lake


def test_postgres_url_keeps_the_connection_string_and_masks_the_password() -> None:
    conninfo = "dbname=news host=127.0.0.1 port=5432 user=news password=secret"
    location = parse_warehouse_url(
        f"ducklake:postgres:{conninfo}", env={"NEWS_INGEST_LAKE_DATA": "s3://bucket/lake/"}
    )
    assert location.catalog == "postgres"
    assert location.target == conninfo
    assert location.data_path == "s3://bucket/lake/"
    assert location.attach_uri == f"ducklake:postgres:{conninfo}"
    assert "secret" not in location.describe()
    assert location.describe().endswith("user=news password=***")


def test_postgres_url_without_data_path_has_none() -> None:
    assert parse_warehouse_url("ducklake:postgres:dbname=news", env={}).data_path is None


def test_sqlite_and_duckdb_catalogs_default_their_data_beside_them(tmp_path: Path) -> None:
    sqlite = parse_warehouse_url(f"ducklake:sqlite:{tmp_path}/c.sqlite", env={})
    assert (sqlite.catalog, sqlite.target) == ("sqlite", f"{tmp_path}/c.sqlite")
    assert sqlite.data_path == f"{tmp_path}/c.sqlite.files"
    assert sqlite.attach_uri == f"ducklake:sqlite:{tmp_path}/c.sqlite"
    own = parse_warehouse_url(f"ducklake:{tmp_path}/c.ducklake", env={})
    assert (own.catalog, own.attach_uri) == ("duckdb", f"ducklake:{tmp_path}/c.ducklake")


def test_data_path_from_the_environment_and_argument(tmp_path: Path) -> None:
    env = {"NEWS_INGEST_LAKE_DATA": str(tmp_path / "env")}
    url = f"ducklake:sqlite:{tmp_path}/c.sqlite"
    assert parse_warehouse_url(url, env=env).data_path == str(tmp_path / "env")
    assert parse_warehouse_url(url, str(tmp_path / "arg"), env=env).data_path == str(
        tmp_path / "arg"
    )


@pytest.mark.parametrize("url", ["", "ducklake:", "ducklake:sqlite:", "ducklake:postgres:"])
def test_empty_urls_are_refused(url: str) -> None:
    with pytest.raises(LakeConfigError):
        parse_warehouse_url(url, env={})


def test_an_unwritable_data_path_fails_before_anything_is_attached(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    location = parse_warehouse_url(
        f"ducklake:sqlite:{tmp_path}/c.sqlite", str(blocker / "data"), env={}
    )
    con = duckdb.connect()
    with pytest.raises(LakeConfigError, match="is not writable") as caught:
        lake.attach_lake(con, location)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "c.sqlite").exists()  # the catalog was never created
    assert con.execute(
        "SELECT count(*) FROM duckdb_databases() WHERE database_name = 'lake'"
    ).fetchone() == (0,)


def test_a_plain_warehouse_cannot_be_attached_as_a_lake(tmp_path: Path) -> None:
    with pytest.raises(LakeConfigError, match="not a lake"):
        lake.connect_lake(parse_warehouse_url(tmp_path / "w.duckdb", env={}))


def test_a_postgres_lake_needs_a_data_path_to_be_written() -> None:
    location = parse_warehouse_url("ducklake:postgres:dbname=news", env={})
    with pytest.raises(LakeConfigError, match="set NEWS_INGEST_LAKE_DATA"):
        lake.connect_lake(location)


def test_write_then_read_and_time_travel(lake_location: WarehouseLocation) -> None:
    writer = lake.connect_lake(lake_location)
    writer.execute("CREATE TABLE items (id BIGINT NOT NULL, name VARCHAR)")
    writer.execute("INSERT INTO items VALUES (1, 'one')")
    first = writer.execute(
        "SELECT snapshot_id, snapshot_time FROM ducklake_snapshots('lake')"
        " ORDER BY snapshot_id DESC LIMIT 1"
    ).fetchone()
    writer.execute("INSERT INTO items VALUES (2, 'two')")
    assert first is not None

    reader = lake.connect_lake(lake_location, read_only=True)
    assert reader.execute("SELECT count(*) FROM items").fetchone() == (2,)
    with pytest.raises(duckdb.Error, match="read-only|read only"):
        reader.execute("INSERT INTO items VALUES (3, 'three')")

    past = lake.connect_lake(lake_location, snapshot_version=first[0])
    assert past.execute("SELECT id FROM items").fetchall() == [(1,)]
    then = lake.connect_lake(lake_location, snapshot_time=first[1])
    assert then.execute("SELECT id FROM items").fetchall() == [(1,)]
    for con in (writer, reader, past, then):
        con.close()


def test_another_data_path_for_an_existing_lake_is_one_line(
    lake_location: WarehouseLocation, tmp_path: Path
) -> None:
    lake.connect_lake(lake_location).close()
    moved = WarehouseLocation(
        lake_location.catalog, lake_location.target, str(tmp_path / "elsewhere")
    )
    with pytest.raises(LakeConfigError, match="keeps its files elsewhere") as caught:
        lake.connect_lake(moved)
    assert "\n" not in str(caught.value)
    # Attached without a data path, a reader finds the one the catalog keeps.
    reader = lake.connect_lake(
        WarehouseLocation(lake_location.catalog, lake_location.target, None), read_only=True
    )
    assert reader.execute("SELECT count(*) FROM duckdb_tables()").fetchone() is not None
    reader.close()


def test_small_batches_are_inlined_in_the_catalog(lake_location: WarehouseLocation) -> None:
    con = lake.connect_lake(lake_location, inlining_row_limit=100)
    con.execute("CREATE TABLE items (id BIGINT NOT NULL)")
    con.execute("INSERT INTO items SELECT range FROM range(50)")
    files = con.execute("SELECT count(*) FROM ducklake_list_files('lake', 'items')").fetchone()
    assert files == (0,)
    con.execute("INSERT INTO items SELECT range FROM range(500)")
    files = con.execute("SELECT count(*) FROM ducklake_list_files('lake', 'items')").fetchone()
    assert files == (1,)
    assert con.execute("SELECT count(*) FROM items").fetchone() == (550,)
    con.close()
