"""Maintenance of a DuckLake: flush inlined rows, compact small files, expire old snapshots and
delete the files nothing needs any more, reporting what it did.

Measured with DuckLake 1.0 (extension d8a1881e): `ducklake_merge_adjacent_files` keeps each
row's snapshot range in the merged file, so time travel to a snapshot before the merge still
reads the right rows; the replaced files are only scheduled for deletion. Deleting scheduled files
is still held back by `delete_grace`: a query that began before the merge may be scanning them.
Orphaned files (written by a writer that died before its commit) get the same grace, so a
writer's uncommitted files are never taken for orphans.

On a SQLite catalog the extension compares `older_than` with timestamps stored as text
('2026-12-03 13:36:06+00' against '2026-12-03T12:36:06...'), so everything of the cutoff's own
day counts as older: `ducklake_expire_snapshots(older_than => one hour ago)` expired every
snapshot of the day, and `ducklake_cleanup_old_files` deleted files scheduled a minute before.
So snapshots are expired by id, chosen from `ducklake_snapshots` (real timestamps), and on
SQLite the cleanup's cutoff moves back to the end of the day before (deleting less, never more).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from pipeline.lake import WarehouseLocation

# Files scheduled for deletion (or orphaned) less than this long ago are left for the next run.
DEFAULT_DELETE_GRACE = timedelta(hours=1)
# A maintenance step that loses a commit race with a writer is tried again this many times.
STEP_ATTEMPTS = 3
STEP_BACKOFF = 0.5  # seconds before the second attempt; doubled after each

T = TypeVar("T")


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lake_tables(con: duckdb.DuckDBPyConnection, alias: str) -> list[tuple[str, str]]:
    """(schema, table) of every base table in the attached lake `alias`."""
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?"
        " ORDER BY schema_name, table_name",
        [alias],
    ).fetchall()
    return [(str(s), str(t)) for s, t in rows]


def file_counts(con: duckdb.DuckDBPyConnection, alias: str) -> tuple[int, int]:
    """(data files, delete files) the lake's current snapshot uses, from its catalog."""
    rows = con.execute(
        f"SELECT coalesce(sum(file_count), 0), coalesce(sum(delete_file_count), 0)"
        f" FROM ducklake_table_info({quote_literal(alias)})"
    ).fetchall()
    return int(rows[0][0]), int(rows[0][1])


def snapshot_count(con: duckdb.DuckDBPyConnection, alias: str) -> int:
    rows = con.execute(
        f"SELECT count(*) FROM ducklake_snapshots({quote_literal(alias)})"
    ).fetchall()
    return int(rows[0][0])


def catalog_type(con: duckdb.DuckDBPyConnection, alias: str) -> str:
    """The lake's catalog database: duckdb, sqlite or postgres."""
    rows = con.execute(f"SELECT catalog_type FROM ducklake_settings({quote_literal(alias)})")
    return str(rows.fetchall()[0][0])


def snapshot_ids_before(con: duckdb.DuckDBPyConnection, alias: str, cutoff: datetime) -> list[int]:
    """Ids of the snapshots committed before `cutoff`, never the latest one."""
    rows = con.execute(
        f"SELECT snapshot_id FROM ducklake_snapshots({quote_literal(alias)})"
        " WHERE snapshot_time < ? AND snapshot_id < (SELECT max(snapshot_id)"
        f" FROM ducklake_snapshots({quote_literal(alias)})) ORDER BY snapshot_id",
        [cutoff],
    ).fetchall()
    return [int(r[0]) for r in rows]


def text_safe_cutoff(cutoff: datetime) -> datetime:
    """The latest moment not after `cutoff` that a text comparison on a SQLite catalog gets
    right: the last microsecond of the day before the cutoff's (UTC)."""
    day = cutoff.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(microseconds=1)


def parquet_files_on_disk(data_path: str | None) -> int | None:
    """Parquet files under a local data folder (None for a remote or unknown one): what the
    catalog's counts leave out, files scheduled for deletion and orphans."""
    if data_path is None or "://" in data_path or not Path(data_path).is_dir():
        return None
    return sum(1 for _ in Path(data_path).rglob("*.parquet"))


def _retry(step: Callable[[], T]) -> T:
    """Run a step again when it lost a commit race with a writer (TransactionException)."""
    wait = STEP_BACKOFF
    for attempt in range(1, STEP_ATTEMPTS + 1):
        try:
            return step()
        except duckdb.TransactionException:
            if attempt == STEP_ATTEMPTS:
                raise
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    return _retry(lambda: con.execute(sql, params or []).fetchall())


def maintain_lake(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    *,
    expire_older_than: timedelta,
    delete_grace: timedelta = DEFAULT_DELETE_GRACE,
    data_path: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Maintain the lake attached (read-write) on `con` as `alias`; each step commits by itself.

    Flushes inlined rows into Parquet, merges adjacent small files, expires the snapshots older
    than `expire_older_than` (never the latest), then deletes the files scheduled for deletion
    and the orphaned files, both older than `delete_grace`. `data_path` (a local folder) adds
    the count of Parquet files on disk. Returns the counts before and after and the seconds."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    lit = quote_literal(alias)
    files_before, deletes_before = file_counts(con, alias)
    snapshots_before = snapshot_count(con, alias)
    disk_before = parquet_files_on_disk(data_path)

    flushed = _rows(
        con, f"SELECT coalesce(sum(rows_flushed), 0) FROM ducklake_flush_inlined_data({lit})"
    )
    merged = _rows(
        con,
        "SELECT coalesce(sum(files_processed), 0), coalesce(sum(files_created), 0)"
        f" FROM ducklake_merge_adjacent_files({lit})",
    )
    expiring = snapshot_ids_before(con, alias, now - expire_older_than)
    expired = (
        _rows(
            con,
            f"SELECT count(*) FROM ducklake_expire_snapshots({lit}, versions => ?)",
            [expiring],
        )
        if expiring
        else [(0,)]
    )
    if delete_grace <= timedelta(0):
        deleted = _rows(
            con, f"SELECT count(*) FROM ducklake_cleanup_old_files({lit}, cleanup_all => true)"
        )
    else:
        cutoff = now - delete_grace
        if catalog_type(con, alias) == "sqlite":
            cutoff = text_safe_cutoff(cutoff)
        deleted = _rows(
            con,
            f"SELECT count(*) FROM ducklake_cleanup_old_files({lit}, older_than => ?)",
            [cutoff],
        )
    orphans = _rows(
        con,
        f"SELECT count(*) FROM ducklake_delete_orphaned_files({lit}, older_than => ?)",
        [now - delete_grace],
    )
    files_after, deletes_after = file_counts(con, alias)
    return {
        "rows_flushed": int(flushed[0][0]),
        "files_merged": int(merged[0][0]),
        "files_created": int(merged[0][1]),
        "data_files_before": files_before,
        "data_files_after": files_after,
        "delete_files_before": deletes_before,
        "delete_files_after": deletes_after,
        "snapshots_before": snapshots_before,
        "snapshots_expired": int(expired[0][0]),
        "snapshots_after": snapshot_count(con, alias),
        "files_deleted": int(deleted[0][0]),
        "orphans_deleted": int(orphans[0][0]),
        "files_on_disk_before": disk_before,
        "files_on_disk_after": parquet_files_on_disk(data_path),
        "seconds": round(time.monotonic() - started, 3),
    }


def maintain_location(
    location: WarehouseLocation,
    *,
    expire_older_than: timedelta,
    delete_grace: timedelta = DEFAULT_DELETE_GRACE,
) -> dict[str, Any]:
    """maintain_lake on a fresh connection to the lake at `location` (for the nightly flow)."""
    from pipeline.lake import connect_lake

    alias = "lake"
    con = connect_lake(location, alias=alias)
    try:
        return maintain_lake(
            con,
            alias,
            expire_older_than=expire_older_than,
            delete_grace=delete_grace,
            data_path=location.data_path,
        )
    finally:
        con.close()


def maintenance_report_lines(result: dict[str, Any]) -> list[str]:
    """The run report's lines for one maintain_lake result."""
    lines = [
        f"lake files: {result['data_files_before']} -> {result['data_files_after']} data files"
        f" ({result['files_merged']} merged into {result['files_created']}),"
        f" {result['delete_files_before']} -> {result['delete_files_after']} delete files",
        f"inlined rows flushed to Parquet: {result['rows_flushed']}",
        f"snapshots: {result['snapshots_expired']} expired, {result['snapshots_after']} kept",
        f"files deleted: {result['files_deleted']} no snapshot needs,"
        f" {result['orphans_deleted']} orphaned",
    ]
    if result.get("files_on_disk_before") is not None:
        lines.append(
            f"Parquet files on disk: {result['files_on_disk_before']}"
            f" -> {result['files_on_disk_after']}"
        )
    lines.append(f"lake maintenance took {result['seconds']:.2f} s")
    return lines
