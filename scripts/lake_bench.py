"""The DuckLake half of scripts/benchmark.py (`--warehouse URL`, issue 14).

In the same benchmark run as the file:
- the same pages into a fresh lake, against the run into a DuckDB file (whole-run ratio);
- 1, 2 and 4 concurrent writers sharing the same pages (the feeds dealt round-robin) into one
  fresh lake each, against one Prefect server started beforehand, with exact counts;
- with `--into BIG` as well, the example queries on a copy of BIG in a lake after compaction,
  beside the same queries on BIG itself.

`URL` names the kind of lake: `postgres` (a throwaway PostgreSQL started here, as the tests
do), `ducklake:postgres:<libpq>` (a server of yours: each lake is a new database on it,
dropped at the end), `sqlite` / `ducklake:sqlite:<path>` or `duckdb` / `ducklake:<path>`
(fresh catalog files in the work folder). The benchmark module is passed in as `bench`, so
this file stays free of its globals (it is run as `__main__`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET_LAKE_RATIO = 1.10
WRITER_COUNTS = (1, 2, 4)


@dataclass
class FreshLake:
    url: str
    env: dict[str, str]
    folder: Path


@dataclass
class Lakes:
    """Makes fresh, empty lakes of one kind; `close()` drops what it made."""

    kind: str  # postgres | sqlite | duckdb
    work: Path
    server_conninfo: str | None = None  # an admin connection to create databases with
    owner: str | None = None
    cluster: Any = None
    databases: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.kind != "postgres":
            return f"DuckLake, {self.kind} catalog files in the work folder"
        where = "a throwaway PostgreSQL" if self.cluster is not None else "your PostgreSQL"
        return f"DuckLake, PostgreSQL catalog ({where}, one new database per lake)"

    def fresh(self, name: str) -> FreshLake:
        folder = self.work / "lakes" / name
        folder.mkdir(parents=True)
        if self.kind == "postgres":
            url = "ducklake:postgres:" + self._new_database(name)
        elif self.kind == "sqlite":
            url = f"ducklake:sqlite:{folder / 'catalog.sqlite'}"
        else:
            url = f"ducklake:{folder / 'catalog.ducklake'}"
        env = {
            "NEWS_INGEST_LAKE_DATA": str(folder / "data"),
            "NEWS_INGEST_ARCHIVE": str(folder / "archive"),
            "XDG_CACHE_HOME": str(folder / "cache"),  # a PostgreSQL lake's band index files
        }
        return FreshLake(url, env, folder)

    def _new_database(self, name: str) -> str:
        import psycopg
        from psycopg.conninfo import make_conninfo

        assert self.server_conninfo is not None
        database = f"news_bench_{os.getpid()}_{name}".replace("-", "_")
        owner = f' OWNER "{self.owner}"' if self.owner else ""
        with psycopg.connect(self.server_conninfo, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{database}"{owner}')
        self.databases.append(database)
        conninfo = make_conninfo(self.server_conninfo, dbname=database)
        return conninfo if not self.owner else make_conninfo(conninfo, user=self.owner)

    def close(self) -> None:
        if self.databases and self.server_conninfo is not None:
            import psycopg

            with psycopg.connect(self.server_conninfo, autocommit=True) as con:
                for database in self.databases:
                    with contextlib.suppress(Exception):
                        con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if self.cluster is not None:
            self.cluster.stop()


def open_lakes(spec: str, work: Path) -> Lakes:
    """Lakes of the kind `spec` names (see the module docstring)."""
    if spec == "postgres":
        from tests.pg import find_pg_bin, start_cluster

        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise SystemExit(
                "benchmark: --warehouse postgres needs PostgreSQL's server binaries (initdb);"
                " install Debian's postgresql package or pass ducklake:postgres:<libpq>"
            )
        cluster = start_cluster(bin_dir)
        admin = f"dbname=postgres host=127.0.0.1 port={cluster.port} user=postgres"
        return Lakes("postgres", work, admin, owner="news", cluster=cluster)
    if spec.startswith("ducklake:postgres:"):
        return Lakes("postgres", work, spec.removeprefix("ducklake:postgres:"))
    if spec == "sqlite" or spec.startswith("ducklake:sqlite:"):
        return Lakes("sqlite", work)
    if spec == "duckdb" or spec.startswith("ducklake:"):
        return Lakes("duckdb", work)
    raise SystemExit(
        f"benchmark: --warehouse {spec}: expected postgres, sqlite, duckdb or a ducklake: URL"
    )


def feed_args(urls: list[str]) -> list[str]:
    return [a for u in urls for a in ("--feed", u)]


def lake_sql(lake: FreshLake, sql: str, code_root: Path, env: dict[str, str]) -> list[Any]:
    """Rows of `sql` read through the real CLI (`news-ingest sql --format json`)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "sql",
            "--warehouse",
            lake.url,
            "--format",
            "json",
            sql,
        ],
        cwd=code_root,
        env={**env, **lake.env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"news-ingest sql on {lake.url} failed: {done.stderr.strip()[-500:]}")
    return list(json.loads(done.stdout))


CONTENT_TABLES = (
    "articles", "article_urls", "feed_entries", "authors", "tags", "categories",
    "article_authors", "article_tags", "article_categories", "article_versions",
    "article_signatures", "content_hashes",
)  # fmt: skip
# Row counts of every content table, the clusters, and the keys a lake does not enforce that
# appear more than once (0 when exactly-once holds).
CONTENT_COUNTS = (
    "SELECT "
    + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in CONTENT_TABLES)
    + ", (SELECT count(DISTINCT cluster_id) FROM articles) AS clusters"
    + ", (SELECT count(*) - count(DISTINCT url_key) FROM articles) AS duplicate_articles"
    + ", (SELECT count(*) - count(DISTINCT url_key) FROM article_urls) AS duplicate_urls"
    + ", (SELECT count(*) - count(DISTINCT (feed_id, entry_key)) FROM feed_entries)"
    " AS duplicate_entries"
)


@dataclass
class WriterRound:
    writers: int
    wall_s: float
    runs: list[Any]
    counts: dict[str, Any]
    pages_per_s: float


def run_lake(
    bench: Any, lakes: Lakes, feed_urls: list[str], per_feed: int, work: Path
) -> tuple[Any, dict[str, Any], FreshLake]:
    """The benchmark's main run again, into a fresh lake (its own temporary Prefect server,
    as the file run had)."""
    lake = lakes.fresh("single")
    env = {**bench.cli_env(per_feed), **lake.env}
    run = bench.run_cli(
        "run into a lake",
        ["run", "--warehouse", lake.url, *feed_args(feed_urls)],
        env,
        work / "lake-run.log",
    )
    counts = lake_sql(lake, CONTENT_COUNTS, bench.CODE_ROOT, env)[0]
    return run, counts, lake


def file_counts(path: Path) -> dict[str, Any]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(CONTENT_COUNTS)
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchall()[0], strict=True))


def run_writers(
    bench: Any,
    lakes: Lakes,
    feed_urls: list[str],
    per_feed: int,
    work: Path,
    api_url: str,
    pages: int,
    counts: tuple[int, ...] = WRITER_COUNTS,
) -> list[WriterRound]:
    """For each N: a fresh lake, its feeds dealt round-robin to N `news-ingest run` processes
    started at once against one running Prefect server."""
    rounds = []
    for n in counts:
        lake = lakes.fresh(f"writers-{n}")
        env = {**bench.cli_env(per_feed), **lake.env, "PREFECT_API_URL": api_url}
        shares = [feed_urls[k::n] for k in range(n)]
        began = time.perf_counter()
        results = concurrent_runs(bench, lake.url, env, shares, work / f"writers-{n}")
        wall = time.perf_counter() - began
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:
            raise bench.RunFailed(f"{len(failed)} of {n} writers failed: {failed[0]}")
        found = lake_sql(lake, CONTENT_COUNTS, bench.CODE_ROOT, env)[0]
        rounds.append(WriterRound(n, wall, results, found, pages / wall))
        print(f"  {n} writer(s): {wall:.1f} s, {found['articles']} articles", flush=True)
    return rounds


def concurrent_runs(
    bench: Any, url: str, env: dict[str, str], shares: list[list[str]], log_prefix: Path
) -> list[Any]:
    """`news-ingest run` over each share of the feeds, all started at once; each result is a
    CliRun or the RunFailed it raised."""
    results: list[Any] = [None] * len(shares)

    def one(k: int) -> None:
        try:
            results[k] = bench.run_cli(
                f"writer {k + 1} of {len(shares)}",
                ["run", "--warehouse", url, *feed_args(shares[k])],
                env,
                Path(f"{log_prefix}-{k + 1}.log"),
            )
        except bench.RunFailed as exc:
            results[k] = exc

    threads = [threading.Thread(target=one, args=(k,)) for k in range(len(shares))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def report_lake(
    bench: Any,
    file_run: Any,
    file_found: dict[str, Any],
    lake_run: Any,
    lake_found: dict[str, Any],
    lakes: Lakes,
) -> None:
    t = bench.Table(f"the same pages into a DuckDB file and into a lake ({lakes.describe()})")
    rows: list[tuple[str, float | None, float | None]] = [
        ("wall time, whole run", file_run.wall_s, lake_run.wall_s),
        ("beyond start-up", file_run.beyond_startup_s, lake_run.beyond_startup_s),
        (
            "page phase",
            bench._span(file_run.first("pages_begin"), file_run.last("pages_progress")),
            bench._span(lake_run.first("pages_begin"), lake_run.last("pages_progress")),
        ),
        (
            "feed phase",
            bench._span(file_run.first("feeds_begin"), file_run.first("pages_begin")),
            bench._span(lake_run.first("feeds_begin"), lake_run.first("pages_begin")),
        ),
    ]
    for label, a, b in rows:
        note = f"ratio {b / a:.2f}" if a and b else ""
        if label == "wall time, whole run" and a and b:
            note += f"; target <= {TARGET_LAKE_RATIO}: {bench._verdict(b / a <= TARGET_LAKE_RATIO)}"
        t.add(label, f"{bench._s(a)} -> {bench._s(b)}", note)
    same = file_found == lake_found
    t.add(
        "content counts",
        "equal" if same else "DIFFER",
        ", ".join(f"{k}={lake_found[k]}" for k in lake_found)
        + ("" if same else f" (file: {file_found})"),
    )
    peak = lake_run.peak_process()
    if peak is not None:
        t.add("peak RSS, lake run", f"{peak.hwm_kb / 1024:.0f} MiB", peak.kind)
    t.add(
        "CPU of other processes",
        f"{file_run.foreign_cpu_s:.1f} s -> {lake_run.foreign_cpu_s:.1f} s",
        "noise, not ours",
    )
    t.print()


def report_writers(bench: Any, rounds: list[WriterRound], file_found: dict[str, Any]) -> None:
    t = bench.Table(
        "concurrent writers into one lake: the same pages, feeds dealt round-robin,"
        " one Prefect server started beforehand"
    )
    base = rounds[0].wall_s if rounds else None
    for r in rounds:
        exact = r.counts == file_found
        speed = f"x{base / r.wall_s:.2f} against 1 writer" if base else ""
        worst = max(w.wall_s for w in r.runs)
        t.add(
            f"{r.writers} writer(s)",
            bench._s(r.wall_s),
            f"{r.pages_per_s:.1f} pages/s, {speed}, slowest writer {worst:.1f} s;"
            f" counts {'exact' if exact else 'DIFFER: ' + json.dumps(r.counts)}",
        )
    t.print()


@contextlib.contextmanager
def prefect_server(bench: Any) -> Iterator[str]:
    """One Prefect API server for the writers (flows.api.TemporaryServer, as `run` starts)."""
    from flows.api import TemporaryServer

    server = TemporaryServer()
    server.start()
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def queries_at_scale(
    bench: Any, lakes: Lakes, big: Path, work: Path, repeat: int = 3
) -> list[tuple[str, float, float, float, float]]:
    """BIG copied into a fresh lake with `news-ingest warehouse copy`, compacted by the lake
    maintenance the nightly flow runs, then every view and example query timed on both
    (cold = first run after opening, warm = median of `repeat`)."""
    from datetime import timedelta

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import warehouse_scale

    from pipeline.lake import parse_warehouse_url
    from pipeline.store import Warehouse
    from pipeline.warehouse_ops.maintenance import maintain_location

    # Opened for writing once: its views become this code's (a read-only open keeps the ones
    # stored by whichever code last wrote it; the file's old topic view spilled 60 GB).
    Warehouse(big).close()
    lake = lakes.fresh("at-scale")
    env = {**bench.cli_env(200), **lake.env}
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "warehouse", "copy", "--warehouse", str(big),
         "--to", lake.url, "--data", lake.env["NEWS_INGEST_LAKE_DATA"]],
        cwd=bench.CODE_ROOT, env=env, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"warehouse copy failed: {done.stderr.strip()[-800:]}")
    copy_s = time.perf_counter() - began
    location = parse_warehouse_url(lake.url, lake.env["NEWS_INGEST_LAKE_DATA"])
    began = time.perf_counter()
    maintained = maintain_location(location, expire_older_than=timedelta(0))
    maintain_s = time.perf_counter() - began
    print(
        f"  copied {big} into the lake in {copy_s:.1f} s; maintenance {maintain_s:.1f} s:"
        f" {json.dumps(maintained, default=str)}",
        flush=True,
    )
    for key, value in lake.env.items():
        os.environ[key] = value  # Warehouse(url) reads the data path from the environment
    print(f"  {'query':<36} {'file cold':>9} {'warm':>7} {'lake cold':>9} {'warm':>7}  (ms)")
    out = []
    for name, sql in warehouse_scale.workload():
        fc, fw, n_file = time_query(big, sql, repeat)
        lc, lw, n_lake = time_query(lake.url, sql, repeat)
        flag = "" if n_file == n_lake else f"  rows differ: {n_file} / {n_lake}"
        over = "  OVER 1 s" if max(lc, lw) > 1 else ""
        print(
            f"  {name:<36} {fc * 1000:>9.0f} {fw * 1000:>7.0f} {lc * 1000:>9.0f}"
            f" {lw * 1000:>7.0f}{over}{flag}",
            flush=True,
        )
        out.append((name, fc, fw, lc, lw))
    return out


def time_query(where: Path | str, sql: str, repeat: int) -> tuple[float, float, int]:
    """(cold, warm median, rows): cold is the first run after opening the warehouse."""
    import statistics

    from pipeline.store import Warehouse

    with Warehouse(where, read_only=True) as wh:
        began = time.perf_counter()
        rows = wh.sql(sql)
        cold = time.perf_counter() - began
        warm = []
        for _ in range(repeat):
            began = time.perf_counter()
            wh.sql(sql)
            warm.append(time.perf_counter() - began)
    return cold, statistics.median(warm), len(rows)


def report_queries(bench: Any, rows: list[tuple[str, float, float, float, float]]) -> None:
    t = bench.Table("views and example queries, the big file against its copy in a lake (warm)")
    slowest = max(rows, key=lambda r: max(r[3], r[4]))
    over = [r[0] for r in rows if max(r[3], r[4]) > 1]
    t.add("queries", str(len(rows)), "every view (count, all columns) and warehouse/queries/*.sql")
    t.add(
        "slowest on the lake",
        f"{max(slowest[3], slowest[4]) * 1000:.0f} ms",
        f"{slowest[0]} (file: {max(slowest[1], slowest[2]) * 1000:.0f} ms)",
    )
    t.add("over 1 s on the lake", str(len(over)), ", ".join(over))
    file_total = sum(r[2] for r in rows)
    lake_total = sum(r[4] for r in rows)
    t.add(
        "sum of warm times",
        f"{file_total:.2f} s -> {lake_total:.2f} s",
        f"ratio {lake_total / file_total:.2f}" if file_total else "",
    )
    t.print()
