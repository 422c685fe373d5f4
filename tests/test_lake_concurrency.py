"""Many writers on one lake, with the real command line: `news-ingest run` processes ingesting
overlapping feeds (syndicated near-duplicate copies among them) at once into one lake on
PostgreSQL end with exactly the rows one run into a DuckDB file has; a second round changes
nothing; a writer SIGKILLed inside its commit section leaves no partial snapshot, and a rerun
is exact."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.lake import WarehouseLocation
from pipeline.store import Warehouse, close_pooled_sessions
from pipeline.store.lakebackend import COMMIT_LOCK_CLASS
from tests.chaos import RSS, ChaosServer, article_page, item, respond, rss
from tests.test_crash import Run, assert_no_orphans, descendants, ingest

N_STORIES = 40
N_COPIES = 10  # stories 0..9 are also on the wire feed, as syndicated copies
WORDS = 800  # long enough that a copy with a line of its own is still a near duplicate
PAGE_BATCH = 5  # small page batches: many write steps, interleaved across the writers
ENV = {
    "NEWS_INGEST_ALLOW_HOSTS": "127.0.0.1",
    "NEWS_INGEST_PAGE_BATCH": str(PAGE_BATCH),
    "NEWS_INGEST_PAGES_PER_WRITE": str(PAGE_BATCH),  # each batch its own write step
    "NEWS_INGEST_EXTRACT_WORKERS": "1",
    "NEWS_INGEST_FETCH_WORKERS": "4",
    "NEWS_INGEST_DEADLINE": "20",
}


def syndicated_page(n: int, url: str) -> bytes:
    """Story n as another outlet runs it: the same report with a line of its own, so a near
    duplicate (not the same content hash) at another URL."""
    page = article_page(n, url, WORDS)
    credit = f"<p>This report {n} first ran in the Harbour Times and is syndicated here.</p>"
    return page.replace(b"</article>", credit.encode() + b"</article>")


def build_site(server: ChaosServer) -> dict[str, str]:
    """Three feeds: `one` (stories 0-24), `two` (15-39), `wire` (copies of 0-9, and 30-34)."""
    for n in range(N_STORIES):
        path = f"/news/{n:03d}"
        server.add(path, respond(article_page(n, server.url(path), WORDS), delay=0.02))
    for n in range(N_COPIES):
        path = f"/wire/{n:03d}"
        server.add(path, respond(syndicated_page(n, server.url(path)), delay=0.02))

    def items(prefix: str, numbers: range) -> list[str]:
        return [
            item(f"Harbour report {n}", server.url(f"{prefix}/{n:03d}"), text=f"Story {n}.", n=n)
            for n in numbers
        ]

    feeds = {
        "one": items("/news", range(0, 25)),
        "two": items("/news", range(15, N_STORIES)),
        "wire": items("/wire", range(0, N_COPIES)) + items("/news", range(30, 35)),
    }
    for name, listed in feeds.items():
        server.add(f"/feeds/{name}.xml", respond(rss(name, listed).encode(), RSS))
    return {name: server.url(f"/feeds/{name}.xml") for name in feeds}


# Each feed is ingested by two of the three writers at once.
WRITERS = [("one", "two"), ("two", "wire"), ("wire", "one")]

CONTENT = {
    "articles": "SELECT canonical_url, title, text, content_hash, source, version FROM articles",
    "article_urls": "SELECT u.url_key, a.canonical_url FROM article_urls u"
    " JOIN articles a USING (article_id)",
    "feed_entries": "SELECT f.url, e.entry_key, e.guid, e.link, a.canonical_url, e.page_attempts"
    " FROM feed_entries e JOIN feeds f USING (feed_id) LEFT JOIN articles a USING (article_id)",
    "feeds": "SELECT url, title, guid_mode FROM feeds",
    "authors": "SELECT name FROM authors",
    "tags": "SELECT name, key FROM tags",
    "categories": "SELECT name, key FROM categories",
    "article_authors": "SELECT a.canonical_url, x.name, aa.position FROM article_authors aa"
    " JOIN authors x USING (author_id) JOIN articles a USING (article_id)",
    "article_tags": "SELECT a.canonical_url, t.key FROM article_tags x"
    " JOIN tags t USING (tag_id) JOIN articles a USING (article_id)",
    "article_categories": "SELECT a.canonical_url, c.key FROM article_categories x"
    " JOIN categories c USING (category_id) JOIN articles a USING (article_id)",
    "article_versions": "SELECT a.canonical_url, v.version, v.content_hash FROM article_versions v"
    " JOIN articles a USING (article_id)",
    "article_signatures": "SELECT a.canonical_url, s.signature FROM article_signatures s"
    " JOIN articles a USING (article_id)",
    "article_bands": "SELECT a.canonical_url, b.band, b.band_hash FROM article_bands b"
    " JOIN articles a USING (article_id)",
    "content_hashes": "SELECT content_hash FROM content_hashes",
}
# Each table's key, which the lake does not enforce: no value may appear twice.
KEYS = {
    "articles": "url_key",
    "article_urls": "url_key",
    "feed_entries": "feed_id, entry_key",
    "feeds": "url",
    "authors": "name",
    "tags": "key",
    "categories": "key",
    "article_authors": "article_id, author_id",
    "article_tags": "article_id, tag_id",
    "article_categories": "article_id, category_id",
    "article_versions": "article_id, version",
    "article_signatures": "article_id",
    "article_bands": "band, article_id",
    "content_hashes": "content_hash",
    "articles ": "article_id",
    "feeds ": "feed_id",
    "authors ": "author_id",
    "runs": "run_id",
    "fetches": "fetch_id",
}


def content(warehouse: Any) -> dict[str, Any]:
    """Every content table by values that depend on neither ids nor times, and the clusters
    as sets of their articles' URLs."""
    with Warehouse(warehouse, read_only=True) as wh:
        found: dict[str, Any] = {
            name: sorted(wh.query(sql)[1], key=repr) for name, sql in CONTENT.items()
        }
        groups = wh.query(
            "SELECT list(canonical_url ORDER BY canonical_url) FROM articles GROUP BY cluster_id"
        )[1]
    found["clusters"] = sorted(tuple(urls) for (urls,) in groups)
    return found


def duplicate_keys(warehouse: Any) -> dict[str, int]:
    with Warehouse(warehouse, read_only=True) as wh:
        return {
            table.strip() + f"({key})": n
            for table, key in KEYS.items()
            if (
                n := wh.sql(
                    f"SELECT count(*) FROM (SELECT {key} FROM {table.strip()}"
                    f" GROUP BY ALL HAVING count(*) > 1)"
                )[0][0]
            )
        }


@pytest.fixture
def site() -> Iterator[tuple[ChaosServer, dict[str, str]]]:
    with ChaosServer() as server:
        yield server, build_site(server)


@pytest.fixture
def pg_lake(postgres_conninfo: str, tmp_path: Path) -> Iterator[WarehouseLocation]:
    from pipeline.lake import parse_warehouse_url
    from tests.pg import drop_lake_tables

    close_pooled_sessions()
    yield parse_warehouse_url(f"ducklake:postgres:{postgres_conninfo}", str(tmp_path / "data"))
    close_pooled_sessions()
    drop_lake_tables(postgres_conninfo)


def lake_env(location: WarehouseLocation, tmp_path: Path, prefect_server: str) -> dict[str, str]:
    assert location.data_path is not None
    return {
        **ENV,
        "PREFECT_API_URL": prefect_server,
        "NEWS_INGEST_WAREHOUSE": location.attach_uri,
        "NEWS_INGEST_LAKE_DATA": location.data_path,
        "NEWS_INGEST_ARCHIVE": str(tmp_path / "lake-archive"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),  # the band index files of a PostgreSQL lake
    }


def feed_args(feeds: dict[str, str], names: tuple[str, ...]) -> list[str]:
    return ["run", *[a for name in names for a in ("--feed", feeds[name])]]


def reference(feeds: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """One run over every feed into a DuckDB file, in this process."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NEWS_INGEST_ARCHIVE", str(tmp_path / "file-archive"))
    path = tmp_path / "reference" / "news.duckdb"
    ingest(feed_urls=[feeds[n] for n in ("one", "two", "wire")], warehouse=str(path))
    expected = content(path)
    assert len(expected["articles"]) == N_STORIES + N_COPIES
    # Each syndicated copy joined its original's cluster as a near duplicate.
    assert sum(len(urls) == 2 for urls in expected["clusters"]) == N_COPIES
    assert len(expected["feed_entries"]) == 25 + 25 + 15
    return expected


def test_concurrent_writers_leave_exactly_the_rows_of_one_run(
    prefect_server: str,
    site: tuple[ChaosServer, dict[str, str]],
    pg_lake: WarehouseLocation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, feeds = site
    expected = reference(feeds, tmp_path, monkeypatch)
    env = lake_env(pg_lake, tmp_path, prefect_server)
    for round_number in (1, 2):
        began = time.monotonic()
        runs = [Run(feed_args(feeds, names), env) for names in WRITERS]
        results = [run.finish(timeout=300) for run in runs]
        took = time.monotonic() - began
        print(f"round {round_number}: {len(WRITERS)} concurrent writers in {took:.1f} s")
        for code, out, err in results:
            print(*(x for x in (out + err).splitlines() if "commit sections" in x), sep="\n")
            assert code == 0, err[-3000:]
            assert "Traceback" not in out + err
        assert duplicate_keys(pg_lake) == {}
        assert content(pg_lake) == expected, f"round {round_number}"
    # Every page was stored once, though two writers listed it: the later one linked to it.
    with Warehouse(pg_lake, read_only=True) as wh:
        assert wh.sql("SELECT count(*), count(DISTINCT status) FROM runs") == [(6, 1)]
        assert wh.sql("SELECT DISTINCT status FROM runs") == [("completed",)]


def commit_lock_holder(conninfo: str) -> int | None:
    """The PostgreSQL backend pid holding the lake's commit lock, or None."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as con:
        row = con.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND granted",
            [COMMIT_LOCK_CLASS],
        ).fetchone()
    return None if row is None else int(row[0])


def test_a_writer_killed_inside_its_commit_section_leaves_no_partial_snapshot(
    prefect_server: str,
    site: tuple[ChaosServer, dict[str, str]],
    pg_lake: WarehouseLocation,
    postgres_conninfo: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, feeds = site
    expected = reference(feeds, tmp_path, monkeypatch)
    env = lake_env(pg_lake, tmp_path, prefect_server)
    args = feed_args(feeds, ("one", "two", "wire"))
    import psycopg

    watcher = psycopg.connect(postgres_conninfo, autocommit=True)
    try:
        for sections in (3, 8):  # killed in its 3rd commit section (feeds), then its 8th (pages)
            run = Run(args, env)
            seen = 0
            holder: int | None = None
            end = time.monotonic() + 120
            while seen < sections:
                assert run.proc.poll() is None, "".join(run.lines)[-3000:]
                assert time.monotonic() < end, "the commit sections never came"
                row = watcher.execute(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
                    " AND granted",
                    [COMMIT_LOCK_CLASS],
                ).fetchone()
                now = None if row is None else int(row[0])
                if now is not None and now != holder:
                    seen += 1
                holder = now
                if seen < sections:
                    time.sleep(0.002)
            family = descendants(run.proc.pid)
            run.proc.send_signal(signal.SIGKILL)
            code, _, _ = run.finish(timeout=30)
            assert code == -signal.SIGKILL
            assert_no_orphans(family)
            # The server frees the dead session's lock; what is committed is whole.
            deadline = time.monotonic() + 10
            while commit_lock_holder(postgres_conninfo) is not None:
                assert time.monotonic() < deadline, "the killed writer's lock stayed held"
                time.sleep(0.05)
            assert duplicate_keys(pg_lake) == {}
            assert_whole(pg_lake)
    finally:
        watcher.close()
    code, out, err = Run(args, env).finish(timeout=300)
    assert code == 0, err[-3000:]
    assert duplicate_keys(pg_lake) == {}
    assert content(pg_lake) == expected


def assert_whole(warehouse: Any) -> None:
    """What any committed snapshot satisfies: no dangling reference, no half page batch."""
    checks = {
        "entry->article": "SELECT count(*) FROM feed_entries WHERE article_id IS NOT NULL"
        " AND article_id NOT IN (SELECT article_id FROM articles)",
        "alias->article": "SELECT count(*) FROM article_urls"
        " WHERE article_id NOT IN (SELECT article_id FROM articles)",
        "article without version": "SELECT count(*) FROM articles"
        " WHERE article_id NOT IN (SELECT article_id FROM article_versions)",
        "article without names": "SELECT count(*) FROM articles"
        " WHERE article_id NOT IN (SELECT article_id FROM article_authors)",
        "half batch": "SELECT count(*) FROM feed_entries e WHERE e.article_id IS NULL"
        " AND EXISTS (SELECT 1 FROM fetches f WHERE f.kind = 'page' AND f.url = e.link)",
        "entries without feed fetch": "SELECT count(*) FROM feed_entries e WHERE NOT EXISTS"
        " (SELECT 1 FROM fetches f WHERE f.kind = 'feed' AND f.feed_id = e.feed_id)",
    }
    with Warehouse(warehouse, read_only=True) as wh:
        tables = {t for (t,) in wh.sql("SELECT table_name FROM information_schema.tables")}
        if "schema_migrations" not in tables:
            assert not tables, f"half a schema: {sorted(tables)}"
            return
        for name, sql in checks.items():
            assert wh.sql(sql) == [(0,)], name
