"""A throwaway PostgreSQL cluster for tests: initdb in a temporary folder, a server on a free
loopback port, one database and role, then stop and remove it all.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
(Debian's package creates it) and its commands run through `runuser`; the folder lives under
/tmp, which that user can reach (not under /root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DATABASE = "news"
ROLE = "news"


BIN_ENV = "NEWS_INGEST_TEST_PG_BIN"


def find_pg_bin() -> Path | None:
    """PostgreSQL's bin folder: NEWS_INGEST_TEST_PG_BIN, else the newest in Debian's layout, else
    the one on PATH; None when there is none (or the folder named holds no initdb)."""
    named = os.environ.get(BIN_ENV)
    if named:
        return Path(named) if (Path(named) / "initdb").is_file() else None
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresCluster:
    """A running throwaway cluster; `conninfo` is a libpq connection string to its database."""

    bin_dir: Path
    root: Path
    port: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def conninfo(self) -> str:
        return f"dbname={DATABASE} host=127.0.0.1 port={self.port} user={ROLE}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done

    def stop(self) -> None:
        """Stop the server (immediate: the cluster is thrown away) and remove its folder."""
        if (self.data_dir / "postmaster.pid").exists():
            # Already gone: the folder goes all the same.
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(bin_dir: Path) -> PostgresCluster:
    """initdb, start on a free loopback port, create the role and database; time each step."""
    root = Path(tempfile.mkdtemp(prefix="news-ingest-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")  # KeyError: no such user, the caller reports it
        os.chown(root, postgres.pw_uid, postgres.pw_gid)
    cluster = PostgresCluster(bin_dir=bin_dir, root=root, port=_free_port())
    try:
        began = time.perf_counter()
        cluster._run(
            "initdb",
            "-D",
            str(cluster.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        cluster.timings["initdb_s"] = time.perf_counter() - began
        began = time.perf_counter()
        options = (
            f"-p {cluster.port} -c listen_addresses=127.0.0.1 -k {root}"
            " -c fsync=off -c full_page_writes=off -c max_connections=50"
        )
        cluster._run(
            "pg_ctl",
            "start",
            "-D",
            str(cluster.data_dir),
            "-w",
            "-t",
            "60",
            "-l",
            str(root / "server.log"),
            "-o",
            options,
        )
        cluster.timings["start_s"] = time.perf_counter() - began
        began = time.perf_counter()
        admin = f"-h 127.0.0.1 -p {cluster.port} -U postgres"
        cluster._run(
            "psql",
            *admin.split(),
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"CREATE ROLE {ROLE} LOGIN",
        )
        cluster._run("createdb", *admin.split(), "-O", ROLE, DATABASE)
        cluster.timings["create_db_s"] = time.perf_counter() - began
    except BaseException:
        log = root / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        cluster.stop()
        if tail:
            raise RuntimeError(f"PostgreSQL did not start; its log ends:\n{tail}") from None
        raise
    return cluster


def drop_lake_tables(conninfo: str) -> None:
    """Empty the database for the next lake: DuckLake's catalog tables, our claims, sequences."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as con:
        tables = con.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND (tablename LIKE 'ducklake%' OR tablename LIKE 'news_ingest%')"
        ).fetchall()
        for (table,) in tables:
            con.execute(f'DROP TABLE "{table}" CASCADE')
        sequences = con.execute(
            "SELECT sequencename FROM pg_sequences WHERE sequencename LIKE 'news_ingest%'"
        ).fetchall()
        for (sequence,) in sequences:
            con.execute(f'DROP SEQUENCE "{sequence}"')
