"""Crash safety and lock contention with the real command line: `news-ingest run` killed with
SIGKILL at several moments, then run again, ends with exactly the rows of an uninterrupted run;
a second writer while a run writes waits or says why in one line, never a traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import flows.ingest
from pipeline.archive import read_record
from pipeline.store import Warehouse
from tests.chaos import RSS, ChaosServer, article_page, gated, item, respond, rss

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "flows.cli"]
N_PAGES = 80
PAGE_BATCH = 10
PAGES_DONE = re.compile(r"(\d+)/\d+ pages")
PAGE_DELAY = 0.08  # seconds per page: with two requests at a time, ~3 s of pages per run
ENV = {
    "NEWS_INGEST_ALLOW_HOSTS": "127.0.0.1",
    "NEWS_INGEST_PAGE_BATCH": str(PAGE_BATCH),
    "NEWS_INGEST_PAGES_PER_WRITE": str(PAGE_BATCH),  # a write step per batch: many kill moments
    "NEWS_INGEST_PROGRESS": "always",  # its kill moments read the progress lines from a pipe
    "NEWS_INGEST_EXTRACT_WORKERS": "2",
    "NEWS_INGEST_FETCH_WORKERS": "4",
    "NEWS_INGEST_DEADLINE": "20",
}


def build_site(server: ChaosServer, delay: float = PAGE_DELAY) -> list[str]:
    """Two feeds over N_PAGES slow article pages; ten pages are listed by both feeds."""
    for n in range(N_PAGES):
        path = f"/news/{n:03d}"
        server.add(path, respond(article_page(n, server.url(path)), delay=delay))

    def items(numbers: range) -> list[str]:
        return [
            item(f"Harbour report {n}", server.url(f"/news/{n:03d}"), text=f"Summary {n}.", n=n)
            for n in numbers
        ]

    server.add("/feeds/one.xml", respond(rss("One", items(range(0, 50))).encode(), RSS))
    server.add("/feeds/two.xml", respond(rss("Two", items(range(40, N_PAGES))).encode(), RSS))
    return [server.url("/feeds/one.xml"), server.url("/feeds/two.xml")]


def page_hits(server: ChaosServer) -> int:
    return sum(n for path, n in server.hits.items() if path.startswith("/news/"))


def ingest(feed_urls: list[str], warehouse: str) -> dict[str, int]:
    """The flow, in this process (it leaves the warehouse closed after each step)."""
    return flows.ingest.ingest(feed_urls=feed_urls, warehouse=warehouse)


# --- processes ---------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Run:
    """A `news-ingest` subprocess whose stderr (the flow's log) is collected as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            CLI + args,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []  # stderr
        self.out: list[str] = []  # stdout
        # Readers, not communicate(): orphaned children would keep the pipes open.
        self._readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.proc.stderr, self.lines), (self.proc.stdout, self.out))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def logged(self, pattern: str) -> re.Match[str] | None:
        return next((m for line in list(self.lines) if (m := re.search(pattern, line))), None)

    def pages_done(self) -> int:
        done = [int(m.group(1)) for line in list(self.lines) if (m := PAGES_DONE.search(line))]
        return max(done, default=0)

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=2)
        return self.proc.returncode, "".join(self.out), "".join(self.lines)

    def kill_when(self, moment: Callable[[], bool], timeout: float = 120) -> set[int]:
        """SIGKILL the run as soon as `moment()` holds; return the processes it had started."""
        end = time.monotonic() + timeout
        while not moment():
            if self.proc.poll() is not None:
                raise AssertionError(f"run ended before the kill: {''.join(self.lines)[-3000:]}")
            assert time.monotonic() < end, "the moment to kill never came"
            time.sleep(0.005)
        family = descendants(self.proc.pid)
        self.proc.send_signal(signal.SIGKILL)
        code, _, _ = self.finish(timeout=30)
        assert code == -signal.SIGKILL
        return family


def assert_no_orphans(family: set[int], grace: float = 10) -> None:
    """Processes a killed run started (extraction workers, the resource tracker) must go too."""
    end = time.monotonic() + grace
    while time.monotonic() < end:
        left = {pid for pid in family if alive(pid)}
        if not left:
            return
        time.sleep(0.1)
    details = {pid: (Path("/proc") / str(pid) / "cmdline").read_bytes()[:200] for pid in left}
    for pid in left:  # clean up before failing, so they do not outlive the test session
        os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"orphans of a killed run survived: {details}")


# --- warehouse checks --------------------------------------------------------------------------


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with Warehouse(db, read_only=True) as wh:
        return wh.query(sql)[1]


def content(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The content tables, keyed by values that do not depend on ids or times."""
    queries = {
        "articles": "SELECT canonical_url, title, text, content_hash, source FROM articles",
        "feed_entries": "SELECT f.url, e.guid, a.canonical_url FROM feed_entries e"
        " JOIN feeds f USING (feed_id) LEFT JOIN articles a USING (article_id)",
        "authors": "SELECT a.canonical_url, x.name, aa.position FROM article_authors aa"
        " JOIN authors x USING (author_id) JOIN articles a USING (article_id)",
        "categories": "SELECT a.canonical_url, c.name FROM article_categories ac"
        " JOIN categories c USING (category_id) JOIN articles a USING (article_id)",
        "tags": "SELECT a.canonical_url, t.name FROM article_tags x"
        " JOIN tags t USING (tag_id) JOIN articles a USING (article_id)",
        "names": "SELECT 'author', name FROM authors UNION ALL SELECT 'category', name"
        " FROM categories UNION ALL SELECT 'tag', name FROM tags",
        "article_urls": "SELECT u.url_key, a.canonical_url FROM article_urls u"
        " JOIN articles a USING (article_id)",
    }
    return {name: sorted(rows(db, sql), key=repr) for name, sql in queries.items()}


def assert_consistent(db: Path, moment: str) -> None:
    """What any committed state must satisfy: no dangling reference, no half batch, every
    archived record readable."""
    if not db.exists():
        return
    tables = {t for (t,) in rows(db, "SELECT table_name FROM information_schema.tables")}
    if "schema_migrations" not in tables:
        assert not tables, f"half a schema after a kill {moment}: {sorted(tables)}"
        return  # killed before the migrations committed: an empty file, as good as none
    dangling = {
        "entry->article": "SELECT count(*) FROM feed_entries WHERE article_id IS NOT NULL"
        " AND article_id NOT IN (SELECT article_id FROM articles)",
        "article->fetch": "SELECT count(*) FROM articles WHERE fetch_id IS NOT NULL"
        " AND fetch_id NOT IN (SELECT fetch_id FROM fetches)",
        "alias->article": "SELECT count(*) FROM article_urls"
        " WHERE article_id NOT IN (SELECT article_id FROM articles)",
        "article_authors": "SELECT count(*) FROM article_authors WHERE article_id NOT IN"
        " (SELECT article_id FROM articles) OR author_id NOT IN (SELECT author_id FROM authors)",
        "article_tags": "SELECT count(*) FROM article_tags WHERE article_id NOT IN"
        " (SELECT article_id FROM articles) OR tag_id NOT IN (SELECT tag_id FROM tags)",
        "article_categories": "SELECT count(*) FROM article_categories WHERE article_id NOT IN"
        " (SELECT article_id FROM articles)"
        " OR category_id NOT IN (SELECT category_id FROM categories)",
        # A page whose fetch row is committed has its article and entry links committed too.
        "half batch": "SELECT count(*) FROM feed_entries e WHERE e.article_id IS NULL"
        " AND EXISTS (SELECT 1 FROM fetches f WHERE f.kind = 'page' AND f.url = e.link)",
        "entries without feed fetch": "SELECT count(*) FROM feed_entries e WHERE NOT EXISTS"
        " (SELECT 1 FROM fetches f WHERE f.kind = 'feed' AND f.feed_id = e.feed_id)",
        "duplicate articles": "SELECT count(*) - count(DISTINCT url_key) FROM articles",
    }
    for name, sql in dangling.items():
        assert rows(db, sql) == [(0,)], f"{name}, after a kill {moment}"
    per_run = rows(
        db,
        "SELECT run_id, count(*) FROM fetches WHERE kind = 'page' GROUP BY run_id",
    )
    assert all(n % PAGE_BATCH == 0 for _, n in per_run), (moment, per_run)  # whole batches
    for final_url, warc_file, offset, size in rows(
        db,
        "SELECT final_url, warc_file, warc_offset, bytes FROM fetches WHERE warc_file IS NOT NULL",
    ):
        url, _, body = read_record(db.parent / "archive", warc_file, offset)
        assert url == final_url and len(body) == size


# --- tests -------------------------------------------------------------------------------------


@pytest.fixture
def site() -> Iterator[tuple[ChaosServer, list[str]]]:
    with ChaosServer() as server:
        yield server, build_site(server)


def test_sigkill_at_any_moment_then_rerun_equals_an_uninterrupted_run(
    prefect_server: str,
    site: tuple[ChaosServer, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, feeds = site
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    reference = tmp_path / "reference" / "news.duckdb"
    ingest(feed_urls=feeds, warehouse=str(reference))
    expected = content(reference)
    assert len(expected["articles"]) == N_PAGES
    assert len(expected["feed_entries"]) == 90
    assert all(a[4] == "page" for a in expected["articles"])

    db = tmp_path / "killed" / "news.duckdb"
    args = ["run", *[a for f in feeds for a in ("--feed", f)], "--warehouse", str(db)]
    env = {**ENV, "PREFECT_API_URL": prefect_server}
    server.reset_hits()
    runs: list[Run] = []

    def run() -> Run:
        runs.append(Run(args, env))
        return runs[-1]

    # Moments from the outside: the file appearing, requests reaching the site, and the
    # flow's own log line after each committed page batch ("10/80 pages").
    moments: list[tuple[str, Callable[[], bool]]] = [
        ("while opening the new warehouse", db.exists),
        ("while fetching feeds", lambda: server.hits["/feeds/one.xml"] >= 1),
        ("while fetching the first pages", lambda: page_hits(server) >= 25),
        ("right after the first page batch", lambda: runs[-1].pages_done() >= PAGE_BATCH),
        ("after a few page batches", lambda: runs[-1].pages_done() >= 3 * PAGE_BATCH),
    ]
    for name, moment in moments:
        family = run().kill_when(moment)
        assert_no_orphans(family)
        assert_consistent(db, name)
    code, out, err = run().finish()
    assert code == 0, err[-3000:]
    assert "Traceback" not in out + err
    assert_consistent(db, "after the last run")
    assert content(db) == expected
    # Killed runs stay visible as unfinished; the last one completed.
    statuses = [s for (s,) in rows(db, "SELECT status FROM runs ORDER BY run_id")]
    assert statuses[-1] == "completed"
    assert len(statuses) <= len(moments) + 1


def test_second_writer_waits_or_says_why_in_one_line(prefect_server: str, tmp_path: Path) -> None:
    gate = threading.Event()
    with ChaosServer() as server:
        feeds = build_site(server, delay=0)
        # The first run's pages hang until released, so it is surely writing when the second
        # run starts.
        for n in range(N_PAGES):
            path = f"/news/{n:03d}"
            server.add(path, gated(gate, respond(article_page(n, server.url(path)))))
        db = tmp_path / "news.duckdb"
        env = {**ENV, "PREFECT_API_URL": prefect_server}
        first = Run(["run", "--feed", feeds[0], "--warehouse", str(db)], env)
        try:
            assert server.wait_for(lambda hits: any(p.startswith("/news/") for p in hits), 120)
            second = Run(["run", "--feed", feeds[1], "--warehouse", str(db)], env)
            # It either gives up at once or queues (and says so): then let the first finish.
            end = time.monotonic() + 60
            while second.proc.poll() is None and time.monotonic() < end:
                if second.logged(r"waiting for another run"):
                    break
                time.sleep(0.05)
            waited = second.proc.poll() is None
            gate.set()
            code, out, err = second.finish(timeout=180)
        finally:
            gate.set()
            first_code, _, first_err = first.finish(timeout=180)
    assert first_code == 0, first_err[-3000:]
    assert "Traceback" not in err + out
    print(f"\nsecond writer: {'queued, then ran' if code == 0 else 'refused: ' + err.strip()}")
    runs = rows(db, "SELECT started_at, finished_at, status FROM runs ORDER BY run_id")
    if code != 0:
        # Refused: one line saying why, and the first run untouched.
        assert err.strip().count("\n") == 0, err  # nothing but the one line
        assert err.startswith("news-ingest: error:") and "in use" in err, err
        assert [r[2] for r in runs] == ["completed"]
        assert rows(db, "SELECT count(*) FROM articles") == [(50,)]
    else:
        # Queued: it started writing only once the first run had finished.
        assert waited
        assert [r[2] for r in runs] == ["completed", "completed"]
        assert runs[1][0] >= runs[0][1]
        assert rows(db, "SELECT count(*) FROM articles") == [(N_PAGES,)]
