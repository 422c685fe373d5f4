"""Exports out of the warehouse, and loading a whole-warehouse export into an empty one.

`export_tables` writes tables as Parquet, CSV or JSON Lines into a folder, partitioned by day
(Hive style: `articles/day=2026-12-03/data_0.parquet`), with `manifest.json` saying what is
there: per table its day column, columns and types, rows per day, and the schema version.
Each table's day comes from its own time column (DAY_COLUMNS); a table without one that
names articles (authors and tags of an article, ...) follows its articles' window and is
written whole; any other table (authors, tags, ...) is written whole. `--since/--until` pick
days by that column.

`export_all` writes the whole warehouse: DuckDB's `EXPORT DATABASE` (schema.sql + load.sql +
one Parquet file a table) from a DuckDB file; from a lake, which EXPORT DATABASE does not read
as one database, the same layout table by table. `import_export` loads such a folder into an
empty warehouse of either backend: the store creates and migrates it, every table's rows are
inserted by column name, ids are advanced past the loaded ones, and the counts are checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import WarehouseError
from pipeline.lake import WarehouseLocation
from pipeline.store import Warehouse
from pipeline.warehouse_ops.copy import ID_COLUMNS
from pipeline.warehouse_ops.maintenance import quote_identifier, quote_literal

FORMATS = {"parquet": "parquet", "csv": "csv", "jsonl": "json"}
MANIFEST = "manifest.json"
DAY = "day"
# The time column whose day partitions each table; the first one a table has wins.
DAY_COLUMNS = ("published_at", "first_seen_at", "started_at", "fetched_at", "added_at")
# Articles without a publication date are filed under the day they were fetched.
ARTICLE_DAY = "coalesce(published_at, fetched_at)"
MIGRATIONS_TABLE = "schema_migrations"
_LOAD_LINE = re.compile(r"COPY\s+(\S+)\s+FROM\s+'([^']+)'", re.IGNORECASE)


def _tables(wh: Warehouse) -> dict[str, list[tuple[str, str]]]:
    rows = wh.sql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'main' AND table_catalog = current_database()"
        " AND table_name IN (SELECT table_name FROM information_schema.tables"
        "   WHERE table_type = 'BASE TABLE' AND table_catalog = current_database())"
        " ORDER BY table_name, ordinal_position"
    )
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, []).append((column, kind))
    return tables


def _day_expression(table: str, columns: list[str]) -> str | None:
    if table == "articles":
        return ARTICLE_DAY
    return next((c for c in DAY_COLUMNS if c in columns), None)


def export_tables(
    location: WarehouseLocation | str | Path,
    out_dir: Path,
    fmt: str = "parquet",
    since: datetime | None = None,
    until: datetime | None = None,
    tables: Sequence[str] | None = None,
    wait: float = 60.0,
) -> dict[str, Any]:
    """Write tables into `out_dir` by day; returns the manifest (also written there)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use parquet, csv or jsonl")
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": fmt, "since": _iso(since), "until": _iso(until)}
    with Warehouse(location, read_only=True, wait=wait) as wh:
        known = _tables(wh)
        chosen = list(tables) if tables else sorted(t for t in known if t != MIGRATIONS_TABLE)
        unknown = [t for t in chosen if t not in known]
        if unknown:
            raise WarehouseError(
                f"no table {unknown[0]!r} in the warehouse: `news-ingest warehouse info` lists them"
            )
        manifest["schema_version"] = _schema_version(wh)
        window = _window_sql(ARTICLE_DAY, since, until)
        manifest["tables"] = {
            table: _export_one(wh, table, known[table], out_dir, fmt, since, until, window)
            for table in chosen
        }
    manifest["written_at"] = datetime.now(UTC).isoformat()
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _export_one(
    wh: Warehouse,
    table: str,
    columns: list[tuple[str, str]],
    out_dir: Path,
    fmt: str,
    since: datetime | None,
    until: datetime | None,
    article_window: str,
) -> dict[str, Any]:
    names = [c for c, _ in columns]
    day = _day_expression(table, names)
    quoted = quote_identifier(table)
    target = out_dir / table
    options = f"FORMAT {FORMATS[fmt]}, OVERWRITE_OR_IGNORE"
    if day is not None:
        where = _window_sql(day, since, until)
        select = f"SELECT *, strftime({day}, '%Y-%m-%d') AS {DAY} FROM {quoted} WHERE {where}"
        options += f", PARTITION_BY ({DAY})"
        destination = target
    else:
        where = "true"
        if "article_id" in names and table != "articles" and (since or until):
            where = f"article_id IN (SELECT article_id FROM articles WHERE {article_window})"
        select = f"SELECT * FROM {quoted} WHERE {where}"
        target.mkdir(parents=True, exist_ok=True)
        destination = target / f"data_0.{'jsonl' if fmt == 'jsonl' else fmt}"
    if day is not None:
        per_day = wh.sql(
            f"SELECT strftime({day}, '%Y-%m-%d') AS d, count(*) FROM {quoted}"
            f" WHERE {where} GROUP BY d ORDER BY d"
        )
        rows = {str(d): n for d, n in per_day}
        if fmt == "jsonl":  # DuckDB's JSON writer has no PARTITION_BY: a COPY a day
            for d in rows:
                folder = target / f"{DAY}={d}"
                folder.mkdir(parents=True, exist_ok=True)
                one_day = f"{select} AND strftime({day}, '%Y-%m-%d') = {quote_literal(d)}"
                path = quote_literal(str(folder / "data_0.jsonl"))
                wh.execute(f"COPY ({one_day}) TO {path} (FORMAT json)")
        else:
            wh.execute(f"COPY ({select}) TO {quote_literal(str(destination))} ({options})")
    else:
        wh.execute(f"COPY ({select}) TO {quote_literal(str(destination))} ({options})")
        (count,) = wh.sql(f"SELECT count(*) FROM {quoted} WHERE {where}")[0]
        rows = {"all": count}
    return {
        "day_column": day,
        "columns": [{"name": c, "type": t} for c, t in columns],
        "rows": sum(rows.values()),
        "rows_per_day": rows,
    }


def _window_sql(day: str, since: datetime | None, until: datetime | None) -> str:
    parts = ["true"]
    if since is not None:
        parts.append(f"{day} >= {quote_literal(since.isoformat())}::TIMESTAMPTZ")
    if until is not None:
        parts.append(f"{day} < {quote_literal(until.isoformat())}::TIMESTAMPTZ")
    return " AND ".join(parts)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _schema_version(wh: Warehouse) -> int:
    (version,) = wh.sql(f"SELECT coalesce(max(version), 0) FROM {MIGRATIONS_TABLE}")[0]
    return int(version)


# --- the whole warehouse ----------------------------------------------------------------------


def export_all(
    location: WarehouseLocation | str | Path, out_dir: Path, wait: float = 60.0
) -> dict[str, int]:
    """The whole warehouse into `out_dir` (which must be new or empty): EXPORT DATABASE's
    layout, Parquet. Returns rows per table."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise WarehouseError(f"{out_dir} is not empty: export the whole warehouse to a new folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    with Warehouse(location, read_only=True, wait=wait) as wh:
        is_lake = wh.location.is_lake
        tables = _tables(wh)
        counts = {t: wh.sql(f"SELECT count(*) FROM {quote_identifier(t)}")[0][0] for t in tables}
        if not is_lake:
            wh.execute(f"EXPORT DATABASE {quote_literal(str(out_dir))} (FORMAT parquet)")
        else:
            lines = []
            for table in tables:
                path = out_dir / f"{table}.parquet"
                wh.execute(
                    f"COPY {quote_identifier(table)} TO {quote_literal(str(path))} (FORMAT parquet)"
                )
                lines.append(f"COPY {table} FROM {quote_literal(str(path))} (FORMAT 'parquet');")
            (out_dir / "load.sql").write_text("\n".join(lines) + "\n")
            (out_dir / "schema.sql").write_text(
                "-- exported from a DuckLake: the tables are the warehouse's migrations;"
                " `news-ingest import` creates them\n"
            )
    (out_dir / MANIFEST).write_text(
        json.dumps({"whole": True, "rows": counts, "written_at": datetime.now(UTC).isoformat()})
        + "\n"
    )
    return counts


def export_files(export_dir: Path) -> dict[str, Path]:
    """Table → its Parquet file, from an export's load.sql (paths found beside it, so a moved
    export still loads)."""
    load = export_dir / "load.sql"
    if not load.is_file():
        raise WarehouseError(f"{export_dir} is no whole-warehouse export (no load.sql)")
    files: dict[str, Path] = {}
    for table, path in _LOAD_LINE.findall(load.read_text()):
        files[table.strip('"')] = export_dir / Path(path).name
    return files


def import_export(
    export_dir: Path, location: WarehouseLocation | str | Path, wait: float = 60.0
) -> dict[str, int]:
    """Load a whole-warehouse export into an empty warehouse (created and migrated here);
    returns rows per table. Refuses a warehouse that holds rows."""
    files = export_files(export_dir)
    with Warehouse(location, wait=wait) as wh:
        held = sorted(t for t, n in wh.counts().items() if n and t != MIGRATIONS_TABLE)
        if held:
            raise WarehouseError(
                f"the warehouse is not empty ({', '.join(held[:3])} hold rows):"
                " import into a new file or an empty lake"
            )
        known = _tables(wh)
        loaded: dict[str, int] = {}
        with wh.transaction():
            if MIGRATIONS_TABLE in files:
                wh.execute(f"DELETE FROM {MIGRATIONS_TABLE}")
            for table, path in files.items():
                if table not in known:
                    raise WarehouseError(
                        f"the export has a table {table!r} this version does not know:"
                        " import with the news-ingest version that wrote it"
                    )
                wh.execute(
                    f"INSERT INTO {quote_identifier(table)} BY NAME"
                    f" SELECT * FROM read_parquet({quote_literal(str(path))})"
                )
                loaded[table] = wh.sql(f"SELECT count(*) FROM {quote_identifier(table)}")[0][0]
            for name, (table, column) in ID_COLUMNS.items():
                if table in loaded:
                    (top,) = wh.sql(
                        f"SELECT coalesce(max({quote_identifier(column)}), 0)"
                        f" FROM {quote_identifier(table)}"
                    )[0]
                    wh.advance_ids(name, int(top))
    return loaded
