"""Copying a warehouse between backends: a DuckDB file into an empty lake, or a lake into a new
file, in one DuckDB process with both attached.

The destination's tables come from the migrations (its own form: keys and sequences in a file,
none in a lake), never from `CREATE TABLE AS`, which drops NOT NULL and defaults; the rows are
then copied table by table by column name, `schema_migrations` included (the destination records
what the source had), in one transaction, so the destination holds all of it or none. A lake
source is read at one snapshot. The ids are advanced past the copied ones, and every table's
rows are counted on both sides at the end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from pipeline import duckext, lakeddl
from pipeline.errors import WarehouseError
from pipeline.lake import WarehouseLocation, attach_lake
from pipeline.store import Warehouse, close_pooled_sessions
from pipeline.store.connection import ID_NAMES, FileBackend
from pipeline.store.migrate import migrations
from pipeline.warehouse_ops.info import table_row_counts
from pipeline.warehouse_ops.maintenance import quote_identifier, quote_literal
from pipeline.warehouse_ops.snapshots import current_snapshot

SOURCE = "copy_source"
TARGET = "copy_target"
MIGRATIONS_TABLE = "schema_migrations"

# Where each id the store allocates lives: (table, column).
ID_COLUMNS = {
    "feed_id": ("feeds", "feed_id"),
    "fetch_id": ("fetches", "fetch_id"),
    "article_id": ("articles", "article_id"),
    "author_id": ("authors", "author_id"),
    "category_id": ("categories", "category_id"),
    "tag_id": ("tags", "tag_id"),
    "run_id": ("runs", "run_id"),
    "band_batch": ("article_bands", "batch"),
}
if set(ID_COLUMNS) != ID_NAMES:  # a new id the store allocates must say where it lives
    raise RuntimeError(f"ID_COLUMNS and the store's ID_NAMES differ: {set(ID_COLUMNS) ^ ID_NAMES}")

Progress = Callable[[str, int], None]
# Backend.advance_ids: make ids of `name` allocated from now on greater than `past`.
AdvanceIds = Callable[[duckdb.DuckDBPyConnection, str, int], None]


def _same(src: WarehouseLocation, dst: WarehouseLocation) -> bool:
    return (src.catalog, src.target) == (dst.catalog, dst.target)


def _refuse_non_empty(counts: dict[str, int], dst: WarehouseLocation) -> None:
    full = sorted(t for t, n in counts.items() if n and t != MIGRATIONS_TABLE)
    if full:
        where = dst.describe() if dst.is_lake else dst.target
        raise WarehouseError(
            f"{where} is not empty ({', '.join(full[:3])}{', ...' if len(full) > 3 else ''}"
            " hold rows): copy into a new file or an empty lake"
        )


def _open_target(dst: WarehouseLocation, wait: float) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A connection to the destination, empty and migrated, and its database name there."""
    if dst.is_lake:
        # The store creates and migrates the lake (under its commit lock), then lets its
        # pooled session go so this connection attaches the lake alone.
        with Warehouse(dst, wait=wait) as wh:
            _refuse_non_empty(wh.counts(), dst)
        close_pooled_sessions()
        con = duckext.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
            attach_lake(con, dst, alias=TARGET)
        except BaseException:
            con.close()
            raise
        return con, TARGET
    path = Path(dst.target)
    backend = FileBackend(path)
    if path.exists():
        probe = backend.connect(read_only=True, wait=wait)
        try:
            _refuse_non_empty(table_row_counts(con=probe, database=_current(probe)), dst)
        finally:
            probe.close()
    Warehouse(path, wait=wait).close()  # creates and migrates it
    con = backend.connect(read_only=False, wait=wait)
    return con, _current(con)


def _current(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT current_database()").fetchall()[0][0])


def _attach_source(con: duckdb.DuckDBPyConnection, src: WarehouseLocation) -> None:
    """Attach the source read-only as SOURCE; a lake pinned at its current snapshot."""
    if src.is_lake:
        attach_lake(con, src, alias=SOURCE, read_only=True, use=False)
        version = current_snapshot(con, SOURCE)
        con.execute(f"DETACH {SOURCE}")
        attach_lake(con, src, alias=SOURCE, snapshot_version=version, use=False)
        return
    path = Path(src.target)
    if not path.is_file():
        raise WarehouseError(f"no warehouse at {path}")
    try:
        con.execute(f"ATTACH {quote_literal(str(path))} AS {SOURCE} (READ_ONLY)")
    except duckdb.Error as exc:
        newer = duckext.newer_format_error(path, exc)
        if newer is not None:
            raise WarehouseError(str(newer)) from None
        raise WarehouseError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None


def _check_schema(con: duckdb.DuckDBPyConnection, source: dict[str, int], target: set[str]) -> None:
    """The source is at the schema this code writes: same tables, every SQL migration."""
    if MIGRATIONS_TABLE not in source:
        raise WarehouseError(
            "the source has no schema_migrations table: not a news-ingest warehouse"
        )
    done = {
        int(v)
        for (v,) in con.execute(f"SELECT version FROM {SOURCE}.main.{MIGRATIONS_TABLE}").fetchall()
    }
    known = {m.version for m in migrations()}
    if done - known:
        raise WarehouseError(
            f"the source has migrations {sorted(done - known)} this news-ingest does not know:"
            " copy it with the newer news-ingest that wrote it"
        )
    behind = {version for version, _, _ in lakeddl.migration_scripts()} - done
    if behind:
        raise WarehouseError(
            f"the source lacks migrations {sorted(behind)}: open it once with this news-ingest"
            " (any writing command migrates it), then copy"
        )
    if set(source) != target:
        odd = sorted(set(source) ^ target)
        raise WarehouseError(f"source and destination tables differ: {', '.join(odd)}")


def _id_high_marks(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    marks = {}
    for name, (table, column) in sorted(ID_COLUMNS.items()):
        rows = con.execute(
            f"SELECT max({quote_identifier(column)})"
            f" FROM {quote_identifier(database)}.main.{quote_identifier(table)}"
        ).fetchall()
        marks[name] = int(rows[0][0] or 0)
    return marks


def copy_warehouse(
    src: WarehouseLocation,
    dst: WarehouseLocation,
    progress: Progress | None = None,
    *,
    advance_ids: AdvanceIds | None = None,
    wait: float = 0.0,
) -> dict[str, int]:
    """Copy every table of the warehouse at `src` into the new or empty one at `dst`; returns
    the rows copied by table. `progress(table, rows)` is called after each table.

    A file destination's sequences are advanced past the copied ids; for a lake destination
    pass its backend's `advance_ids` (the lake's ids come from outside DuckDB), which is called
    after the commit with the same connection. Raises WarehouseError (one line) for a non-empty
    destination, a source at another schema, or any table whose counts differ afterwards."""
    if _same(src, dst):
        raise WarehouseError("the source and the destination are the same warehouse")
    if src.is_lake and dst.is_lake and src.data_path == dst.data_path:
        raise WarehouseError(
            f"both lakes would keep their files in {src.data_path}: give the new lake a data"
            " path of its own (--data, NEWS_INGEST_LAKE_DATA)"
        )
    con, target = _open_target(dst, wait)
    try:
        _attach_source(con, src)
        source_counts = table_row_counts(con, SOURCE)
        _check_schema(con, source_counts, set(table_row_counts(con, target)))
        copied = _copy_rows(con, target, sorted(source_counts), progress)
        marks = _id_high_marks(con, target)
        if advance_ids is None and not dst.is_lake:
            advance_ids = FileBackend(Path(dst.target)).advance_ids
        if advance_ids is not None:
            for name, past in marks.items():
                advance_ids(con, name, past)
        _verify(source_counts, table_row_counts(con, target), copied)
    finally:
        con.close()
    if dst.is_lake and advance_ids is None:
        # A lake's ids come from sequences beside its catalog: past every copied id.
        with Warehouse(dst, wait=wait) as wh:
            for name, past in marks.items():
                wh.advance_ids(name, past)
        close_pooled_sessions()
    return copied


def _copy_rows(
    con: duckdb.DuckDBPyConnection, target: str, tables: list[str], progress: Progress | None
) -> dict[str, int]:
    copied: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        # The destination's migrations recorded themselves: it records the source's instead.
        con.execute(f"DELETE FROM {quote_identifier(target)}.main.{MIGRATIONS_TABLE}")
        for table in tables:
            name = quote_identifier(table)
            try:
                rows = con.execute(
                    f"INSERT INTO {quote_identifier(target)}.main.{name} BY NAME"
                    f" SELECT * FROM {SOURCE}.main.{name}"
                ).fetchall()
            except duckdb.Error as exc:
                raise WarehouseError(
                    f"copying {table} failed: {str(exc).splitlines()[0]}"
                ) from None
            copied[table] = int(rows[0][0]) if rows else 0
            if progress is not None:
                progress(table, copied[table])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return copied


def _verify(source: dict[str, int], target: dict[str, int], copied: dict[str, int]) -> None:
    wrong = [
        f"{t} ({source[t]} in the source, {target.get(t, 0)} copied)"
        for t in sorted(source)
        if target.get(t) != source[t] or copied.get(t) != source[t]
    ]
    if wrong:
        raise WarehouseError(f"row counts differ after the copy: {'; '.join(wrong)}")
