"""Opening the warehouse: the storage backend (the seam between a DuckDB file and, later, a
lake), the writer lock, and the connection every store module writes through."""

from __future__ import annotations

import fcntl
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipeline import duckext
from pipeline.errors import NewerWarehouseFormatError, WarehouseBusy, WarehouseError
from pipeline.lsh import BandIndex

LOCK_POLL = 0.05  # seconds between tries for a busy warehouse file
# The ids the store allocates itself (a batch at a time), by name: `<name>_seq` in a file.
ID_NAMES = frozenset(
    {
        "feed_id",
        "fetch_id",
        "article_id",
        "author_id",
        "category_id",
        "tag_id",
        "run_id",
        "band_batch",
    }
)


def is_lock_error(exc: Exception) -> bool:
    """Whether DuckDB refused to open a file because another process holds it."""
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


class WriterLock:
    """One writing run per warehouse at a time, across processes: an exclusive `flock` on a file
    beside the warehouse, held for the whole run. Runs queue on it instead of failing on
    DuckDB's file lock; between their short write steps readers get their turn."""

    def __init__(self, path: Path, wait: float | None = None) -> None:
        self.path = Path(str(path) + ".writer.lock")
        self.wait = wait
        self._handle: Any = None

    def acquire(self, on_wait: Callable[[], None] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held until release()
        deadline = None if self.wait is None else time.monotonic() + self.wait
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() > deadline:
                    handle.close()
                    raise WarehouseBusy(
                        f"another news-ingest run is writing {str(self.path)[:-12]};"
                        f" gave up after {self.wait:g} s"
                    ) from None
                if not told and on_wait is not None:
                    on_wait()
                    told = True
                time.sleep(LOCK_POLL)
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Backend(ABC):
    """Everything that differs between the places a warehouse can live. A DuckDB file
    (FileBackend) is one; a DuckLake (catalog in PostgreSQL/SQLite, data in Parquet) will be
    another: it has no sequences, keys or ON CONFLICT, so ids come from `allocate_ids`, and a
    writer lock is its own business. The SQL itself stays in the store modules."""

    @abstractmethod
    def connect(self, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
        """A connection set up for the store (UTC, no progress bar), trying for `wait`
        seconds while another process holds the storage."""

    @abstractmethod
    def writer_lock(self, wait: float | None = None) -> WriterLock | None:
        """The lock that keeps writing runs apart, or None when the storage does that."""

    @abstractmethod
    def allocate_ids(self, con: duckdb.DuckDBPyConnection, name: str, n: int) -> list[int]:
        """`n` new ids of `name` (one of ID_NAMES), increasing; unused ones are just gaps."""

    @abstractmethod
    def advance_ids(self, con: duckdb.DuckDBPyConnection, name: str, past: int) -> None:
        """Make every id of `name` allocated from now on greater than `past` (after rows were
        loaded with explicit ids)."""

    @abstractmethod
    def band_index_folder(self) -> Path:
        """Where the band index files (a cache, pipeline.lsh) are kept."""

    @abstractmethod
    def checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        """Fold pending writes into the storage proper."""


class FileBackend(Backend):
    """One DuckDB file: open read-write in exactly one process (DuckDB's rule)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def connect(self, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise WarehouseError(
                f"no warehouse at {self.path}: run `news-ingest run` or `news-ingest demo` first"
            )
        deadline = time.monotonic() + wait
        while True:
            try:
                con = duckext.connect(self.path, read_only=read_only)
                break
            except NewerWarehouseFormatError as exc:
                raise WarehouseError(str(exc)) from None
            except duckdb.Error as exc:
                if not is_lock_error(exc):
                    raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"warehouse {self.path} is in use by another news-ingest process;"
                        " wait for it to finish or pass a longer --wait"
                        " (DuckDB allows one process per file)"
                    ) from None
                time.sleep(LOCK_POLL)
        con.execute("SET TimeZone = 'UTC'")
        # Long statements (a migration, a big query) must not draw a bar over our own output.
        con.execute("SET enable_progress_bar = false")
        return con

    def writer_lock(self, wait: float | None = None) -> WriterLock:
        return WriterLock(self.path, wait)

    def allocate_ids(self, con: duckdb.DuckDBPyConnection, name: str, n: int) -> list[int]:
        if n == 0:
            return []
        rows = con.execute(f"SELECT nextval('{_sequence(name)}') FROM range(?)", [n]).fetchall()
        return [int(r[0]) for r in rows]

    def advance_ids(self, con: duckdb.DuckDBPyConnection, name: str, past: int) -> None:
        sequence = _sequence(name)
        have = int(con.execute(f"SELECT nextval('{sequence}')").fetchall()[0][0])
        if have <= past:
            con.execute(f"SELECT max(nextval('{sequence}')) FROM range(?)", [past - have + 1])

    def band_index_folder(self) -> Path:
        return self.path.with_name(self.path.name + ".lsh")

    def checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CHECKPOINT")


def _sequence(name: str) -> str:
    if name not in ID_NAMES:
        raise ValueError(f"no ids named {name!r}; known: {', '.join(sorted(ID_NAMES))}")
    return f"{name}_seq"


class WarehouseConnection:
    """An open warehouse as the store modules use it: the DuckDB connection, its backend and
    band index, and the few helpers every write goes through."""

    def __init__(self, con: duckdb.DuckDBPyConnection, backend: Backend, bands: BandIndex) -> None:
        self.con = con
        self.backend = backend
        self.bands = bands
        self._joined = False  # inside rolled_back(): transaction() joins the open one

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._joined:  # DuckDB has no nested transactions
            yield self.con
            return
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    @contextmanager
    def rolled_back(self) -> Iterator[None]:
        """One transaction that every write inside joins, undone at the end."""
        self.con.execute("BEGIN TRANSACTION")
        self._joined = True
        try:
            yield
        finally:
            self._joined = False
            self.con.execute("ROLLBACK")

    def allocate(self, name: str, n: int) -> list[int]:
        return self.backend.allocate_ids(self.con, name, n)

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """One integer from a query, reading the result to its end (DuckDB 2 refuses new work
        on a connection with a result left half-read)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def query(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description] if cur.description else []
        return names, cur.fetchall() if cur.description else []

    def load(
        self, table: str, rows: list[dict[str, Any]], schema: pa.Schema, conflict: str = ""
    ) -> None:
        """Insert rows (dicts of `schema`'s columns) through one Arrow batch."""
        self.load_arrow(table, pa.Table.from_pylist(rows, schema=schema), conflict)

    def load_arrow(self, table: str, data: pa.Table, conflict: str = "") -> None:
        view = f"_batch_{table}"
        self.con.register(view, data)
        try:
            cols = ", ".join(data.column_names)
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view} {conflict}")
        finally:
            self.con.unregister(view)


def marks(values: Sequence[Any]) -> str:
    """Placeholders for a parameter list: `?, ?, ?`."""
    return ", ".join("?" * len(values))
