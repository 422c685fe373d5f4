"""Opening the warehouse: the storage backend (the seam between a DuckDB file and a lake,
pipeline/store/lakebackend.py), the writer lock, and the connection every store module writes
through."""

from __future__ import annotations

import fcntl
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from pipeline import duckext
from pipeline.errors import NewerWarehouseFormatError, WarehouseBusy, WarehouseError
from pipeline.lsh import BandIndex

T = TypeVar("T")

LOCK_POLL = 0.05  # seconds between tries for a busy warehouse file
COMMIT_ATTEMPTS = 5  # tries of a write step whose commit conflicts (a lake), then an error
COMMIT_BACKOFF = 0.2  # seconds before the second try, doubling
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
    (FileBackend) is one; a DuckLake (catalog in PostgreSQL/SQLite, data in Parquet; LakeBackend)
    is the other: it has no sequences, keys or ON CONFLICT, so ids come from `allocate_ids`,
    `insert_new` says "unless the key is there" without a key, and each write step commits
    inside `commit_section`. The SQL itself stays in the store modules."""

    # Whether id columns default to their sequence (a DuckDB file), so an insert may omit them.
    has_id_defaults = True

    # Whether pending migrations commit as one transaction (a lake), or one by one (a file:
    # DuckDB refuses to commit a transaction that updates a table, then alters it).
    migrations_in_one_transaction = False

    def commit_section(self) -> AbstractContextManager[None]:
        """Held around each write step's transaction, from before BEGIN to after COMMIT."""
        return nullcontext()

    def retryable_commit(self, exc: BaseException) -> bool:
        """Whether a write step that raised `exc` may be redone as a whole."""
        return False

    def migration_statements(self, sql: str) -> list[str]:
        """A migration script (written for a DuckDB file) as the statements to run here."""
        return [sql]

    def new_rows_sql(
        self, table: str, columns: Sequence[str], source: str, keys: Sequence[str]
    ) -> str:
        """The rows of `source` insert_new_sql inserts, by a key-less anti join: for storage
        without keys. `source`'s row order decides which row of a key comes first."""
        cols = ", ".join(columns)
        match = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        return (
            f"SELECT {cols} FROM (SELECT *, row_number() OVER () AS _order FROM ({source})) s"
            f" WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match})"
            f" QUALIFY row_number() OVER (PARTITION BY {', '.join(f's.{k}' for k in keys)}"
            " ORDER BY _order) = 1"
        )

    def insert_new_sql(
        self, table: str, columns: Sequence[str], source: str, keys: Sequence[str]
    ) -> str:
        """INSERT into `table` the rows of the query `source` (its columns named `columns`)
        whose `keys` no row of `table` has; within `source`, the first row of a key wins."""
        cols = ", ".join(columns)
        return (
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ({source})"
            f" ON CONFLICT ({', '.join(keys)}) DO NOTHING"
        )

    @abstractmethod
    def connect(self, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
        """A connection set up for the store (UTC, no progress bar), trying for `wait`
        seconds while another process holds the storage."""

    def release(self, con: duckdb.DuckDBPyConnection, reusable: bool) -> None:
        """Done with `con` (from connect); `reusable` False after an error in its use."""
        con.close()

    def band_index(self, con: duckdb.DuckDBPyConnection) -> BandIndex:
        """A writer's band index, its files mapped."""
        bands = BandIndex(self.band_index_folder())
        bands.open(con)
        return bands

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
        """One write step: BEGIN inside the backend's commit section (a lake's commit lock), so
        the step reads everything committed before it and commits before anyone else's."""
        if self._joined:  # DuckDB has no nested transactions
            yield self.con
            return
        with self.backend.commit_section():
            self._joined = True
            try:
                self.con.execute("BEGIN TRANSACTION")
                try:
                    yield self.con
                    self.con.execute("COMMIT")
                except BaseException:
                    with suppress(duckdb.Error):  # a failed COMMIT may have ended it already
                        self.con.execute("ROLLBACK")
                    raise
            finally:
                self._joined = False

    @contextmanager
    def rolled_back(self) -> Iterator[None]:
        """One transaction that every write inside joins, undone at the end."""
        with self.backend.commit_section():
            self.con.execute("BEGIN TRANSACTION")
            self._joined = True
            try:
                yield
            finally:
                self._joined = False
                self.con.execute("ROLLBACK")

    def write_step(self, step: Callable[..., T], *args: Any) -> T:
        """Run `step(self, *args)`, a store function writing in one transaction(), redoing it
        whole (with backoff) while its commit fails in a way the backend says may pass."""
        attempt = 0
        while True:
            try:
                return step(self, *args)
            except Exception as exc:
                if not self.backend.retryable_commit(exc):
                    raise
                attempt += 1
                if attempt >= COMMIT_ATTEMPTS:
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise WarehouseError(
                        f"a write step kept failing to commit after {attempt} tries: {first}"
                    ) from exc
                time.sleep(COMMIT_BACKOFF * 2 ** (attempt - 1))

    def insert_new(
        self,
        table: str,
        columns: Sequence[str],
        source: str,
        keys: Sequence[str],
        params: Sequence[Any] | None = None,
        id_column: str | None = None,
    ) -> None:
        """Insert the rows of the query `source` whose `keys` are not in `table` yet (the first
        of a key within `source` wins). `id_column`: the table's id, which the file's column
        default draws; where there is none (a lake) it is drawn from `allocate_ids`."""
        if id_column is None or self.backend.has_id_defaults:
            sql = self.backend.insert_new_sql(table, columns, source, keys)
            self.con.execute(sql, params or [])
            return
        cols = ", ".join(columns)
        fresh = self.con.execute(
            f"SELECT {cols} FROM ({self.backend.new_rows_sql(table, columns, source, keys)})",
            params or [],
        ).to_arrow_table()
        if fresh.num_rows:
            ids = self.allocate(id_column, fresh.num_rows)
            self.load_arrow(table, fresh.append_column(id_column, pa.array(ids, pa.int64())))

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

    def load(self, table: str, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
        """Insert rows (dicts of `schema`'s columns) through one Arrow batch."""
        self.load_arrow(table, pa.Table.from_pylist(rows, schema=schema))

    def load_arrow(self, table: str, data: pa.Table) -> None:
        view = f"_batch_{table}"
        self.con.register(view, data)
        try:
            cols = ", ".join(data.column_names)
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view}")
        finally:
            self.con.unregister(view)


def marks(values: Sequence[Any]) -> str:
    """Placeholders for a parameter list: `?, ?, ?`."""
    return ", ".join("?" * len(values))
