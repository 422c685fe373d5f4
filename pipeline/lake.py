"""Where the warehouse lives, and attaching a DuckLake warehouse on a DuckDB connection.

A warehouse URL is one of:
- a path: a plain DuckDB file (the default, as before);
- `ducklake:postgres:<libpq connection string>`: a lake whose catalog is a PostgreSQL database,
  e.g. `ducklake:postgres:dbname=news host=127.0.0.1 port=5432 user=news`;
- `ducklake:sqlite:<path>`: a lake whose catalog is a SQLite file;
- `ducklake:<path>`: a lake whose catalog is a DuckDB file (one process at a time).

A lake's Parquet files go to the data path: NEWS_INGEST_LAKE_DATA (a folder, or s3://...), else
for a file catalog the folder `<catalog>.files/` beside it. The catalog remembers the data path
of the lake it created; an existing lake may be attached without one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb

from pipeline import duckext
from pipeline.errors import LakeConfigError

LAKE_DATA_ENV = "NEWS_INGEST_LAKE_DATA"
LAKE_ALIAS = "lake"
# Batches up to this many rows go into the catalog instead of a Parquet file of their own; the
# pipeline's commits are small and many, so this spares a file per commit. Set only at ATTACH:
# `CALL lake.set_option('data_inlining_row_limit', n)` has crashed the process.
DEFAULT_INLINING_ROW_LIMIT = 1000

Catalog = Literal["file", "duckdb", "postgres", "sqlite"]
_CATALOG_EXTENSION = {"postgres": "postgres_scanner", "sqlite": "sqlite_scanner"}


@dataclass(frozen=True)
class WarehouseLocation:
    """A parsed warehouse URL. `catalog` is "file" for a plain DuckDB warehouse (`target` is its
    path); otherwise `target` is the catalog's path or libpq connection string."""

    catalog: Catalog
    target: str
    data_path: str | None = None

    @property
    def is_lake(self) -> bool:
        return self.catalog != "file"

    @property
    def attach_uri(self) -> str:
        """What `ATTACH '...'` takes for this lake."""
        if self.catalog == "file":
            raise LakeConfigError(f"{self.target} is a plain DuckDB warehouse, not a lake")
        if self.catalog == "duckdb":
            return f"ducklake:{self.target}"
        return f"ducklake:{self.catalog}:{self.target}"

    def describe(self) -> str:
        """The location for messages and logs (a connection string's password masked)."""
        if self.catalog != "postgres":
            return self.attach_uri if self.is_lake else self.target
        words = [
            "password=***" if w.lower().startswith("password=") else w for w in self.target.split()
        ]
        return "ducklake:postgres:" + " ".join(words)


def parse_warehouse_url(
    url: str | Path, data_path: str | None = None, env: Mapping[str, str] | None = None
) -> WarehouseLocation:
    """Parse a warehouse URL; the data path is the argument, else NEWS_INGEST_LAKE_DATA, else
    (file catalogs) `<catalog>.files/`."""
    text = str(url).strip()
    if not text:
        raise LakeConfigError("the warehouse URL is empty")
    if not text.startswith("ducklake:"):
        return WarehouseLocation("file", str(Path(text).expanduser()))
    rest = text[len("ducklake:") :]
    catalog: Catalog
    if rest.startswith("postgres:"):
        catalog, target = "postgres", rest[len("postgres:") :].strip()
    elif rest.startswith("sqlite:"):
        catalog, target = "sqlite", rest[len("sqlite:") :].strip()
    else:
        catalog, target = "duckdb", rest.strip()
    if not target:
        raise LakeConfigError(f"{text}: no catalog after the prefix")
    if catalog != "postgres":
        target = str(Path(target).expanduser().resolve())
    chosen = data_path or (os.environ if env is None else env).get(LAKE_DATA_ENV) or None
    if chosen is None and catalog != "postgres":
        chosen = target + ".files"
    if chosen is not None and not _is_remote(chosen):
        chosen = str(Path(chosen).expanduser().resolve())
    return WarehouseLocation(catalog, target, chosen)


def _is_remote(path: str) -> bool:
    return "://" in path


def check_data_path(data_path: str) -> None:
    """A local data folder is created if absent and must take a file; a remote one needs the
    httpfs extension. Fails with one line before anything is attached."""
    if _is_remote(data_path):
        if not data_path.startswith(("s3://", "gs://", "gcs://", "r2://", "http://", "https://")):
            raise LakeConfigError(f"{LAKE_DATA_ENV}={data_path}: unknown scheme")
        return
    folder = Path(data_path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # os.access says yes to root on a read-only mount: writing a file is the only real test.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise LakeConfigError(
            f"the lake's data path {folder} is not writable ({exc.strerror or exc}):"
            f" set {LAKE_DATA_ENV} to a folder this process can write"
        ) from None


def attach_lake(
    con: duckdb.DuckDBPyConnection,
    location: WarehouseLocation,
    *,
    alias: str = LAKE_ALIAS,
    read_only: bool = False,
    snapshot_version: int | None = None,
    snapshot_time: datetime | None = None,
    inlining_row_limit: int = DEFAULT_INLINING_ROW_LIMIT,
    use: bool = True,
) -> None:
    """Load the extensions, ATTACH the lake as `alias` and (by default) `USE` it.

    A reader passes read_only=True; one of snapshot_version / snapshot_time attaches the lake as
    it was then (time travel), which is read-only. A writer's local data path is checked first.
    """
    if not location.is_lake:
        raise LakeConfigError(f"{location.target} is a plain DuckDB warehouse, not a lake")
    if snapshot_version is not None and snapshot_time is not None:
        raise LakeConfigError("give a snapshot version or a snapshot time, not both")
    pinned = snapshot_version is not None or snapshot_time is not None
    read_only = read_only or pinned
    if not read_only:
        if location.data_path is None:
            raise LakeConfigError(
                f"{location.describe()}: set {LAKE_DATA_ENV} to the folder (or s3://...) for the"
                " lake's Parquet files"
            )
        check_data_path(location.data_path)
    duckext.load_extension(con, "ducklake")
    if location.catalog in _CATALOG_EXTENSION:
        duckext.load_extension(con, _CATALOG_EXTENSION[location.catalog])
    if location.data_path is not None and _is_remote(location.data_path):
        duckext.load_extension(con, "httpfs")
    options: list[str] = []
    if location.data_path is not None:
        options.append(f"DATA_PATH {_literal(location.data_path)}")
    if read_only:
        options.append("READ_ONLY")
    else:
        options.append(f"DATA_INLINING_ROW_LIMIT {int(inlining_row_limit)}")
    if snapshot_version is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot_version)}")
    if snapshot_time is not None:
        options.append(f"SNAPSHOT_TIME {_literal(snapshot_time.isoformat())}")
    sql = f"ATTACH {_literal(location.attach_uri)} AS {_identifier(alias)} ({', '.join(options)})"
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        raise _attach_error(location, exc) from exc
    if use:
        con.execute(f"USE {_identifier(alias)}")


def connect_lake(
    location: WarehouseLocation,
    *,
    alias: str = LAKE_ALIAS,
    read_only: bool = False,
    snapshot_version: int | None = None,
    snapshot_time: datetime | None = None,
    inlining_row_limit: int = DEFAULT_INLINING_ROW_LIMIT,
) -> duckdb.DuckDBPyConnection:
    """A fresh offline in-memory DuckDB connection with the lake attached and in USE, in UTC
    (see attach_lake).
    Open one per process: a connection forked after the attach fails ('Unique file handle
    conflict'), so child processes use the spawn start method and call this themselves."""
    con = duckext.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")  # as the file warehouse's connections
        attach_lake(
            con,
            location,
            alias=alias,
            read_only=read_only,
            snapshot_version=snapshot_version,
            snapshot_time=snapshot_time,
            inlining_row_limit=inlining_row_limit,
        )
    except BaseException:
        con.close()
        raise
    return con


def _attach_error(location: WarehouseLocation, exc: duckdb.Error) -> Exception:
    text = str(exc)
    first = text.splitlines()[0] if text else type(exc).__name__
    if "does not match existing data path" in text:
        return LakeConfigError(
            f"{location.describe()} keeps its files elsewhere than {location.data_path}: {first}"
            f" (unset {LAKE_DATA_ENV}, or set it to the catalog's data path)"
        )
    if "data_path is not set" in text:
        return LakeConfigError(
            f"{location.describe()} has no lake yet: set {LAKE_DATA_ENV} to create one"
        )
    return LakeConfigError(f"cannot attach {location.describe()}: {first}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
