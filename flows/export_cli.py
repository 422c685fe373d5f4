"""`news-ingest export` and `news-ingest import`: the warehouse out to files, and back in."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flows.args import iso_date
from pipeline.settings import Settings
from pipeline.warehouse_ops.export import export_all, export_tables, import_export

EXPORT_FORMATS = ("parquet", "csv", "jsonl")


def cmd_export(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    folder = Path(args.folder)
    if args.all:
        counts = export_all(settings.warehouse, folder, wait=settings.wait)
        print(f"{len(counts)} tables, {sum(counts.values())} rows exported to {folder}")
        return 0
    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    manifest = export_tables(
        settings.warehouse,
        folder,
        args.format,
        since=args.since,
        until=args.until,
        tables=tables,
        wait=settings.wait,
    )
    written: dict[str, Any] = manifest["tables"]
    for table, entry in written.items():
        days = len(entry["rows_per_day"]) if entry["day_column"] else 0
        print(f"{table}: {entry['rows']} rows" + (f" in {days} day(s)" if days else ""))
    print(f"manifest: {folder / 'manifest.json'}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    loaded = import_export(Path(args.folder), settings.warehouse, wait=settings.wait)
    print(f"{len(loaded)} tables, {sum(loaded.values())} rows imported")
    return 0


def add_export_commands(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """`export` and `import` on the CLI's sub-command set."""
    export = subparsers.add_parser(
        "export",
        parents=list(parents),
        help="write tables to files partitioned by day (or the whole warehouse with --all)",
    )
    export.add_argument("folder", metavar="FOLDER", help="where the files and manifest go")
    export.add_argument(
        "--format", choices=EXPORT_FORMATS, default="parquet", help="file format (default parquet)"
    )
    export.add_argument("--since", type=iso_date, metavar="DATE", help="days on or after this")
    export.add_argument("--until", type=iso_date, metavar="DATE", help="days before this")
    export.add_argument(
        "--tables", metavar="A,B", help="comma-separated tables (default: every table)"
    )
    export.add_argument(
        "--all",
        action="store_true",
        help="the whole warehouse (EXPORT DATABASE, Parquet), for `news-ingest import`",
    )
    export.set_defaults(handler=cmd_export)
    imp = subparsers.add_parser(
        "import",
        parents=list(parents),
        help="load an `export --all` folder into an empty warehouse",
    )
    imp.add_argument("folder", metavar="FOLDER", help="a folder written by `export --all`")
    imp.set_defaults(handler=cmd_import)
