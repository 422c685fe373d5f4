"""What a warehouse is: its backend, versions, size, tables' row counts, and for a lake its
snapshot and file counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from pipeline.lake import WarehouseLocation, connect_lake
from pipeline.store.connection import FileBackend
from pipeline.warehouse_ops.maintenance import (
    file_counts,
    quote_identifier,
    quote_literal,
    snapshot_count,
)

INFO_ALIAS = "lake"


def table_row_counts(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    """Rows of every base table in the `main` schema of the attached database, by name."""
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'"
        " ORDER BY table_name",
        [database],
    ).fetchall()
    counts = {}
    for (name,) in tables:
        qualified = f"{quote_identifier(database)}.main.{quote_identifier(str(name))}"
        counts[str(name)] = int(con.execute(f"SELECT count(*) FROM {qualified}").fetchall()[0][0])
    return counts


def schema_version(counts: dict[str, int], con: duckdb.DuckDBPyConnection, database: str) -> int:
    """The highest migration the warehouse recorded (0 before any)."""
    if "schema_migrations" not in counts:
        return 0
    rows = con.execute(
        f"SELECT max(version) FROM {quote_identifier(database)}.main.schema_migrations"
    ).fetchall()
    return int(rows[0][0] or 0)


def folder_size(path: Path) -> int:
    """Bytes of every file under a folder (0 when it is absent)."""
    if not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _file_info(location: WarehouseLocation, wait: float) -> dict[str, Any]:
    path = Path(location.target)
    con = FileBackend(path).connect(read_only=True, wait=wait)
    try:
        database = str(con.execute("SELECT current_database()").fetchall()[0][0])
        counts = table_row_counts(con, database)
        version = schema_version(counts, con, database)
    finally:
        con.close()
    wal = Path(str(path) + ".wal")
    return {
        "backend": "file",
        "location": str(path),
        "duckdb_version": duckdb.__version__,
        "schema_version": version,
        "size_bytes": path.stat().st_size + (wal.stat().st_size if wal.exists() else 0),
        "tables": counts,
    }


def _lake_info(location: WarehouseLocation) -> dict[str, Any]:
    alias = INFO_ALIAS
    con = connect_lake(location, alias=alias, read_only=True)
    try:
        lit = quote_literal(alias)
        extension, data_path = con.execute(
            f"SELECT extension_version, data_path FROM ducklake_settings({lit})"
        ).fetchall()[0]
        format_rows = con.execute(
            f"SELECT value FROM ducklake_options({lit}) WHERE option_name = 'version'"
        ).fetchall()
        counts = table_row_counts(con, alias)
        version = schema_version(counts, con, alias)
        data_files, delete_files = file_counts(con, alias)
        snapshots = snapshot_count(con, alias)
    finally:
        con.close()
    data = str(data_path or location.data_path or "")
    remote = "://" in data
    catalog_bytes = None
    if location.catalog in ("sqlite", "duckdb") and Path(location.target).is_file():
        catalog_bytes = Path(location.target).stat().st_size
    return {
        "backend": f"ducklake on {location.catalog}",
        "location": location.describe(),
        "data_path": data,
        "duckdb_version": duckdb.__version__,
        "ducklake_extension": str(extension),
        "ducklake_format": str(format_rows[0][0]) if format_rows else None,
        "schema_version": version,
        "size_bytes": None if remote or not data else folder_size(Path(data)),
        "catalog_bytes": catalog_bytes,
        "snapshots": snapshots,
        "data_files": data_files,
        "delete_files": delete_files,
        "tables": counts,
    }


def warehouse_info(location: WarehouseLocation, *, wait: float = 0.0) -> dict[str, Any]:
    """The warehouse at `location`, read-only: backend, DuckDB (and DuckLake) versions, schema
    version, size on disk (the file, or the lake's local data folder; None for a remote one),
    each table's rows, and a lake's snapshot and file counts. `wait`: seconds to wait for a file
    another process holds."""
    if location.is_lake:
        return _lake_info(location)
    return _file_info(location, wait)
