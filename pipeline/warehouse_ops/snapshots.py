"""A lake's snapshots, and readers that see the lake as it was at one of them (time travel).

A reader pinned at a snapshot attaches the whole lake at it (ATTACH ... SNAPSHOT_VERSION), rather
than writing `AT (VERSION => n)` after each table: every table and every view (whose definition
is in the catalog too) then reads at that snapshot, with the query unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from pipeline.errors import LakeConfigError
from pipeline.lake import LAKE_ALIAS, WarehouseLocation, connect_lake
from pipeline.warehouse_ops.maintenance import quote_literal

SnapshotRef = int | datetime


def list_snapshots(con: duckdb.DuckDBPyConnection, alias: str) -> list[dict[str, Any]]:
    """Every snapshot of the lake attached as `alias`, oldest first: id, time, schema version,
    what changed, author and commit message."""
    cur = con.execute(
        "SELECT snapshot_id, snapshot_time, schema_version, changes, author, commit_message"
        f" FROM ducklake_snapshots({quote_literal(alias)}) ORDER BY snapshot_id"
    )
    names = [d[0] for d in cur.description or []]
    found = []
    for row in cur.fetchall():
        item = dict(zip(names, row, strict=True))
        item["changes"] = {str(k): list(v) for k, v in (item["changes"] or {}).items()}
        found.append(item)
    return found


def current_snapshot(con: duckdb.DuckDBPyConnection, alias: str) -> int:
    rows = con.execute(f"FROM ducklake_current_snapshot({quote_literal(alias)})").fetchall()
    return int(rows[0][0])


def parse_snapshot_ref(text: str) -> SnapshotRef:
    """`--at`: a snapshot id (digits), else an ISO 8601 time; a time without a zone is UTC."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise LakeConfigError(
            f"--at {text!r}: give a snapshot id (`warehouse snapshots` lists them) or an ISO"
            " time such as 2026-01-31T12:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def connect_at(
    location: WarehouseLocation, at: SnapshotRef, *, alias: str = LAKE_ALIAS
) -> duckdb.DuckDBPyConnection:
    """A read-only connection with the lake attached, and in USE, as it was at snapshot `at` (an
    id) or at the moment `at` (the last snapshot committed by then)."""
    if not location.is_lake:
        raise LakeConfigError(
            f"{location.target} is a DuckDB file: time travel (--at) needs a lake warehouse"
            " (ducklake:...)"
        )
    if isinstance(at, datetime):
        return connect_lake(location, alias=alias, snapshot_time=at)
    return connect_lake(location, alias=alias, snapshot_version=at)
