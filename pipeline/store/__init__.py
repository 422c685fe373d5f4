"""The warehouse: one facade (Warehouse) over the store's modules, one module a concern:
connection (backend seam, writer lock), migrate, schemas, feeds, runs, entries, articles,
versions, names, clusters."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipeline.errors import WarehouseBusy, WarehouseError
from pipeline.lake import WarehouseLocation, parse_warehouse_url
from pipeline.lsh import BandIndex
from pipeline.names import name_key
from pipeline.records import (
    Article,
    Entry,
    FeedResult,
    FeedState,
    PageResult,
    PendingPage,
    RevisitResult,
    RevisitTarget,
    StoredPage,
)
from pipeline.revisit import Schedule
from pipeline.store import (
    articles,
    clusters,
    edits,
    feeds,
    migrate,
    revisits,
    runs,
    versions,
    websub,
)
from pipeline.store import entries as feed_entries
from pipeline.store.connection import (
    Backend,
    FileBackend,
    WarehouseConnection,
    WriterLock,
)
from pipeline.store.lakebackend import (
    SECTION_STATS,
    LakeBackend,
    SectionStats,
    close_pooled_sessions,
)
from pipeline.store.retry import MAX_PAGE_ATTEMPTS, page_retryable
from pipeline.store.rows import article_row
from pipeline.store.timing import observe_steps, timed_step
from pipeline.websub import PushPolling, Subscription

__all__ = [
    "MAX_PAGE_ATTEMPTS",
    "Backend",
    "FeedResult",
    "FileBackend",
    "LakeBackend",
    "PageResult",
    "PendingPage",
    "StoredPage",
    "Warehouse",
    "WarehouseBusy",
    "WarehouseError",
    "WarehouseLocation",
    "WriterLock",
    "SectionStats",
    "close_pooled_sessions",
    "commit_section_stats",
    "name_key",
    "observe_steps",
    "writer_lock",
    "page_retryable",
]


def commit_section_stats() -> SectionStats:
    """This process's lake commit sections so far (none on a file): count, waits, holding."""
    return SECTION_STATS


def writer_lock(path: str | Path, wait: float | None = None) -> WriterLock | None:
    """The lock a writing run holds for its whole length: a file's WriterLock; None for a lake,
    whose write steps are serialised by its commit lock instead."""
    location = parse_warehouse_url(path)
    return None if location.is_lake else FileBackend(Path(path)).writer_lock(wait)


class Warehouse:
    """One warehouse, opened through its backend: a DuckDB file (open it read-write in exactly
    one process, DuckDB's rule), or a DuckLake named by a `ducklake:` URL (pipeline.lake), which
    many processes write at once, each write step in the lake's commit section.

    `wait` is how long to keep trying while another process has the file open (a run between
    its write steps, a reader): it then gets its turn instead of an error."""

    def __init__(
        self,
        path: str | Path | WarehouseLocation,
        read_only: bool = False,
        migrate: bool = True,
        wait: float = 0.0,
    ) -> None:
        self.location = path if isinstance(path, WarehouseLocation) else parse_warehouse_url(path)
        file = Path(self.location.target if isinstance(path, WarehouseLocation) else path)
        self.backend: Backend = (
            LakeBackend(self.location) if self.location.is_lake else FileBackend(file)
        )
        # A file warehouse's path (a lake's catalog as given: use `location` for lakes).
        self.path = file
        self.read_only = read_only
        con = self.backend.connect(read_only, wait)
        # The band index files' state (rows, batch, folder) is public to read.
        self.bands = BandIndex(self.backend.band_index_folder())
        self._db = WarehouseConnection(con, self.backend, self.bands)
        try:
            if not read_only:
                if migrate:
                    self.migrate()
                self.bands = self._db.bands = self.backend.band_index(con)
        except BaseException:
            self.backend.release(con, reusable=False)
            raise

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self._close(reusable=kind is None)

    def close(self) -> None:
        self._close(reusable=True)

    def _close(self, reusable: bool) -> None:
        self.backend.release(self._db.con, reusable)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Every write of the store methods called inside commits together, or none."""
        with self._db.transaction():
            yield

    # -- schema ---------------------------------------------------------------------------------

    @staticmethod
    def migrations() -> list[migrate.Migration]:
        return migrate.migrations()

    def migrate(self) -> list[int]:
        """Apply the migrations not yet recorded, in one transaction; recreate the views."""
        return self._db.write_step(migrate.migrate)

    # -- feeds and runs -------------------------------------------------------------------------

    def add_feeds(self, urls: Sequence[str], titles: Sequence[str | None] | None = None) -> int:
        return self._db.write_step(feeds.add_feeds, urls, titles)

    def feed_states(
        self,
        urls: Sequence[str] | None = None,
        due: bool = False,
        pushed: PushPolling | None = None,
    ) -> list[FeedState]:
        return self._db.write_step(feeds.feed_states, urls, due, pushed)

    def list_feeds(self) -> list[dict[str, Any]]:
        return feeds.list_feeds(self._db)

    def record_feed_results(self, run_id: int, results: list[FeedResult]) -> dict[str, int]:
        return self._db.write_step(feeds.record_feed_results, run_id, results)

    def feed_health(self, silent_after: timedelta) -> list[dict[str, Any]]:
        return feeds.feed_health(self._db, silent_after)

    # -- WebSub ---------------------------------------------------------------------------------

    def subscriptions(self, feed_ids: Sequence[int] | None = None) -> list[Subscription]:
        return websub.subscriptions(self._db, feed_ids)

    def save_subscriptions(self, subs: Sequence[Subscription], checked_at: datetime) -> None:
        self._db.write_step(websub.save_subscriptions, subs, checked_at)

    def record_push(self, feed_id: int, at: datetime, accepted: bool) -> None:
        self._db.write_step(websub.record_push, feed_id, at, accepted)

    def start_run(self, mode: str = "manual") -> int:
        return self._db.write_step(runs.start_run, mode)

    def finish_run(
        self,
        run_id: int,
        counts: dict[str, int],
        status: str = "completed",
        error: str | None = None,
    ) -> None:
        self._db.write_step(runs.finish_run, run_id, counts, status, error)

    # -- entries, pages, articles ---------------------------------------------------------------

    def pending_pages(
        self, limit: int | None = None, feed_ids: Sequence[int] | None = None
    ) -> list[PendingPage]:
        return feed_entries.pending_pages(self._db, limit, feed_ids)

    def add_backfill_entries(
        self, run_id: int, source: str, entries: Sequence[Entry]
    ) -> dict[str, int]:
        return self._db.write_step(feed_entries.add_backfill_entries, run_id, source, entries)

    def record_page_results(
        self, run_id: int, results: list[PageResult], now: datetime | None = None
    ) -> dict[str, int]:
        with timed_step("record_pages", len(results)):
            return self._db.write_step(articles.record_page_results, run_id, results, now)

    # -- edit tracking ----------------------------------------------------------------------------

    def plan_revisits(
        self,
        now: datetime,
        schedule: Schedule,
        budget: int,
        per_host: int,
        all_watched: bool = False,
    ) -> tuple[list[RevisitTarget], dict[str, int]]:
        """The watched articles due for a revisit now (pipeline.revisit's schedule), those
        past the window unwatched; with the plan's counts."""
        with self._db.transaction():
            return edits.plan_revisits(self._db, now, schedule, budget, per_host, all_watched)

    def edit_counts(self, run_id: int) -> dict[str, int]:
        """The run's new versions per kind of change: `edits_<kind>`."""
        rows = self._db.con.execute(
            "SELECT kind, count(*) FROM article_changes WHERE run_id = ? GROUP BY kind",
            [run_id],
        ).fetchall()
        return {f"edits_{kind}": int(n) for kind, n in rows}

    def record_revisits(
        self, run_id: int, results: list[RevisitResult], now: datetime | None = None
    ) -> dict[str, int]:
        return self._db.write_step(revisits.record_revisits, run_id, results, now)

    def stored_pages(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        site: str | None = None,
    ) -> list[StoredPage]:
        return versions.stored_pages(self._db, since, until, site)

    def record_reextraction(self, results: list[tuple[int, Article]]) -> dict[str, int]:
        return self._db.write_step(versions.record_reextraction, results)

    # -- clusters and the band index ------------------------------------------------------------

    def refresh_band_index(self, force: bool = False) -> bool:
        return clusters.refresh_band_index(self._db, force)

    def rebuild_band_index(self) -> int:
        """Rewrite the band index files now; returns the band rows written."""
        return clusters.rebuild_band_index(self._db)

    def stale_band_rows(self) -> int:
        """Band rows newer than the band index files."""
        return clusters.stale_band_rows(self._db)

    def band_candidates(self, probe_rows: list[dict[str, Any]]) -> dict[int, set[int]]:
        """Stored articles sharing a band with each probe row's article (rows of `band`,
        `band_hash`, `article_id`)."""
        return clusters.band_candidates(self._db, probe_rows)

    def cluster_batch(self, batch: list[Article], ids: list[int], now: datetime) -> int:
        """Cluster new articles under the given ids, as record_page_results does (signatures,
        bands, content hashes and duplicate rows written, the articles rows not): for
        benchmarks. Returns how many matched an earlier article."""
        rows = [article_row(a, i, None, now, None) for a, i in zip(batch, ids, strict=True)]
        return clusters.cluster_articles(self._db, rows, batch, now)

    # -- reading --------------------------------------------------------------------------------

    def query(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of any statement (the CLI's `query`)."""
        return self._db.query(sql, params)

    def sql(self, query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement (SELECT, WITH ... SELECT, DESCRIBE)."""
        statements = self._db.con.extract_statements(query)
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise ValueError(f"sql() reads, one SELECT at a time: {query[:80]!r}")
        return self._db.con.execute(query, params or []).fetchall()

    def counts(self) -> dict[str, int]:
        return runs.table_counts(self._db)

    @property
    def search_index_path(self) -> Path:
        """The full-text index file (pipeline.search): beside the band index files, which are
        beside a file warehouse or a file catalog, or in a PostgreSQL lake's cache folder."""
        folder = self.backend.band_index_folder()
        return folder.with_name(folder.name.removesuffix(".lsh") + ".search")

    # -- maintenance, benchmarks and tests ------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement for its effect, bypassing the store's rules: for maintenance,
        test setup and benchmark data, never for the pipeline's own writes."""
        self._db.con.execute(sql, params or [])

    def load_table(self, table: str, data: pa.Table) -> None:
        """Bulk-insert an Arrow table into `table`, by column name (explicit ids included:
        call advance_ids afterwards)."""
        self._db.load_arrow(table, data)

    def allocate_ids(self, name: str, n: int) -> list[int]:
        """`n` new ids of `name` (article_id, fetch_id, feed_id, ...), as the store draws them."""
        return self._db.allocate(name, n)

    def advance_ids(self, name: str, past: int) -> None:
        """Make ids of `name` allocated from now on greater than `past`."""
        self.backend.advance_ids(self._db.con, name, past)

    def checkpoint(self) -> None:
        """Fold pending writes (DuckDB's write-ahead log) into the warehouse proper."""
        self.backend.checkpoint(self._db.con)

    @contextmanager
    def rolled_back(self) -> Iterator[None]:
        """Run writes and undo them (benchmarks: every measurement sees the same warehouse);
        transactions inside join this one."""
        with self._db.rolled_back():
            yield
