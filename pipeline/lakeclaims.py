"""Key claims: one id per key across every process writing a lake.

DuckLake has no UNIQUE constraint, and two transactions MERGE-inserting the same new key both
commit (the row is there twice). So a writer first claims its keys (an article's URL key, a
feed's URL, a name key) in a table with a real unique key, beside the lake's catalog: the
PostgreSQL catalog database, or for a SQLite or DuckDB catalog a SQLite file next to it. The
claim hands out the key's id, from a real sequence (PostgreSQL) or a counter row (SQLite), and
says whether this call made it: only the caller that newly claimed a key inserts its row.

A claim is not part of the lake's transaction. A writer that dies between its claim and its
lake commit leaves the claim without a row; `claim` then returns the key as not new, with its id,
and the caller's MERGE by that id (or a check of the lake) fills the gap.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Protocol

from pipeline.errors import LakeConfigError
from pipeline.lake import WarehouseLocation

CLAIMS_TABLE = "news_ingest_claims"
_NAMESPACE = re.compile(r"[a-z][a-z0-9_]{0,40}")
_DEADLOCK_RETRIES = 5


class Claim(NamedTuple):
    id: int
    new: bool  # this call claimed the key: its caller writes the row


class KeyClaims(Protocol):
    def claim(self, namespace: str, keys: Sequence[str]) -> dict[str, Claim]: ...
    def allocate(self, namespace: str, n: int) -> list[int]: ...
    def advance(self, namespace: str, past: int) -> None: ...
    def close(self) -> None: ...


def _check_namespace(namespace: str) -> str:
    # The namespace names a sequence, so it is held to identifier characters.
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"claim namespace {namespace!r}: lower-case letters, digits and _ only")
    return namespace


class PostgresKeyClaims:
    """Claims in the PostgreSQL catalog database, through psycopg (parameters, RETURNING and a
    real unique key: simpler and safer than SQL built for DuckDB's postgres_execute)."""

    def __init__(self, conninfo: str, table: str = CLAIMS_TABLE) -> None:
        try:
            import psycopg
        except ImportError:
            raise LakeConfigError(
                "key claims on PostgreSQL need psycopg: pip install 'news-ingest[lake]'"
            ) from None
        self._errors = psycopg.errors
        self.table = _check_namespace(table)
        self.con: Any = psycopg.connect(conninfo, autocommit=True)
        with self.con.transaction():
            # Several processes may set up at once: CREATE ... IF NOT EXISTS still races in
            # PostgreSQL's own catalog, so the set-up is serialised on an advisory lock.
            self.con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self.table])
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (namespace text NOT NULL,"
                " key text NOT NULL, id bigint NOT NULL,"
                " claimed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (namespace, key))"
            )
        self._sequences: set[str] = set()

    def _sequence(self, namespace: str) -> str:
        name = f"{self.table}_{_check_namespace(namespace)}_id"
        if name not in self._sequences:
            with self.con.transaction():
                self.con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
                self.con.execute(f"CREATE SEQUENCE IF NOT EXISTS {name}")
            self._sequences.add(name)
        return name

    def allocate(self, namespace: str, n: int) -> list[int]:
        """n fresh ids of the namespace's sequence (for rows that need no claim: runs, fetches)."""
        sequence = self._sequence(namespace)
        rows = self.con.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, n]
        ).fetchall()
        return [row[0] for row in rows]

    def advance(self, namespace: str, past: int) -> None:
        """Make every id allocated from now on greater than `past` (after explicit ids)."""
        sequence = self._sequence(namespace)
        # A bulk load's follow-up (one process): ids drawn meanwhile elsewhere are not expected.
        last, called = self.con.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone()
        if past > (last if called else last - 1):
            self.con.execute("SELECT setval(%s::regclass, %s)", [sequence, past])

    def claim(self, namespace: str, keys: Sequence[str]) -> dict[str, Claim]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        sequence = self._sequence(namespace)
        for attempt in range(_DEADLOCK_RETRIES):
            try:
                return self._claim_once(namespace, wanted, sequence)
            except self._errors.DeadlockDetected:
                if attempt == _DEADLOCK_RETRIES - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _claim_once(self, namespace: str, wanted: list[str], sequence: str) -> dict[str, Claim]:
        select = f"SELECT key, id FROM {self.table} WHERE namespace = %s AND key = ANY(%s)"
        found = {k: Claim(i, False) for k, i in self.con.execute(select, [namespace, wanted])}
        missing = [k for k in wanted if k not in found]
        if missing:
            # Sorted, so two claimers of overlapping keys wait on each other in one order.
            inserted = self.con.execute(
                f"INSERT INTO {self.table} (namespace, key, id)"
                " SELECT %s, key, nextval(%s::regclass) FROM unnest(%s::text[]) AS k(key)"
                " ORDER BY key ON CONFLICT DO NOTHING RETURNING key, id",
                [namespace, sequence, missing],
            ).fetchall()
            found.update({k: Claim(i, True) for k, i in inserted})
            # Keys another process claimed while we looked: its insert has committed (ours
            # waited on it), and this new statement's snapshot sees it.
            lost = [k for k in missing if k not in found]
            if lost:
                found.update(
                    {k: Claim(i, False) for k, i in self.con.execute(select, [namespace, lost])}
                )
        return found

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> PostgresKeyClaims:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SqliteKeyClaims:
    """Claims in a SQLite file: a unique key and a counter row per namespace, each claim one
    IMMEDIATE transaction (SQLite has one writer at a time; others wait up to `timeout`)."""

    def __init__(self, path: str | Path, table: str = CLAIMS_TABLE, timeout: float = 60.0) -> None:
        self.table = _check_namespace(table)
        # Not tied to its thread: a pooled lake session (pipeline/store/lakebackend.py) is used
        # by one thread at a time, but not always the one that opened it (WebSub's worker).
        self.con = sqlite3.connect(
            str(path), timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (namespace TEXT NOT NULL, key TEXT NOT NULL,"
            " id INTEGER NOT NULL, claimed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
            " PRIMARY KEY (namespace, key)) WITHOUT ROWID"
        )
        self.con.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table}_ids (namespace TEXT PRIMARY KEY,"
            " last_id INTEGER NOT NULL)"
        )

    def _take_ids(self, namespace: str, n: int) -> list[int]:
        """n ids from the namespace's counter; inside the caller's transaction."""
        row = self.con.execute(
            f"INSERT INTO {self.table}_ids (namespace, last_id) VALUES (?, ?)"
            " ON CONFLICT (namespace) DO UPDATE SET last_id = last_id + excluded.last_id"
            " RETURNING last_id",
            [namespace, n],
        ).fetchone()
        last = int(row[0])
        return list(range(last - n + 1, last + 1))

    def allocate(self, namespace: str, n: int) -> list[int]:
        _check_namespace(namespace)
        self.con.execute("BEGIN IMMEDIATE")
        try:
            ids = self._take_ids(namespace, n)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return ids

    def advance(self, namespace: str, past: int) -> None:
        _check_namespace(namespace)
        self.con.execute(
            f"INSERT INTO {self.table}_ids (namespace, last_id) VALUES (?, ?)"
            " ON CONFLICT (namespace) DO UPDATE SET last_id = max(last_id, excluded.last_id)",
            [namespace, past],
        )

    def claim(self, namespace: str, keys: Sequence[str]) -> dict[str, Claim]:
        _check_namespace(namespace)
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        self.con.execute("BEGIN IMMEDIATE")  # the write lock first: no one claims in between
        try:
            found: dict[str, Claim] = {}
            for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
                chunk = wanted[start : start + 500]
                rows = self.con.execute(
                    f"SELECT key, id FROM {self.table} WHERE namespace = ? AND key IN"
                    f" ({', '.join('?' * len(chunk))})",
                    [namespace, *chunk],
                ).fetchall()
                found.update({k: Claim(int(i), False) for k, i in rows})
            missing = [k for k in wanted if k not in found]
            if missing:
                ids = self._take_ids(namespace, len(missing))
                self.con.executemany(
                    f"INSERT INTO {self.table} (namespace, key, id) VALUES (?, ?, ?)",
                    [(namespace, k, i) for k, i in zip(missing, ids, strict=True)],
                )
                found.update({k: Claim(i, True) for k, i in zip(missing, ids, strict=True)})
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return found

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> SqliteKeyClaims:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def claims_path(location: WarehouseLocation) -> Path:
    """The SQLite claims file beside a file catalog: its own file, so claims never wait on the
    catalog's lock (SQLite catalogs already see 'database is locked' under several writers)."""
    return Path(location.target + ".claims")


def open_key_claims(location: WarehouseLocation) -> PostgresKeyClaims | SqliteKeyClaims:
    """The key claims for a lake: in its PostgreSQL catalog database, else a SQLite file."""
    if location.catalog == "postgres":
        return PostgresKeyClaims(location.target)
    if location.catalog in ("sqlite", "duckdb"):
        return SqliteKeyClaims(claims_path(location))
    raise LakeConfigError(f"{location.target} is a plain DuckDB warehouse: its keys are its own")
