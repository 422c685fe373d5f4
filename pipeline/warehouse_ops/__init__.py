"""Operations on a whole warehouse, Prefect-free: lake maintenance (maintenance), snapshots and
time travel (snapshots), what a warehouse is (info), and copying one between a DuckDB file and a
DuckLake (copy). They work on DuckDB connections and `pipeline.lake.WarehouseLocation`s."""

from __future__ import annotations

from pipeline.warehouse_ops.copy import copy_warehouse
from pipeline.warehouse_ops.info import warehouse_info
from pipeline.warehouse_ops.maintenance import (
    DEFAULT_DELETE_GRACE,
    maintain_lake,
    maintain_location,
    maintenance_report_lines,
)
from pipeline.warehouse_ops.snapshots import (
    SnapshotRef,
    connect_at,
    list_snapshots,
    parse_snapshot_ref,
)

__all__ = [
    "DEFAULT_DELETE_GRACE",
    "SnapshotRef",
    "connect_at",
    "copy_warehouse",
    "list_snapshots",
    "maintain_lake",
    "maintain_location",
    "maintenance_report_lines",
    "parse_snapshot_ref",
    "warehouse_info",
]
