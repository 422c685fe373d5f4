"""The warehouse on a DuckLake: the Backend for a catalog in PostgreSQL, SQLite or a DuckDB file
with the data in Parquet (pipeline/lake.py attaches it).

Exactly once with many writers: fetching and extracting run in parallel across processes, but
each write step (one `transaction()`) runs inside a commit section, a lock per lake held from
before BEGIN to after COMMIT: PostgreSQL's advisory lock in the catalog database (freed by the
server when the holding session dies, SIGKILL included), or an `flock` on a file beside a
SQLite/DuckDB catalog (freed by the kernel). A step's transaction therefore begins after every
earlier step committed, so its lookups (URL keys, guids, content hashes, band rows) see all of
them, and nothing commits between its lookups and its commit: the file backend's logic, which
is exactly-once for one writer at a time, holds unchanged. DuckLake's conflicts are per table
and every step updates `feeds` or `feed_entries`, so unserialised steps would conflict anyway.
Ids come from real sequences beside the catalog (pipeline/lakeclaims.py); band batch numbers
are drawn inside the section, so they grow in commit order. Readers take no lock: they attach
READ_ONLY and read the latest snapshot.

Attaching costs about 0.4 s, so an attached connection (with its catalog connection and band
index) is kept per process and lake, and handed to the next Warehouse opened on it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipeline import lake, lakeddl
from pipeline.errors import LakeConfigError, WarehouseError
from pipeline.lakeclaims import PostgresKeyClaims, SqliteKeyClaims, claims_path
from pipeline.lsh import BandIndex
from pipeline.store.connection import ID_NAMES, Backend

# pg_advisory_lock(class, key): the class keeps our lock apart from other users' one-key locks.
COMMIT_LOCK_CLASS = 0x4E49  # "NI"
COMMIT_LOCK_KEY = "news_ingest_commit"
CACHE_ENV = "XDG_CACHE_HOME"


class CommitLock:
    """The lake's commit lock: an advisory lock in the PostgreSQL catalog, else an flock."""

    def __init__(self, location: lake.WarehouseLocation, claims: Any) -> None:
        self.location = location
        self.claims = claims
        self._handle: Any = None
        self._depth = 0  # nesting of held() by the thread holding it
        self._owner = 0

    def acquire(self) -> None:
        if self.location.catalog == "postgres":
            try:
                self.claims.con.execute(
                    "SELECT pg_advisory_lock(%s, hashtext(%s))",
                    [COMMIT_LOCK_CLASS, COMMIT_LOCK_KEY],
                )
            except Exception as exc:  # psycopg's errors: the catalog went away
                raise catalog_error(self.location, exc) from None
            return
        handle = open(self.location.target + ".commit.lock", "a+")  # noqa: SIM115 - till release
        fcntl.flock(handle, fcntl.LOCK_EX)
        self._handle = handle

    def release(self) -> None:
        if self.location.catalog == "postgres":
            try:
                self.claims.con.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(%s))",
                    [COMMIT_LOCK_CLASS, COMMIT_LOCK_KEY],
                )
            except Exception as exc:  # the session is gone, and its lock with it
                raise catalog_error(self.location, exc) from None
            return
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Held until the block ends; re-entrant in one thread of one process (the migrations
        hold it around their transactions, each of which takes it again)."""
        if self._depth and self._owner == threading.get_ident():
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        began = time.perf_counter()
        self.acquire()
        self._depth, self._owner = 1, threading.get_ident()
        got = time.perf_counter()
        try:
            yield
        finally:
            self._depth = 0
            self.release()
            SECTION_STATS.add(got - began, time.perf_counter() - got)


@dataclass
class SectionStats:
    """This process's commit sections so far: how many, the seconds spent waiting for the lock
    and holding it (benchmarks and tests read them; the cost is two clock reads)."""

    sections: int = 0
    waited_s: float = 0.0
    longest_wait_s: float = 0.0
    held_s: float = 0.0

    def add(self, waited: float, held: float) -> None:
        self.sections += 1
        self.waited_s += waited
        self.longest_wait_s = max(self.longest_wait_s, waited)
        self.held_s += held


SECTION_STATS = SectionStats()


def catalog_error(location: lake.WarehouseLocation, exc: BaseException) -> LakeConfigError:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return LakeConfigError(f"cannot reach the catalog of {location.describe()}: {first}")


@dataclass
class LakeSession:
    """One process's attached lake: the DuckDB connection, and for a writer the catalog-side
    connection (ids, commit lock) and the band index."""

    con: duckdb.DuckDBPyConnection
    claims: PostgresKeyClaims | SqliteKeyClaims | None
    lock: CommitLock | None
    bands: BandIndex | None = None
    pid: int = field(default_factory=os.getpid)

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            if self.claims is not None:
                self.claims.close()


_PoolKey = tuple[str, str | None, bool]
_pool: dict[_PoolKey, list[LakeSession]] = {}
_pool_lock = threading.Lock()


def close_pooled_sessions() -> None:
    """Close every attached lake this process keeps for reuse (tests, before a lake's catalog
    is dropped; a process exiting need not)."""
    with _pool_lock:
        sessions = [s for kept in _pool.values() for s in kept]
        _pool.clear()
    for session in sessions:
        if session.pid == os.getpid():
            session.close()


def open_claims(location: lake.WarehouseLocation) -> PostgresKeyClaims | SqliteKeyClaims:
    if location.catalog == "postgres":
        try:
            return PostgresKeyClaims(location.target)
        except LakeConfigError:
            raise
        except Exception as exc:  # psycopg.OperationalError: down, refused, bad password
            raise catalog_error(location, exc) from None
    return SqliteKeyClaims(claims_path(location))


def catalog_exists(location: lake.WarehouseLocation, claims: Any) -> bool:
    """Whether the lake's catalog has been created (its attach then writes nothing)."""
    if location.catalog == "postgres":
        row = claims.con.execute("SELECT to_regclass('ducklake_metadata') IS NOT NULL").fetchone()
        return bool(row and row[0])
    if location.catalog == "sqlite" and Path(location.target).is_file():
        # What is committed: a catalog being created by another process shows no table yet.
        with closing(sqlite3.connect(f"file:{location.target}?mode=ro", uri=True)) as con:
            found = con.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'ducklake_metadata'"
            ).fetchone()
        return found is not None
    return False  # a DuckDB catalog (one process at a time anyway), or none yet


class LakeBackend(Backend):
    """A DuckLake: no keys, sequences or ON CONFLICT; write steps serialised by a commit lock."""

    has_id_defaults = False

    def __init__(self, location: lake.WarehouseLocation) -> None:
        if not location.is_lake:
            raise LakeConfigError(f"{location.target} is a plain DuckDB warehouse, not a lake")
        self.location = location
        self.session: LakeSession | None = None

    # -- connections -------------------------------------------------------------------------

    def _key(self, read_only: bool) -> _PoolKey:
        return (self.location.attach_uri, self.location.data_path, read_only)

    def connect(self, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
        with _pool_lock:
            kept = _pool.get(self._key(read_only), [])
            while kept and self.session is None:
                session = kept.pop()
                if session.pid == os.getpid():  # one forked off a parent is unusable here
                    self.session = session
        if self.session is None:
            self.session = self._open(read_only)
        return self.session.con

    def _open(self, read_only: bool) -> LakeSession:
        if read_only:
            return LakeSession(lake.connect_lake(self.location, read_only=True), None, None)
        if self.location.data_path is not None:
            lake.check_data_path(self.location.data_path)  # before the catalog: one line
        claims = open_claims(self.location)
        lock = CommitLock(self.location, claims)
        try:
            if catalog_exists(self.location, claims):
                con = lake.connect_lake(self.location)
            else:
                # Under the lock: two processes creating one new lake's catalog at once race.
                with lock.held():
                    con = lake.connect_lake(self.location)
        except BaseException:
            claims.close()
            raise
        con.execute("SET enable_progress_bar = false")
        return LakeSession(con, claims, lock)

    def release(self, con: duckdb.DuckDBPyConnection, reusable: bool) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        if not reusable:
            session.close()
            return
        read_only = session.lock is None
        with _pool_lock:
            _pool.setdefault(self._key(read_only), []).append(session)

    def band_index(self, con: duckdb.DuckDBPyConnection) -> BandIndex:
        session = self._writer()
        if session.bands is None:
            session.bands = BandIndex(self.band_index_folder())
            session.bands.open(con)
        return session.bands

    def _writer(self) -> LakeSession:
        if self.session is None or self.session.lock is None or self.session.claims is None:
            raise WarehouseError(f"{self.location.describe()} is open read-only here")
        return self.session

    # -- writing -----------------------------------------------------------------------------

    @contextmanager
    def commit_section(self) -> Iterator[None]:
        lock = self._writer().lock
        assert lock is not None
        with lock.held():
            yield

    migrations_in_one_transaction = True  # one snapshot, as a lake was always migrated

    def retryable_commit(self, exc: BaseException) -> bool:
        text = str(exc)
        return (
            isinstance(exc, duckdb.TransactionException)
            or "Failed to commit DuckLake transaction" in text
            or "database is locked" in text  # a SQLite catalog busy with a reader
        )

    def migration_statements(self, sql: str) -> list[str]:
        return lakeddl.lake_migration(sql)

    def insert_new_sql(
        self, table: str, columns: Sequence[str], source: str, keys: Sequence[str]
    ) -> str:
        cols = ", ".join(columns)
        return f"INSERT INTO {table} ({cols}) {self.new_rows_sql(table, columns, source, keys)}"

    def writer_lock(self, wait: float | None = None) -> None:
        return None

    def allocate_ids(self, con: duckdb.DuckDBPyConnection, name: str, n: int) -> list[int]:
        _check_name(name)
        if n == 0:
            return []
        claims = self._writer().claims
        assert claims is not None
        return claims.allocate(name, n)

    def advance_ids(self, con: duckdb.DuckDBPyConnection, name: str, past: int) -> None:
        _check_name(name)
        claims = self._writer().claims
        assert claims is not None
        claims.advance(name, past)

    def band_index_folder(self) -> Path:
        """Beside a file catalog; for PostgreSQL a cache folder named after the lake (the
        files are a cache: rows newer than them are read from the lake)."""
        if self.location.catalog != "postgres":
            return Path(self.location.target + ".lsh")
        root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache")
        identity = f"{self.location.describe()}|{self.location.data_path}"
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        return root / "news-ingest" / f"lake-{digest}.lsh"

    def checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        """Move rows kept inline in the catalog into Parquet files (a write: in the section)."""
        with self.commit_section():
            con.execute(f"CALL ducklake_flush_inlined_data('{lake.LAKE_ALIAS}')")


def _check_name(name: str) -> None:
    if name not in ID_NAMES:
        raise ValueError(f"no ids named {name!r}; known: {', '.join(sorted(ID_NAMES))}")
