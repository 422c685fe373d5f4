"""The numbered migrations in their lake form, applied to DuckLakes on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import time
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from pipeline import lake, lakeddl
from pipeline.errors import LakeMigrationError
from pipeline.lake import WarehouseLocation
from pipeline.lakeddl import lake_migration, lake_statement
from pipeline.store import Warehouse


def test_constraints_and_sequence_defaults_go_not_null_and_defaults_stay() -> None:
    got = lake_statement(
        "CREATE TABLE t (\n"
        "    id BIGINT PRIMARY KEY DEFAULT nextval('t_seq'),  -- the key, a (b, c)\n"
        "    url VARCHAR NOT NULL UNIQUE,\n"
        "    note VARCHAR DEFAULT 'it''s, (really)',\n"
        "    parent BIGINT REFERENCES t (id) ON DELETE SET NULL,\n"
        "    n INTEGER CONSTRAINT positive CHECK (n > 0) DEFAULT 1,\n"
        "    tags VARCHAR[],\n"
        "    at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,\n"
        "    UNIQUE (url, note),\n"
        "    FOREIGN KEY (parent) REFERENCES t (id)\n"
        ")"
    )
    assert got == (
        "CREATE TABLE t (\n"
        "    id BIGINT NOT NULL,\n"
        "    url VARCHAR NOT NULL,\n"
        "    note VARCHAR DEFAULT 'it''s, (really)',\n"
        "    parent BIGINT,\n"
        "    n INTEGER DEFAULT 1,\n"
        "    tags VARCHAR[],\n"
        "    at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp\n"
        ")"
    )


def test_a_table_key_makes_its_columns_not_null() -> None:
    got = lake_statement("CREATE TABLE t (a BIGINT, b VARCHAR NOT NULL, c INT, PRIMARY KEY (a, b))")
    assert got == "CREATE TABLE t (\n    a BIGINT NOT NULL,\n    b VARCHAR NOT NULL,\n    c INT\n)"


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE SEQUENCE s START 1",
        "CREATE INDEX i ON t(a)",
        "CREATE UNIQUE INDEX i ON t(a)",
        "DROP INDEX i",
        "ALTER TABLE t ADD PRIMARY KEY (a)",
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)",
    ],
)
def test_statements_without_a_lake_form_are_dropped(statement: str) -> None:
    assert lake_statement(statement) is None


def test_added_columns_lose_their_constraints() -> None:
    assert lake_statement("ALTER TABLE t ADD COLUMN k VARCHAR UNIQUE DEFAULT 'x'") == (
        "ALTER TABLE t ADD COLUMN k VARCHAR DEFAULT 'x'"
    )
    assert lake_statement("ALTER TABLE t ADD COLUMN n BIGINT DEFAULT nextval('s')") == (
        "ALTER TABLE t ADD COLUMN n BIGINT"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING",
        "INSERT OR REPLACE INTO t VALUES (1)",
        "INSERT INTO t VALUES (1) RETURNING a",
        "INSERT INTO t SELECT nextval('s')",
    ],
)
def test_statements_whose_meaning_would_change_are_refused(statement: str) -> None:
    with pytest.raises(LakeMigrationError):
        lake_statement(statement)


def test_create_table_as_select_is_left_as_it_is() -> None:
    statement = "CREATE TABLE t AS SELECT count(*) AS n, max(a) FROM u"
    assert lake_statement(statement) == statement


def test_other_statements_pass_unchanged_but_for_comments() -> None:
    script = (
        "-- a comment; with a semicolon\n"
        "INSERT INTO t SELECT a, '--not a comment;' FROM u; /* gone */\n"
        "ALTER TABLE v RENAME TO w;"
    )
    assert lake_migration(script) == [
        "INSERT INTO t SELECT a, '--not a comment;' FROM u",
        "ALTER TABLE v RENAME TO w",
    ]


def test_every_shipped_migration_has_a_lake_form() -> None:
    scripts = lakeddl.migration_scripts()
    # SQL and data migrations (006 is one) share one numbering, without gaps.
    numbers = [m.version for m in Warehouse.migrations()]
    assert numbers == list(range(1, len(numbers) + 1))
    assert {v for v, _, _ in scripts} <= set(numbers)
    for _, _, sql in scripts:
        for statement in lake_migration(sql):
            assert not any(
                word in statement.upper()
                for word in ("PRIMARY KEY", "UNIQUE", "NEXTVAL", "SEQUENCE", "INDEX")
            ), statement


def _table_shapes(
    con: duckdb.DuckDBPyConnection, database: str
) -> dict[str, list[tuple[object, ...]]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default"
        " FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main'"
        " AND table_name <> 'schema_migrations' AND table_name IN"
        " (SELECT table_name FROM duckdb_tables() WHERE database_name = ?)"
        " ORDER BY table_name, column_index",
        [database, database],
    ).fetchall()
    shapes: dict[str, list[tuple[object, ...]]] = {}
    for table, column, kind, nullable, default in rows:
        shapes.setdefault(table, []).append((column, kind, nullable, _default_value(default, kind)))
    return shapes


def _default_value(default: str | None, kind: str) -> object:
    """A column default as the value it gives: a lake writes `0` as `'0'` and TRUE as
    `CAST('t' AS BOOLEAN)`, the same values. No default, a sequence's (the lake allocates ids
    elsewhere) and a lake's NULL for none are all None; the clock is "now"."""
    if default is None or "nextval" in default or default == "NULL":
        return None
    if default.lower() in ("current_timestamp", "now()", "get_current_timestamp()"):
        return "now"
    return duckdb.execute(f"SELECT CAST(({default}) AS {kind})").fetchone()


def _file_warehouse_shapes(tmp_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """The tables the migrations make in a plain DuckDB file, applied the way the store does."""
    con = duckdb.connect(str(tmp_path / "file.duckdb"))
    for _, _, sql in lakeddl.migration_scripts():
        con.execute(sql)
    shapes = _table_shapes(con, "file")
    con.close()
    return shapes


def test_migrations_and_views_apply_to_a_lake_and_every_query_runs(
    lake_location: WarehouseLocation, tmp_path: Path
) -> None:
    began = time.perf_counter()
    wh = Warehouse(lake_location, migrate=False)
    applied = wh.migrate()
    took = time.perf_counter() - began
    print(f"{lake_location.catalog}: migrations + views applied in {took:.2f} s")
    assert applied == [m.version for m in Warehouse.migrations()]
    wh.close()
    con = lake.connect_lake(lake_location, read_only=True)
    # The same columns, types, NOT NULLs and literal defaults as in a DuckDB file warehouse.
    assert _table_shapes(con, "lake") == _file_warehouse_shapes(tmp_path)
    views = {
        row[0]
        for row in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = 'lake'"
        ).fetchall()
    }
    assert views >= {"articles_per_site_day", "feed_status", "story_clusters", "duplicate_matches"}
    con.close()

    # Applied once: a second open applies nothing, recreates the views, and every example
    # query runs on the empty lake through a reader.
    with Warehouse(lake_location, migrate=False) as again:
        assert again.migrate() == []
    reader = lake.connect_lake(lake_location, read_only=True)
    queries = sorted(resources.files("warehouse").joinpath("queries").iterdir(), key=str)
    assert len(queries) >= 9
    for query in queries:
        rows = reader.execute(query.read_text("utf-8")).fetchall()
        assert rows == [], query.name
    reader.close()


def test_a_failed_migration_leaves_the_lake_as_it_was(lake_location: WarehouseLocation) -> None:
    con = lake.connect_lake(lake_location)
    con.execute("CREATE TABLE feeds (x INTEGER)")  # migration 001 cannot create it again
    con.close()
    with pytest.raises(duckdb.Error):
        Warehouse(lake_location)
    con = lake.connect_lake(lake_location, read_only=True)
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'"
    ).fetchall()
    assert tables == [("feeds",)]
    con.close()


def test_two_processes_migrating_one_new_lake_apply_each_migration_once(
    lake_location: WarehouseLocation,
) -> None:
    context = multiprocessing.get_context("spawn")  # a fork after attaching breaks DuckDB
    with context.Pool(2) as pool:
        applied = pool.map(_migrate_in_a_process, [lake_location, lake_location])
    assert sorted(applied, key=len) == [[], [m.version for m in Warehouse.migrations()]]
    con = lake.connect_lake(lake_location, read_only=True)
    versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()]
    con.close()
    assert sorted(versions) == [m.version for m in Warehouse.migrations()]


def _migrate_in_a_process(location: WarehouseLocation) -> list[int]:
    with Warehouse(location, migrate=False) as wh:
        return wh.migrate()
