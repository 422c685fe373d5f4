"""`news-ingest warehouse info|copy|snapshots` and `news-ingest sql --at`: the command line over
pipeline.warehouse_ops. The warehouse is the settings' (`--warehouse`, NEWS_INGEST_WAREHOUSE); a
failure raises WarehouseError (or a ValueError), which the CLI prints as one line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import duckdb

from flows.output import FORMAT_HELP, FORMATS
from flows.reports import format_rows
from pipeline.errors import WarehouseError
from pipeline.lake import WarehouseLocation, connect_lake, parse_warehouse_url
from pipeline.warehouse_ops import (
    connect_at,
    copy_warehouse,
    list_snapshots,
    parse_snapshot_ref,
    warehouse_info,
)


def warehouse_location(args: argparse.Namespace) -> WarehouseLocation:
    """The settings' warehouse as a location (a file path or a `ducklake:` URL)."""
    return parse_warehouse_url(str(args.settings.warehouse))


def human_bytes(size: int | None) -> str:
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def info_text(info: dict[str, Any]) -> str:
    """`warehouse info` as text: one `name: value` line each, then the tables' rows."""
    shown = {}
    for key, value in info.items():
        if key == "tables":
            continue
        if key.endswith("_bytes"):  # size_bytes -> size, catalog_bytes -> catalog size
            key, value = key[: -len("_bytes")].replace("size", "") + " size", human_bytes(value)
        shown[key.replace("_", " ").strip()] = value
    width = max(len(k) for k in shown)
    lines = [f"{key:<{width}}  {value}" for key, value in shown.items()]
    tables = info["tables"]
    lines += ["", format_rows(["table", "rows"], sorted(tables.items()), "table")]
    lines.append(f"{sum(tables.values())} rows in {len(tables)} tables")
    return "\n".join(lines)


def cmd_warehouse_info(args: argparse.Namespace) -> int:
    info = warehouse_info(warehouse_location(args), wait=args.settings.wait)
    if args.format == "json":
        print(json.dumps(info, indent=2, default=str))
    else:
        print(info_text(info))
    return 0


def cmd_warehouse_copy(args: argparse.Namespace) -> int:
    source = warehouse_location(args)
    target = parse_warehouse_url(args.to, args.data)
    where = target.describe() if target.is_lake else target.target

    def progress(table: str, rows: int) -> None:
        print(f"  {table}: {rows} rows", file=sys.stderr, flush=True)

    started = time.monotonic()
    copied = copy_warehouse(source, target, progress, wait=args.settings.wait)
    print(
        f"copied {sum(copied.values())} rows in {len(copied)} tables to {where} in"
        f" {time.monotonic() - started:.1f} s; every table's row count verified"
    )
    return 0


def _lake_only(location: WarehouseLocation, what: str) -> None:
    if not location.is_lake:
        raise WarehouseError(
            f"{location.target} is a DuckDB file: {what} needs a lake warehouse (ducklake:...)"
        )


def cmd_warehouse_snapshots(args: argparse.Namespace) -> int:
    location = warehouse_location(args)
    _lake_only(location, "listing snapshots")
    con = connect_lake(location, read_only=True)
    try:
        snapshots = list_snapshots(con, "lake")
    finally:
        con.close()
    names = ["snapshot_id", "snapshot_time", "changes", "author", "commit_message"]
    rows = [
        (
            s["snapshot_id"],
            s["snapshot_time"],
            s["changes"]
            if args.format == "json"
            else "; ".join(f"{k}: {', '.join(v)}" for k, v in s["changes"].items()),
            s["author"],
            s["commit_message"],
        )
        for s in snapshots
    ]
    print(format_rows(names, rows, args.format))
    return 0


def cmd_sql_at(args: argparse.Namespace) -> int:
    """`news-ingest sql QUERY --at VERSION|TIMESTAMP`: the query on the lake as it was then."""
    location = warehouse_location(args)
    _lake_only(location, "time travel (--at)")
    con = connect_at(location, parse_snapshot_ref(args.at))
    try:
        cur = con.execute(args.query)
        names = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall() if cur.description else []
    except duckdb.Error as exc:
        raise WarehouseError(str(exc).splitlines()[0]) from None
    finally:
        con.close()
    print(format_rows(names, rows, args.format))
    return 0


def add_warehouse_commands(
    subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()
) -> None:
    """`warehouse info|copy|snapshots` on the CLI's sub-command set; `parents` carry the options
    every command takes (--warehouse, --wait)."""
    group = subparsers.add_parser("warehouse", help="what the warehouse is; copy it; snapshots")
    actions = group.add_subparsers(dest="warehouse_command", required=True, metavar="ACTION")
    info = actions.add_parser(
        "info",
        parents=list(parents),
        help="backend, versions, size, rows per table; a lake's snapshots and files",
    )
    info.add_argument(
        "--format", choices=("table", "json"), default="table", help="a summary, or one JSON object"
    )
    info.set_defaults(handler=cmd_warehouse_info)
    copy = actions.add_parser(
        "copy",
        parents=list(parents),
        help="copy the warehouse into an empty lake or a new file, verifying every table",
    )
    copy.add_argument("--to", required=True, metavar="URL", help="a file path or ducklake: URL")
    copy.add_argument(
        "--data",
        metavar="PATH",
        help="the new lake's data folder (default: $NEWS_INGEST_LAKE_DATA, or beside a file"
        " catalog)",
    )
    copy.set_defaults(handler=cmd_warehouse_copy)
    snaps = actions.add_parser(
        "snapshots", parents=list(parents), help="a lake's snapshots, for `sql --at`"
    )
    snaps.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    snaps.set_defaults(handler=cmd_warehouse_snapshots)
