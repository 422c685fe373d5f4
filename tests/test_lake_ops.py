"""Warehouse operations (pipeline.warehouse_ops): lake maintenance, snapshots and time travel,
warehouse info, and copying a file warehouse into a lake and back."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipeline import lake
from pipeline.errors import LakeConfigError, WarehouseError
from pipeline.lake import WarehouseLocation, parse_warehouse_url
from pipeline.records import Article, Entry, FeedResult, Fetch, PageResult, ParsedFeed
from pipeline.store import Warehouse
from pipeline.urls import url_key
from pipeline.warehouse_ops import (
    SnapshotRef,
    connect_at,
    copy_warehouse,
    list_snapshots,
    maintain_lake,
    maintenance_report_lines,
    parse_snapshot_ref,
    warehouse_info,
)
from pipeline.warehouse_ops.copy import ID_COLUMNS
from pipeline.warehouse_ops.snapshots import current_snapshot

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STORY = (
    "The city council voted on Tuesday to approve a new budget for the coming year, after a"
    " long debate about spending on schools, roads and public transport. The mayor said the"
    " plan would keep taxes flat while adding two hundred teachers and repairing the old bridge"
    " over the river, which has been closed to heavy traffic since the spring floods."
)


def _fetch(url: str, kind: str, feed_id: int | None = None) -> Fetch:
    body = b"<rss/>" if kind == "feed" else b"<html/>"
    return Fetch(
        url=url, kind=kind, started_at=T0, status=200, final_url=url, body=body,
        headers={"content-type": "text/html"}, redirects=[], feed_id=feed_id, elapsed_ms=5,
    )


def _article(url: str, text: str, site: str, n: int) -> Article:
    return Article(
        url=url, canonical_url=url, url_key=url_key(url), title=f"Headline {n}", text=text,
        published_at=T0 + timedelta(hours=n), site_name=site, authors=[f"Writer {n % 3}"],
        categories=["Local"], tags=["Budget", f"Tag{n % 4}"], content_hash=f"hash-{url}",
        extractor_version="test-1", provenance={"title": "page"},
    )


def build_file_warehouse(path: Path, sites: int = 3, per_site: int = 6) -> dict[str, int]:
    """A file warehouse written by the store from made-up feeds and pages: feeds, runs,
    fetches, entries, articles with authors, categories and tags, signatures and bands, and a
    near-duplicate story on every site. Returns its tables' row counts."""
    with Warehouse(path) as wh:
        urls = [f"https://site{s}.example/feed.xml" for s in range(sites)]
        states = wh.feed_states(urls)
        run_id = wh.start_run()
        results = []
        for s, state in enumerate(states):
            entries = [
                Entry(guid=f"g{s}-{i}", link=f"https://site{s}.example/story-{i}",
                      title=f"Story {i}", summary="summary")
                for i in range(per_site)
            ]
            parsed = ParsedFeed(title=f"Site {s}", site_url=f"https://site{s}.example/",
                                entries=entries, format="rss20", ttl_minutes=30)
            results.append(FeedResult(feed=state, fetch=_fetch(state.url, "feed", state.feed_id),
                                      parsed=parsed))
        feed_counts = wh.record_feed_results(run_id, results)
        pages = []
        for n, page in enumerate(wh.pending_pages()):
            site = page.url.split("/")[2]
            # Story 0 on every site is the same report: one cluster across the sites.
            own = " ".join(f"word{n}x{k}" for k in range(80))
            text = STORY if page.url.endswith("story-0") else f"Report {n}: {own}"
            pages.append(PageResult(page=page, fetch=_fetch(page.url, "page"),
                                    article=_article(page.url, text, site, n)))
        page_counts = wh.record_page_results(run_id, pages)
        wh.finish_run(run_id, {**feed_counts, **page_counts})
        names, rows = wh.query(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1"
        )
        return {t: int(wh.query(f"SELECT count(*) FROM {t}")[1][0][0]) for (t,) in rows}


# -- helpers ------------------------------------------------------------------------------------


def file_location(path: Path) -> WarehouseLocation:
    return parse_warehouse_url(path, env={})


def write_commits(location: WarehouseLocation, commits: int, rows: int = 100) -> None:
    """`commits` inserts of `rows` rows into lake table t, each its own Parquet file."""
    con = lake.connect_lake(location, inlining_row_limit=0)
    try:
        con.execute("CREATE TABLE IF NOT EXISTS t (id BIGINT NOT NULL, v VARCHAR)")
        start = int(con.execute("SELECT coalesce(max(id) + 1, 0) FROM t").fetchall()[0][0])
        for i in range(commits):
            con.execute(
                "INSERT INTO t SELECT range, 'row ' || range FROM range(?, ?)",
                [start + i * rows, start + (i + 1) * rows],
            )
    finally:
        con.close()


def table_sums(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    count, total, distinct = con.execute(
        "SELECT count(*), sum(id), count(DISTINCT id) FROM t"
    ).fetchall()[0]
    return int(count), int(total), int(distinct)


def assert_same_contents(a: Path, b: Path) -> None:
    """Every table of two file warehouses holds the same rows (as multisets)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    tables = [
        t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'a' ORDER BY 1"
        ).fetchall()
    ]
    assert len(tables) > 10
    for t in tables:
        for x, y in (("a", "b"), ("b", "a")):
            extra = con.execute(
                f"SELECT count(*) FROM (FROM {x}.main.{t} EXCEPT ALL FROM {y}.main.{t})"
            ).fetchall()[0][0]
            assert extra == 0, f"{t}: {extra} rows of {x} are not in {y}"
    con.close()


# -- maintenance --------------------------------------------------------------------------------


def test_maintenance_compacts_200_commits_expires_and_deletes(
    lake_location: WarehouseLocation,
) -> None:
    write_commits(lake_location, 100)
    time.sleep(0.05)
    midway = datetime.now(UTC)
    time.sleep(0.05)
    write_commits(lake_location, 100)
    con = lake.connect_lake(lake_location)
    try:
        before = table_sums(con)
        old_ids = [s["snapshot_id"] for s in list_snapshots(con, "lake")]
        result = maintain_lake(
            con,
            "lake",
            expire_older_than=datetime.now(UTC) - midway,
            delete_grace=timedelta(0),
            data_path=lake_location.data_path,
        )
        assert table_sums(con) == before == (20_000, sum(range(20_000)), 20_000)
        kept = [s["snapshot_id"] for s in list_snapshots(con, "lake")]
    finally:
        con.close()
    print("maintenance:", maintenance_report_lines(result))
    assert result["data_files_before"] == 200
    assert result["data_files_after"] <= 3
    assert result["files_merged"] >= 199
    assert result["files_on_disk_before"] == 200 and result["files_on_disk_after"] <= 3
    # The snapshots before midway (schema, table and the first 100 inserts) are gone, the
    # later ones listed; the files they alone needed were deleted with the merged ones.
    expired = [i for i in old_ids if i not in kept]
    assert result["snapshots_expired"] == len(expired) >= 100
    assert min(kept) > max(expired)
    assert result["snapshots_after"] == len(kept) == len(old_ids) - len(expired) + 1  # + merge
    assert result["files_deleted"] >= 199
    # A snapshot kept still reads as it was, from the merged file; an expired one is refused.
    reader = connect_at(lake_location, min(kept))
    try:
        assert 10_000 < reader.execute("SELECT count(*) FROM t").fetchall()[0][0] < 20_000
    finally:
        reader.close()
    with pytest.raises(LakeConfigError):
        connect_at(lake_location, expired[-1]).close()


def test_maintenance_keeps_fresh_files_for_the_grace_and_deletes_old_orphans(
    tmp_path: Path,
) -> None:
    location = parse_warehouse_url(f"ducklake:sqlite:{tmp_path}/c.sqlite", env={})
    write_commits(location, 20)
    folder = Path(str(location.data_path)) / "main" / "t"
    stray, fresh = folder / "crashed-writer.parquet", folder / "being-written.parquet"
    stray.write_bytes(b"PAR1 half a file")
    fresh.write_bytes(b"PAR1 half a file")
    long_ago = time.time() - 3 * 86400
    os.utime(stray, (long_ago, long_ago))
    con = lake.connect_lake(location)
    try:
        result = maintain_lake(
            con, "lake", expire_older_than=timedelta(days=7), data_path=location.data_path
        )
        assert table_sums(con)[0] == 2000
    finally:
        con.close()
    assert (result["data_files_before"], result["data_files_after"]) == (20, 1)
    assert result["snapshots_expired"] == 0
    # The 20 merged files were scheduled just now: within the grace, they stay for a query
    # that may still be scanning them; the old orphan goes, the fresh one stays.
    assert result["files_deleted"] == 0
    assert result["orphans_deleted"] == 1
    assert not stray.exists() and fresh.exists()
    assert result["files_on_disk_after"] == 20 + 1 + 1


def test_inlined_rows_are_flushed_to_parquet(tmp_path: Path) -> None:
    location = parse_warehouse_url(f"ducklake:sqlite:{tmp_path}/c.sqlite", env={})
    con = lake.connect_lake(location)  # inlining on: small batches stay in the catalog
    try:
        con.execute("CREATE TABLE t (id BIGINT, v VARCHAR)")
        for i in range(5):
            con.execute("INSERT INTO t SELECT range, 'x' FROM range(?, ?)", [i * 10, i * 10 + 10])
        result = maintain_lake(con, "lake", expire_older_than=timedelta(days=7))
        assert table_sums(con) == (50, sum(range(50)), 50)
    finally:
        con.close()
    assert result["data_files_before"] == 0
    assert result["rows_flushed"] == 50
    assert result["data_files_after"] == 1
    lines = maintenance_report_lines(result)
    assert any("inlined rows flushed to Parquet: 50" in line for line in lines)
    assert lines[-1].startswith("lake maintenance took ")


# -- snapshots and time travel ------------------------------------------------------------------


def test_tables_and_views_read_at_a_snapshot(
    tmp_path: Path, lake_location: WarehouseLocation
) -> None:
    build_file_warehouse(tmp_path / "w.duckdb")
    copy_warehouse(file_location(tmp_path / "w.duckdb"), lake_location)
    con = lake.connect_lake(lake_location)
    try:
        copied = current_snapshot(con, "lake")
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO feeds (feed_id, url, added_at) VALUES (100, 'https://late.example/f', ?)",
            [T0],
        )
        con.execute("CALL lake.set_commit_message('test', 'one more feed')")
        con.execute("COMMIT")
        before_view_change = datetime.now(UTC)
        time.sleep(0.05)
        con.execute("CREATE OR REPLACE VIEW feed_status AS SELECT 'changed' AS what")
        snapshots = list_snapshots(con, "lake")
    finally:
        con.close()
    added = next(s for s in snapshots if s["commit_message"] == "one more feed")
    assert added["snapshot_id"] == copied + 1 and added["author"] == "test"
    assert isinstance(added["snapshot_time"], datetime) and added["changes"]
    assert [s["snapshot_id"] for s in snapshots] == sorted(s["snapshot_id"] for s in snapshots)

    def read(at: SnapshotRef) -> tuple[int, int, list[str]]:
        reader = connect_at(lake_location, at)
        try:
            feeds = reader.execute("SELECT count(*) FROM feeds").fetchall()[0][0]
            status = reader.execute("SELECT count(*) FROM feed_status").fetchall()[0][0]
            names = [d[0] for d in reader.execute("FROM feed_status").description or []]
            with pytest.raises(duckdb.Error):  # a snapshot is read-only
                reader.execute("DELETE FROM feeds")
        finally:
            reader.close()
        return int(feeds), int(status), names

    at_copy, at_added = read(copied), read(added["snapshot_id"])
    assert at_copy[:2] == (3, 3) and at_added[:2] == (4, 4)
    assert "entries" in at_copy[2]  # the view as it was defined then, over that snapshot
    assert read(before_view_change)[:2] == (4, 4)
    assert read(datetime.now(UTC))[2] == ["what"]


def test_snapshot_refs_and_time_travel_on_a_file(tmp_path: Path) -> None:
    assert parse_snapshot_ref("12") == 12
    assert parse_snapshot_ref("2026-01-31T12:00") == datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert parse_snapshot_ref("2026-01-31T12:00+02:00").utcoffset() == timedelta(hours=2)
    with pytest.raises(LakeConfigError, match="snapshot id"):
        parse_snapshot_ref("yesterday")
    with pytest.raises(LakeConfigError, match="time travel .* needs a lake"):
        connect_at(file_location(tmp_path / "w.duckdb"), 1)


# -- info ---------------------------------------------------------------------------------------


def test_info_of_a_file_and_of_a_lake(tmp_path: Path, lake_location: WarehouseLocation) -> None:
    counts = build_file_warehouse(tmp_path / "w.duckdb")
    info = warehouse_info(file_location(tmp_path / "w.duckdb"))
    assert info["backend"] == "file" and info["duckdb_version"] == duckdb.__version__
    assert info["tables"] == counts and info["schema_version"] >= 5
    assert info["size_bytes"] == (tmp_path / "w.duckdb").stat().st_size
    copy_warehouse(file_location(tmp_path / "w.duckdb"), lake_location)
    write_commits(lake_location, 3)
    info = warehouse_info(lake_location)
    assert info["backend"] == f"ducklake on {lake_location.catalog}"
    assert info["ducklake_format"] == "1.0" and info["ducklake_extension"]
    assert info["tables"] == {**counts, "t": 300}
    assert info["schema_version"] == warehouse_info(file_location(tmp_path / "w.duckdb"))[
        "schema_version"
    ]
    assert info["data_files"] >= 3 and info["snapshots"] >= 5
    assert info["size_bytes"] >= sum(
        p.stat().st_size for p in Path(str(lake_location.data_path)).rglob("*.parquet")
    ) > 0
    assert "password" not in info["location"] or "***" in info["location"]


# -- copy ---------------------------------------------------------------------------------------


def test_file_to_lake_to_file_round_trip(
    tmp_path: Path, lake_location: WarehouseLocation
) -> None:
    counts = build_file_warehouse(tmp_path / "w.duckdb")
    assert sum(1 for n in counts.values() if n) >= 15
    seen: list[tuple[str, int]] = []
    started = time.monotonic()
    into_lake = copy_warehouse(
        file_location(tmp_path / "w.duckdb"), lake_location, lambda t, n: seen.append((t, n))
    )
    to_lake = time.monotonic() - started
    assert into_lake == counts and dict(seen) == counts
    started = time.monotonic()
    back = copy_warehouse(lake_location, file_location(tmp_path / "back.duckdb"))
    print(f"copy: {sum(counts.values())} rows, into the lake {to_lake:.2f} s,"
          f" back {time.monotonic() - started:.2f} s")
    assert back == counts
    assert_same_contents(tmp_path / "w.duckdb", tmp_path / "back.duckdb")
    # The copy's sequences are past the copied ids, and it opens as a warehouse of its own.
    with Warehouse(tmp_path / "back.duckdb") as wh:
        assert wh.migrate() == []
        for name, (table, column) in ID_COLUMNS.items():
            highest = int(wh.sql(f"SELECT coalesce(max({column}), 0) FROM {table}")[0][0])
            assert wh.allocate_ids(name, 1)[0] > highest, name
        assert wh.add_feeds(["https://new.example/feed.xml"]) == 1


def test_a_non_empty_destination_is_refused(
    tmp_path: Path, lake_location: WarehouseLocation
) -> None:
    build_file_warehouse(tmp_path / "w.duckdb")
    build_file_warehouse(tmp_path / "other.duckdb", sites=1)
    source = file_location(tmp_path / "w.duckdb")
    with pytest.raises(WarehouseError, match="is not empty") as caught:
        copy_warehouse(source, file_location(tmp_path / "other.duckdb"))
    assert "\n" not in str(caught.value)
    with pytest.raises(WarehouseError, match="same warehouse"):
        copy_warehouse(source, source)
    shared = parse_warehouse_url(
        f"ducklake:sqlite:{tmp_path}/other.sqlite", lake_location.data_path, env={}
    )
    with pytest.raises(WarehouseError, match="data path of its own"):
        copy_warehouse(lake_location, shared)
    copy_warehouse(source, lake_location)
    with pytest.raises(WarehouseError, match="is not empty"):
        copy_warehouse(file_location(tmp_path / "other.duckdb"), lake_location)
    # An empty file (migrated, no rows) is a fine destination.
    Warehouse(tmp_path / "empty.duckdb").close()
    assert copy_warehouse(lake_location, file_location(tmp_path / "empty.duckdb"))["feeds"] == 3


def test_a_source_behind_the_migrations_is_refused(tmp_path: Path) -> None:
    build_file_warehouse(tmp_path / "w.duckdb")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("DELETE FROM schema_migrations WHERE version = 5")
    con.close()
    lake_dst = parse_warehouse_url(f"ducklake:sqlite:{tmp_path}/c.sqlite", env={})
    with pytest.raises(WarehouseError, match=r"lacks migrations \[5\]"):
        copy_warehouse(file_location(tmp_path / "w.duckdb"), lake_dst)
    # Nothing was copied: the lake stays empty and takes a good source afterwards.
    own_migrations = len(Warehouse.migrations())
    assert sum(warehouse_info(lake_dst)["tables"].values()) == own_migrations
