"""Benchmark `news-ingest run` end to end against trafilatura alone on the same pages (issue 7)."""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import math
import multiprocessing
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from html import escape, unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAGES = REPO_ROOT.parent / "shared" / "corpus" / "pages"
CODE_ROOT = REPO_ROOT  # the checkout whose CLI runs (--repo); set in main

TARGET_RATIO = 1.15
TARGET_PAGE_PHASE = 1.05  # issue 19: page phase / limit, at 1,500 and 3,000 pages
TARGET_STARTUP_API_S = 3.0  # issue 19: command to first feed request, against a running server


def target_whole(count: int) -> float:
    """Issue 19's whole-run target with the temporary server: 1.25 at 1,676 pages, 1.15 at
    3,000 (start-up weighs less on a longer run)."""
    return 1.15 if count >= 3000 else 1.25


TARGET_RSS_MB = 1536
TARGET_304_S = 5.0
TARGET_INTO_RATIO = 1.2  # ingest into a 1M-article warehouse against an empty one
SAMPLE_INTERVAL = 0.2  # seconds between /proc samples of the CLI's process tree
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
INCREMENTAL_PAGES = 20  # distinct article pages behind the incremental feeds (one item each)


# --------------------------------------------------------------------------- corpus


@dataclass
class SourcePage:
    """One HTML page of the corpus, re-served under many URLs."""

    name: str
    body: bytes
    publisher: str
    title: str
    published: datetime | None
    summary: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "page"


def _parse_date(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def load_pages(folder: Path) -> list[SourcePage]:
    """The corpus's index.jsonl records when there is one, else every *.html[.gz] file."""
    index = folder / "index.jsonl"
    pages: list[SourcePage] = []
    if index.is_file():
        for line in index.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            raw = (folder / rec["html"]).read_bytes()
            body = gzip.decompress(raw) if rec["html"].endswith(".gz") else raw
            pages.append(
                SourcePage(
                    name=rec["html"],
                    body=body,
                    publisher=str(rec.get("publisher") or "site"),
                    title=str(rec.get("title") or rec["html"]),
                    published=_parse_date(rec.get("publishing_date")),
                    summary=str(rec.get("body_text") or "")[:300],
                )
            )
        return pages
    for path in sorted(folder.iterdir()):
        lower = path.name.lower()
        if not lower.endswith((".html", ".htm", ".html.gz", ".htm.gz")):
            continue
        raw = path.read_bytes()
        body = gzip.decompress(raw) if lower.endswith(".gz") else raw
        match = re.search(rb"<title[^>]*>(.*?)</title>", body[:65536], re.I | re.S)
        title = unescape(match.group(1).decode("utf-8", "replace")).strip() if match else ""
        stem = path.name.split(".", 1)[0]
        pages.append(SourcePage(path.name, body, _slug(stem), title or path.name, None, ""))
    return pages


@dataclass
class Corpus:
    """N page URLs spread over F feeds, each page a copy of one source page."""

    pages: list[SourcePage]
    page_paths: list[str]  # page k's path; its body is pages[k % len(pages)]
    feed_items: list[list[int]]  # feed f lists these page numbers

    def source(self, k: int) -> SourcePage:
        return self.pages[k % len(self.pages)]


def build_corpus(pages: list[SourcePage], count: int, feeds: int, prefix: str) -> Corpus:
    paths = [
        f"/{prefix}/{k:05d}/{_slug(pages[k % len(pages)].publisher)}.html" for k in range(count)
    ]
    per_feed = math.ceil(count / max(1, feeds))
    items = [list(range(f * per_feed, min(count, (f + 1) * per_feed))) for f in range(feeds)]
    return Corpus(pages, paths, [i for i in items if i])


def rss(base_url: str, title: str, items: Sequence[tuple[str, str, datetime, str]]) -> bytes:
    """An RSS 2.0 feed of (title, link, published, summary) items."""
    parts = [
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link>"
        f'<guid isPermaLink="true">{escape(link)}</guid>'
        f"<pubDate>{format_datetime(when)}</pubDate>"
        f"<description>{escape(summary)}</description></item>"
        for t, link, when, summary in items
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(base_url)}/</link>"
        f"<description>benchmark feed</description>{''.join(parts)}</channel></rss>"
    ).encode()


def feed_items(corpus: Corpus, base_url: str, numbers: list[int]) -> list[Any]:
    fallback = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for k in numbers:
        src = corpus.source(k)
        when = (src.published or fallback) - timedelta(minutes=k)  # distinct, newest first-ish
        out.append((f"{src.title} #{k}", base_url + corpus.page_paths[k], when, src.summary))
    return out


# --------------------------------------------------------------------------- servers


class _Route(NamedTuple):
    status: int
    content_type: str
    body: bytes
    gzipped: bytes | None
    etag: str
    last_modified: str


class _FastServer(ThreadingHTTPServer):
    daemon_threads = True
    site: FastSite

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _FastHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BenchSite/1.0"
    server: _FastServer

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        site = self.server.site
        if site.first_feed_at is None and self.path.startswith("/feeds/"):
            site.first_feed_at = time.time()  # start-up ends at the first feed request
        route = site.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._send(404, [("Content-Type", "text/plain")], b"not found")
            return
        validators = [("ETag", route.etag), ("Last-Modified", route.last_modified)]
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if (inm is not None and route.etag in inm) or (inm is None and ims == route.last_modified):
            self._send(304, validators, b"")
            return
        headers = [("Content-Type", route.content_type), *validators, ("Vary", "Accept-Encoding")]
        body = route.body
        if route.gzipped is not None and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = route.gzipped
            headers.append(("Content-Encoding", "gzip"))
        self._send(route.status, headers, body)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.server.site.count(status)


class FastSite:
    """A threaded HTTP/1.1 server on 127.0.0.1 whose bodies are gzipped once, up front.

    pipeline.loopback.LoopbackSite gzips every response again at level 9, which on a 2-core
    machine takes CPU from the very extraction being measured (see `--server loopback`)."""

    def __init__(self) -> None:
        self.routes: dict[str, _Route] = {}
        self._gz_cache: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self._server = _FastServer(("127.0.0.1", 0), _FastHandler)
        self._server.site = self
        self._thread: threading.Thread | None = None
        self._extra: list[_FastServer] = []
        self._stamp = formatdate(time.time() - 3600, usegmt=True)
        self.first_feed_at: float | None = None  # wall clock of the first /feeds/ request

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def set(self, path: str, body: bytes, content_type: str) -> None:
        digest = hashlib.sha1(body).hexdigest()
        gz = self._gz_cache.get(digest.encode())
        if gz is None and len(body) > 1024:
            gz = gzip.compress(body, compresslevel=6, mtime=0)
            self._gz_cache[digest.encode()] = gz
        etag = f'"{digest[:16]}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"'
        self.routes[path] = _Route(200, content_type, body, gz, etag, self._stamp)

    def count(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    def status_counts(self) -> dict[int, int]:
        with self._lock:
            return dict(self.statuses)

    def reset(self) -> None:
        with self._lock:
            self.statuses.clear()
            self.first_feed_at = None

    def host_urls(self, hosts: int) -> list[str]:
        """Base URLs on `hosts` loopback addresses (127.0.0.1, .2, ...), all serving these
        routes on the same port: distinct hosts to the fetcher's per-host limit, as feeds of
        different outlets are."""
        port = self._server.server_address[1]
        urls = [self.base_url]
        for k in range(2, hosts + 1):
            address = f"127.0.0.{k}"
            if not any(s.server_address[0] == address for s in self._extra):
                server = _FastServer((address, port), _FastHandler)
                server.site = self
                self._extra.append(server)
                threading.Thread(
                    target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
                ).start()
            urls.append(f"http://{address}:{port}")
        return urls

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        for server in [self._server, *self._extra]:
            server.shutdown()
            server.server_close()


class LoopbackAdapter:
    """pipeline.loopback.LoopbackSite behind FastSite's interface, to compare the two."""

    def __init__(self) -> None:
        from pipeline.loopback import LoopbackSite

        self.site = LoopbackSite().bind()
        self.first_feed_at: float | None = None  # not recorded by this server

    @property
    def base_url(self) -> str:
        return self.site.base_url

    def set(self, path: str, body: bytes, content_type: str) -> None:
        self.site.set(path, body, content_type)

    def status_counts(self) -> dict[int, int]:
        return dict(Counter(r.status for r in self.site.log))

    def reset(self) -> None:
        self.site.reset_stats()

    def host_urls(self, hosts: int) -> list[str]:
        return [self.base_url]  # one host only: --incremental-hosts needs the fast server

    def start(self) -> None:
        self.site.start()

    def stop(self) -> None:
        self.site.stop()


Site = FastSite | LoopbackAdapter


# --------------------------------------------------------------------------- machine load


class CpuMeter:
    """CPU seconds the whole machine was busy, and how much of that was this benchmark's own
    (this process plus reaped children): the rest is other processes' noise."""

    def __init__(self) -> None:
        self.busy0 = self._busy()
        self.own0 = self._own()

    @staticmethod
    def _busy() -> float:
        fields = [int(v) for v in _read("/proc/stat").split("\n", 1)[0].split()[1:]]
        if len(fields) < 5:
            return float("nan")
        return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS  # minus idle, iowait

    @staticmethod
    def _own() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    def foreign(self) -> float:
        """CPU seconds used by processes other than this benchmark's since the meter began."""
        return max(0.0, (self._busy() - self.busy0) - (self._own() - self.own0))


# --------------------------------------------------------------------------- the limit

_LIMIT_BODIES: list[bytes] = []


def _limit_init(bodies: list[bytes]) -> None:
    import trafilatura

    from pipeline.extract import TRAFILATURA_OPTIONS

    _LIMIT_BODIES[:] = bodies
    trafilatura.bare_extraction(bodies[0], url="http://127.0.0.1/warm", **TRAFILATURA_OPTIONS)


def _limit_one(job: tuple[int, str]) -> int:
    import trafilatura

    from pipeline.extract import TRAFILATURA_OPTIONS

    index, url = job
    doc = trafilatura.bare_extraction(_LIMIT_BODIES[index], url=url, **TRAFILATURA_OPTIONS)
    return len(doc.text or "") if doc is not None else -1


def _noop(_: int) -> int:
    return os.getpid()


@dataclass
class Limit:
    workers: int
    pages: int
    pool_start_s: float
    seconds: float
    failures: int
    foreign_cpu_s: float
    cpu_s: float  # CPU the workers spent in the timed section

    @property
    def cpu_bound_s(self) -> float:
        """The limit on an otherwise idle machine: the workers' CPU spread over the cores."""
        return self.cpu_s / self.workers

    @property
    def rate(self) -> float:
        return self.pages / self.seconds

    @property
    def ms_per_page_core(self) -> float:
        return self.seconds * self.workers / self.pages * 1000


def measure_limit(corpus: Corpus, base_url: str) -> Limit:
    """trafilatura.bare_extraction alone over the same N pages, local bytes, all cores."""
    workers = os.cpu_count() or 1
    bodies = [p.body for p in corpus.pages]
    jobs = [(k % len(bodies), base_url + path) for k, path in enumerate(corpus.page_paths)]
    ctx = multiprocessing.get_context("spawn")
    meter = CpuMeter()
    t0 = time.perf_counter()
    with ctx.Pool(workers, initializer=_limit_init, initargs=(bodies,)) as pool:
        pool.map(_noop, range(workers * 4), chunksize=1)  # every worker imported and warmed
        pids = [p.pid for p in pool._pool if p.pid]  # type: ignore[attr-defined]
        cpu0 = sum(_proc_cpu(pid) for pid in pids)
        started = time.perf_counter()
        failures = sum(1 for n in pool.imap_unordered(_limit_one, jobs, chunksize=1) if n <= 0)
        done = time.perf_counter()
        cpu = sum(_proc_cpu(pid) for pid in pids) - cpu0
    return Limit(workers, len(jobs), started - t0, done - started, failures, meter.foreign(), cpu)


# --------------------------------------------------------------------------- process tree


@dataclass
class ProcInfo:
    pid: int
    kind: str
    first_seen: float
    last_seen: float = 0.0
    hwm_kb: int = 0
    cpu_s: float = 0.0


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _proc_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds (0 when it is gone)."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return 0.0
    after = stat.rsplit(")", 1)[1].split()
    return (int(after[11]) + int(after[12])) / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for tid in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []:
        found += [int(c) for c in _read(f"/proc/{pid}/task/{tid}/children").split()]
    return found


KNOWN_KINDS = frozenset(
    {"cli (flow process)", "extract worker", "resource tracker", "prefect server"}
)


def _kind(pid: int, root: int) -> str:
    if pid == root:
        return "cli (flow process)"
    cmd = _read(f"/proc/{pid}/cmdline").replace("\0", " ")
    if "spawn_main" in cmd or "multiprocessing.spawn" in cmd:
        return "extract worker"
    if "resource_tracker" in cmd:
        return "resource tracker"
    if "uvicorn" in cmd or ("prefect" in cmd and "server" in cmd):
        return "prefect server"
    return Path(cmd.split(" ", 1)[0]).name or "?"


class TreeSampler(threading.Thread):
    """Polls /proc for the CLI and its descendants: peak RSS (VmHWM) and CPU per process."""

    def __init__(self, root: int, t0: float) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.t0 = t0
        self.procs: dict[int, ProcInfo] = {}
        self.peak_total_kb = 0
        self.timeline: list[tuple[float, dict[str, float]]] = []  # cumulative CPU per kind
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(SAMPLE_INTERVAL)

    def sample(self) -> None:
        now = time.perf_counter() - self.t0
        todo, seen, total = [self.root], set(), 0
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            status = _read(f"/proc/{pid}/status")
            stat = _read(f"/proc/{pid}/stat")
            if not status or not stat:
                continue
            info = self.procs.get(pid)
            if info is None:
                info = self.procs[pid] = ProcInfo(pid, _kind(pid, self.root), now)
            elif info.kind not in KNOWN_KINDS:  # seen between fork and exec: look again
                info.kind = _kind(pid, self.root)
            info.last_seen = now
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            hwm = int(fields.get("VmHWM", "0 kB").split()[0] or 0)
            rss = int(fields.get("VmRSS", "0 kB").split()[0] or 0)
            info.hwm_kb = max(info.hwm_kb, hwm)
            total += rss
            after = stat.rsplit(")", 1)[1].split()
            info.cpu_s = (int(after[11]) + int(after[12])) / CLOCK_TICKS  # utime + stime
            todo += _children(pid)
        self.peak_total_kb = max(self.peak_total_kb, total)
        by_kind: Counter[str] = Counter()
        for info in self.procs.values():
            by_kind[info.kind] += info.cpu_s
        self.timeline.append((now, dict(by_kind)))


# --------------------------------------------------------------------------- one CLI run

LINE_PATTERNS: dict[str, re.Pattern[str]] = {
    "flow_begin": re.compile(r"Beginning flow run"),
    "feeds_begin": re.compile(r"run \d+ \(\w+\): fetching (\d+) feeds"),
    "pages_begin": re.compile(r"run \d+: (\d+) article pages to fetch"),
    "pages_progress": re.compile(r"run \d+: \[[#-]+\]\s+\d+% (\d+)/(\d+) pages"),
    "summary": re.compile(r"run \d+: \w+=\d+(, \w+=\d+)+\s*$"),
    "flow_end": re.compile(r"Finished in state (\w+)"),
}


class RunFailed(Exception):
    """The CLI exited non-zero; the message carries the tail of its output."""


@dataclass
class CliRun:
    label: str
    returncode: int
    wall_s: float
    lines: list[tuple[float, float, str]]  # (seconds since spawn, wall clock, text)
    procs: dict[int, ProcInfo]
    timeline: list[tuple[float, dict[str, float]]]
    peak_total_kb: int
    tree_cpu_s: float  # CPU of the CLI and every descendant (reaped children's rusage)
    harness_cpu_s: float  # CPU this benchmark process spent meanwhile (server, sampler)
    spawn_wall: float
    foreign_cpu_s: float
    marks: dict[str, list[tuple[float, float, re.Match[str]]]] = field(default_factory=dict)

    def first(self, name: str) -> float | None:
        hits = self.marks.get(name)
        return hits[0][0] if hits else None

    def last(self, name: str) -> float | None:
        hits = self.marks.get(name)
        return hits[-1][0] if hits else None

    @property
    def startup_s(self) -> float:
        """Spawn until the flow run begins: imports, CLI checks, Prefect (server) start-up."""
        begin = self.first("flow_begin")
        return begin if begin is not None else float("nan")

    @property
    def beyond_startup_s(self) -> float:
        return self.wall_s - self.startup_s

    @property
    def counts(self) -> dict[str, int]:
        hits = self.marks.get("summary")
        if not hits:
            return {}
        text = hits[-1][2].string
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text.split(": ", 1)[-1])}

    def cpu_at(self, t: float) -> dict[str, float]:
        """Cumulative CPU per process kind at the last sample taken by time t."""
        found: dict[str, float] = {}
        for when, cpu in self.timeline:
            if when > t:
                break
            found = cpu
        return found

    def cpu_between(self, a: float | None, b: float | None) -> dict[str, float]:
        if a is None or b is None:
            return {}
        start, end = self.cpu_at(a), self.cpu_at(b)
        return {k: v - start.get(k, 0.0) for k, v in end.items()}

    def peak_process(self) -> ProcInfo | None:
        return max(self.procs.values(), key=lambda p: p.hwm_kb, default=None)


def cli_command() -> list[str]:
    """The installed `news-ingest` script; `python -m flows.cli` (run in CODE_ROOT) for --repo."""
    script = Path(sys.executable).parent / "news-ingest"
    if script.exists() and CODE_ROOT == REPO_ROOT:
        return [str(script)]
    return [sys.executable, "-m", "flows.cli"]


def run_cli(label: str, args: list[str], env: dict[str, str], log_path: Path) -> CliRun:
    """Run the CLI, timestamp every output line as it arrives, sample its process tree."""
    lines: list[tuple[float, float, str]] = []
    lock = threading.Lock()
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    harness0 = time.process_time()
    meter = CpuMeter()
    spawn_wall = time.time()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*cli_command(), *args],
        cwd=CODE_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        errors="replace",
    )
    sampler = TreeSampler(proc.pid, t0)
    sampler.start()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with lock:
                lines.append((time.perf_counter() - t0, time.time(), line.rstrip("\n")))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    returncode = proc.wait()
    wall = time.perf_counter() - t0
    thread.join(timeout=10)
    sampler.stopped.set()
    sampler.join(timeout=5)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree_cpu = (after_children.ru_utime + after_children.ru_stime) - (
        before_children.ru_utime + before_children.ru_stime
    )
    log_path.write_text("\n".join(f"{t:9.3f} {text}" for t, _, text in lines) + "\n", "utf-8")
    run = CliRun(
        label=label,
        returncode=returncode,
        wall_s=wall,
        lines=lines,
        procs=sampler.procs,
        timeline=sampler.timeline,
        peak_total_kb=sampler.peak_total_kb,
        tree_cpu_s=tree_cpu,
        harness_cpu_s=time.process_time() - harness0,
        spawn_wall=spawn_wall,
        foreign_cpu_s=meter.foreign(),
    )
    for t, wall_at, text in lines:
        for name, pattern in LINE_PATTERNS.items():
            match = pattern.search(text)
            if match:
                run.marks.setdefault(name, []).append((t, wall_at, match))
    if returncode != 0:
        tail = "\n".join(text for _, _, text in lines[-15:])
        raise RunFailed(f"{label} failed with exit code {returncode}:\n{tail}")
    return run


def cli_env(max_entries: int) -> dict[str, str]:
    env = dict(os.environ)
    allowed = [h for h in env.get("NEWS_INGEST_ALLOW_HOSTS", "").split(",") if h.strip()]
    env["NEWS_INGEST_ALLOW_HOSTS"] = ",".join(dict.fromkeys([*allowed, "127.0.0.0/8"]))
    env["PYTHONUNBUFFERED"] = "1"
    env["NEWS_INGEST_PROGRESS"] = "always"  # its page-phase marks are the progress lines
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    current = int(env.get("NEWS_INGEST_MAX_ENTRIES") or 200)
    env["NEWS_INGEST_MAX_ENTRIES"] = str(max(current, max_entries))
    env.pop("NEWS_INGEST_WAREHOUSE", None)
    env.pop("NEWS_INGEST_ARCHIVE", None)
    return env


# --------------------------------------------------------------------------- warehouse figures


@dataclass
class WarehouseFigures:
    run_s: float | None = None
    run_started: float | None = None
    fetches: dict[str, dict[str, float]] = field(default_factory=dict)
    articles: dict[str, int] = field(default_factory=dict)
    page_write_starts: list[float] = field(default_factory=list)
    feed_write_starts: list[float] = field(default_factory=list)


def warehouse_figures(path: Path) -> WarehouseFigures:
    import duckdb

    out = WarehouseFigures()
    con = duckdb.connect(str(path), read_only=True)
    try:
        run = con.execute(
            "SELECT run_id, epoch(started_at), epoch(finished_at) FROM runs"
            " ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        if run is None:
            return out
        run_id, started, finished = run
        out.run_started = started
        out.run_s = finished - started if finished and started else None
        for row in con.execute(
            "SELECT kind, count(*), count(error), epoch(min(started_at)),"
            " max(epoch(started_at) + elapsed_ms / 1000.0), avg(elapsed_ms),"
            " quantile_cont(elapsed_ms, 0.5), quantile_cont(elapsed_ms, 0.95), sum(bytes)"
            " FROM fetches WHERE run_id = ? GROUP BY kind ORDER BY kind",
            [run_id],
        ).fetchall():
            out.fetches[row[0]] = {
                "n": row[1],
                "errors": row[2],
                "first_start": row[3],
                "last_end": row[4],
                "avg_ms": row[5],
                "p50_ms": row[6],
                "p95_ms": row[7],
                "bytes": row[8] or 0,
            }
        out.articles = dict(
            con.execute(
                "SELECT source, count(*) FROM articles WHERE run_id = ? GROUP BY source", [run_id]
            ).fetchall()
        )
        out.page_write_starts = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT epoch(fetched_at) AS t FROM articles WHERE run_id = ? ORDER BY t",
                [run_id],
            ).fetchall()
        ]
        out.feed_write_starts = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT epoch(first_seen_at) AS t FROM feed_entries WHERE run_id = ?"
                " ORDER BY t",
                [run_id],
            ).fetchall()
        ]
    finally:
        con.close()
    return out


# --------------------------------------------------------------------------- report


class Table:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, str, str]] = []

    def add(self, label: str, value: str, note: str = "") -> None:
        self.rows.append((label, value, note))

    def print(self) -> None:
        width = max([len(r[0]) for r in self.rows] + [10])
        vwidth = max([len(r[1]) for r in self.rows] + [8])
        print(f"\n== {self.title}")
        for label, value, note in self.rows:
            print(f"  {label.ljust(width)}  {value.rjust(vwidth)}  {note}".rstrip())


def _s(seconds: float | None) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds:.2f} s"


def _span(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def stage_rows(table: Table, run: CliRun) -> None:
    """Time per stage from the arrival time of the CLI's log lines (seconds since spawn)."""
    stages: list[tuple[str, str, str, str]] = [
        ("imports, Prefect server start", "", "flow_begin", "server boots during the imports"),
        ("flow set-up", "flow_begin", "feeds_begin", "warehouse open, start_run"),
        ("feed phase", "feeds_begin", "pages_begin", "fetch+parse+write feeds, pending"),
        ("page phase", "pages_begin", "pages_last", "fetch+extract+write pages"),
        ("run finish", "pages_last", "summary", "finish_run, pool shutdown"),
        ("flow teardown", "summary", "flow_end", "Prefect state, result"),
        ("server stop + exit", "flow_end", "exit", ""),
    ]
    points = {
        "": 0.0,
        "exit": run.wall_s,
        "pages_last": run.last("pages_progress"),
        **{name: run.first(name) for name in LINE_PATTERNS},
    }
    if points["pages_last"] is None:
        points["pages_last"] = points["pages_begin"]
    for label, a, b, note in stages:
        table.add(label, _s(_span(points.get(a), points.get(b))), note)


def report_main(
    run: CliRun,
    figures: WarehouseFigures,
    limit: Limit | None,
    count: int,
    feeds: int,
    site_kind: str,
    served: dict[int, int],
    first_feed_at: float | None = None,
    prefect_api: str | None = None,
) -> None:
    counts = run.counts
    flow_s = _span(run.first("flow_begin"), run.first("flow_end"))
    pages_s = _span(run.first("pages_begin"), run.last("pages_progress"))
    t = Table(f"whole run: news-ingest run, {count} pages in {feeds} feeds ({site_kind} server)")
    t.add("wall time, whole run", _s(run.wall_s), "spawn to exit, Prefect start-up included")
    t.add("  start-up (spawn -> flow begins)", _s(run.startup_s), "imports + Prefect server")
    t.add("  beyond start-up", _s(run.beyond_startup_s), "flow begins -> process exit")
    if first_feed_at is not None:
        to_feed = first_feed_at - run.spawn_wall
        note = "the command to its first feed request"
        if prefect_api:
            ok = to_feed <= TARGET_STARTUP_API_S
            note += f", against a running server: target <= {TARGET_STARTUP_API_S:g} s: "
            note += _verdict(ok)
        else:
            note += ", temporary Prefect server included"
        t.add("  start-up to the first feed request", _s(to_feed), note)
    t.add("  flow run (begin -> Finished)", _s(flow_s))
    t.add("throughput, whole run", f"{count / run.wall_s:.1f} p/s")
    t.add("throughput, beyond start-up", f"{count / run.beyond_startup_s:.1f} p/s")
    if pages_s:
        t.add("throughput, page phase", f"{count / pages_s:.1f} p/s")
    if limit is not None:
        whole = run.wall_s / limit.seconds
        whole_note = "incl. start-up"
        if not prefect_api:
            whole_note += f"; target <= {target_whole(count)}: "
            whole_note += _verdict(whole <= target_whole(count))
        t.add("ratio whole run / limit", f"{whole:.2f}", whole_note)
        t.add(
            "ratio beyond start-up / idle-machine limit",
            f"{run.beyond_startup_s / limit.cpu_bound_s:.2f}",
            "limit = workers' CPU / cores (less noise-sensitive)",
        )
        ratio = run.beyond_startup_s / limit.seconds
        t.add(
            "ratio beyond start-up / limit",
            f"{ratio:.2f}",
            f"target <= {TARGET_RATIO}: {_verdict(ratio <= TARGET_RATIO)}",
        )
        if flow_s:
            t.add("ratio flow run / limit", f"{flow_s / limit.seconds:.2f}")
        if pages_s:
            phase = pages_s / limit.seconds
            t.add(
                "ratio page phase / limit",
                f"{phase:.2f}",
                f"target <= {TARGET_PAGE_PHASE}: {_verdict(phase <= TARGET_PAGE_PHASE)}",
            )
    t.add(
        "run counts",
        f"{counts.get('articles_new', '?')} new",
        f"pages_fetched={counts.get('pages_fetched')} pages_failed={counts.get('pages_failed')}"
        f" fallbacks={counts.get('fallbacks')} linked={counts.get('articles_linked')}",
    )
    t.add("server answered", " ".join(f"{k}x{v}" for k, v in sorted(served.items())))
    t.print()

    t = Table("time per stage (from the CLI's log lines as they arrived)")
    stage_rows(t, run)
    if figures.run_s is not None:
        t.add("runs.finished_at - started_at", _s(figures.run_s), "warehouse `runs` row")
    for kind, f in figures.fetches.items():
        window = f["last_end"] - f["first_start"]
        t.add(
            f"fetches[{kind}] window",
            _s(window),
            f"n={f['n']:.0f} errors={f['errors']:.0f} elapsed p50={f['p50_ms']:.0f} ms"
            f" p95={f['p95_ms']:.0f} ms avg={f['avg_ms']:.1f} ms MiB={f['bytes'] / 2**20:.0f}",
        )
    page_lines = run.marks.get("pages_progress", [])
    if figures.page_write_starts and len(figures.page_write_starts) == len(page_lines):
        writes = [
            wall - start
            for (_, wall, _), start in zip(page_lines, figures.page_write_starts, strict=True)
        ]
        t.add(
            "page-batch writes (record_page_results)",
            _s(sum(writes)),
            f"{len(writes)} batches, median {statistics.median(writes) * 1000:.0f} ms,"
            f" max {max(writes) * 1000:.0f} ms (articles.fetched_at -> progress line)",
        )
    if page_lines:
        gaps = [b[0] - a[0] for a, b in zip(page_lines, page_lines[1:], strict=False)]
        first = page_lines[0][0] - (run.first("pages_begin") or 0.0)
        t.add(
            "page batches done",
            f"{len(page_lines)}",
            f"first after {first:.1f} s; gaps median {statistics.median(gaps or [0]):.1f} s,"
            f" max {max(gaps or [0]):.1f} s",
        )
    if figures.feed_write_starts:
        t.add("feed-batch writes", f"{len(figures.feed_write_starts)}", "batches written")
    t.print()

    t = Table(f"processes: peak RSS (VmHWM) and CPU, sampled every {SAMPLE_INTERVAL:.1f} s")
    peak = run.peak_process()
    if peak is not None:
        ok = peak.hwm_kb / 1024 <= TARGET_RSS_MB
        t.add(
            "largest process peak RSS",
            f"{peak.hwm_kb / 1024:.0f} MiB",
            f"{peak.kind} (pid {peak.pid}); target <= {TARGET_RSS_MB} MiB: {_verdict(ok)}",
        )
    t.add("peak sum of RSS over the tree", f"{run.peak_total_kb / 1024:.0f} MiB", "sampled")
    by_kind: dict[str, list[ProcInfo]] = {}
    for info in run.procs.values():
        by_kind.setdefault(info.kind, []).append(info)
    for kind, infos in sorted(by_kind.items()):
        spawn = min(i.first_seen for i in infos)
        t.add(
            f"{kind} x{len(infos)}",
            f"{max(i.hwm_kb for i in infos) / 1024:.0f} MiB",
            f"CPU {sum(i.cpu_s for i in infos):.1f} s (sampled); first seen at {spawn:.1f} s",
        )
    cores = os.cpu_count() or 1
    for label, a, b in (
        ("flow run", run.first("flow_begin"), run.first("flow_end")),
        ("page phase", run.first("pages_begin"), run.last("pages_progress")),
    ):
        span = _span(a, b)
        if not span:
            continue
        for kind, cpu in sorted(run.cpu_between(a, b).items()):
            if cpu >= 0.05:
                t.add(
                    f"CPU in {label}: {kind}",
                    f"{cpu:.1f} s",
                    f"= {cpu / span:.2f} cores over its {span:.1f} s",
                )
    if limit is not None:
        workers = run.cpu_between(run.first("pages_begin"), run.last("pages_progress"))
        extract = workers.get("extract worker")
        if extract:
            t.add(
                "extract workers' CPU / limit CPU",
                f"{extract / limit.cpu_s:.2f}",
                f"{extract / count * 1000:.1f} vs {limit.cpu_s / limit.pages * 1000:.1f} ms/page",
            )
    t.add(
        "CPU of the whole tree",
        f"{run.tree_cpu_s:.1f} s",
        f"= {run.tree_cpu_s / (run.wall_s * cores):.0%} of {cores} cores over the whole run",
    )
    t.add("CPU of this harness", f"{run.harness_cpu_s:.1f} s", "HTTP server + sampler")
    t.add(
        "CPU of other processes",
        f"{run.foreign_cpu_s:.1f} s",
        f"= {run.foreign_cpu_s / (run.wall_s * cores):.0%} of the machine: noise, not ours",
    )
    t.print()


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Serve N real pages in loopback RSS feeds, run `news-ingest run` on them as a"
            " subprocess, and compare its wall time with trafilatura alone on all cores over the"
            " same pages (the limit). Also times an incremental run where every feed answers 304."
        )
    )
    parser.add_argument("--count", type=int, default=1500, help="pages to serve (default 1500)")
    parser.add_argument("--feeds", type=int, default=30, help="feeds listing them (default 30)")
    parser.add_argument(
        "--pages",
        type=Path,
        default=DEFAULT_PAGES,
        help="folder of HTML pages (index.jsonl or *.html[.gz]); default ../shared/corpus/pages",
    )
    parser.add_argument(
        "--incremental-feeds",
        type=int,
        default=500,
        metavar="N",
        help="feeds for the all-304 incremental run (default 500; 0 skips it)",
    )
    parser.add_argument(
        "--incremental-hosts",
        type=int,
        default=100,
        metavar="N",
        help="loopback addresses the incremental feeds are spread over (127.0.0.1..N; default"
        " 100, as 500 feeds of 100 outlets; 1 puts them all on one host)",
    )
    parser.add_argument("--skip-limit", action="store_true", help="do not measure the limit")
    parser.add_argument(
        "--into",
        type=Path,
        default=None,
        metavar="WAREHOUSE",
        help="also run the same ingest into a copy of this warehouse (e.g. the 1M one from"
        " scripts/warehouse_scale.py) and compare it with the run into an empty one; writes"
        " WAREHOUSE's band index files beside it if it has none, and (with --warehouse) opens"
        " it for writing once, which applies this code's migrations and views to it",
    )
    parser.add_argument(
        "--warehouse",
        default=None,
        metavar="URL",
        help="also run the same ingest into a fresh DuckLake of this kind and compare it with the"
        " file, then 1, 2 and 4 concurrent writers into one lake (and, with --into, the example"
        " queries on BIG copied into a lake after compaction): postgres (a throwaway"
        " PostgreSQL), ducklake:postgres:<libpq> (new databases on your server), sqlite, duckdb",
    )
    parser.add_argument(
        "--prefect-api",
        default=None,
        metavar="URL",
        help="run the main ingest against this Prefect API (as scheduled runs do against"
        " `serve` or a work pool) instead of a temporary server; `start` starts one beforehand",
    )
    parser.add_argument(
        "--writers",
        default="1,2,4",
        help="with --warehouse: the concurrent writer counts (default 1,2,4; 0 skips them)",
    )
    parser.add_argument(
        "--server",
        choices=("fast", "loopback"),
        default="fast",
        help="fast: this script's server, bodies gzipped once; loopback: pipeline.loopback",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (warehouses, archives, logs)"
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=REPO_ROOT,
        help="checkout whose code runs (e.g. an exported snapshot, to compare two versions);"
        " default: this script's checkout",
    )
    args = parser.parse_args(argv)
    if args.count < 1 or args.feeds < 1:
        parser.error("--count and --feeds must be at least 1")
    if not 1 <= args.incremental_hosts <= 254:
        parser.error("--incremental-hosts must be between 1 and 254")
    if not args.pages.is_dir():
        parser.error(f"no page folder at {args.pages}")
    if args.into is not None and not args.into.is_file():
        parser.error(f"--into: no warehouse at {args.into}")
    try:
        args.writers = tuple(int(n) for n in args.writers.split(",") if int(n) > 0)
    except ValueError:
        parser.error(f"--writers: expected counts such as 1,2,4, not {args.writers!r}")
    if not (args.repo / "flows" / "cli.py").is_file():
        parser.error(f"no news-ingest checkout at {args.repo}")
    return args


def make_site(kind: str) -> Site:
    return FastSite() if kind == "fast" else LoopbackAdapter()


def timed(label: str, fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    print(f"benchmark: {label} ...", flush=True)
    out = fn()
    print(f"benchmark: {label} took {time.perf_counter() - t0:.1f} s", flush=True)
    return out


def timed_or_exit(label: str, fn: Callable[[], Any]) -> Any:
    try:
        return timed(label, fn)
    except RunFailed as exc:
        raise SystemExit(f"benchmark: {exc}") from None


def incremental(
    site: Site, sources: list[SourcePage], n_feeds: int, hosts: int, work: Path
) -> tuple[CliRun, CliRun, dict[int, int], int]:
    """n_feeds feeds of one item each (over a few pages), spread over `hosts` loopback
    addresses (as many as the site can serve); a first run, then an all-304 one, and the
    number of hosts used."""
    corpus = Corpus(
        sources,
        [
            f"/inc/{k:03d}/{_slug(sources[k % len(sources)].publisher)}.html"
            for k in range(INCREMENTAL_PAGES)
        ],
        [],
    )
    for k, path in enumerate(corpus.page_paths):
        site.set(path, corpus.source(k).body, "text/html; charset=utf-8")
    urls = []
    bases = site.host_urls(hosts)
    for f in range(n_feeds):
        path = f"/inc/feed-{f:04d}.xml"
        items = feed_items(corpus, site.base_url, [f % INCREMENTAL_PAGES])
        site.set(path, rss(site.base_url, f"incremental {f}", items), "application/rss+xml")
        urls.append(bases[f % len(bases)] + path)
    db = work / "incremental" / "news.duckdb"
    env = cli_env(200)
    first = timed(
        f"incremental: first run, {n_feeds} feeds",
        lambda: run_cli(
            "incremental run 1",
            ["run", "--warehouse", str(db), *[a for u in urls for a in ("--feed", u)]],
            env,
            work / "incremental-1.log",
        ),
    )
    site.reset()
    second = timed(
        "incremental: second run, every feed unchanged",
        lambda: run_cli(
            "incremental run 2", ["run", "--warehouse", str(db)], env, work / "incremental-2.log"
        ),
    )
    return first, second, site.status_counts(), len(bases)


def build_band_index(big: Path) -> None:
    from pipeline.store import Warehouse

    with Warehouse(big) as wh:
        wh.rebuild_band_index()


def run_into(
    big: Path, work: Path, feed_urls: list[str], per_feed: int
) -> tuple[CliRun, int] | str:
    """The main run again, into a copy of `big` (with its band index files, if any)."""
    db = work / "into" / "news.duckdb"
    db.parent.mkdir(parents=True)
    lsh = big.with_name(big.name + ".lsh")
    if not lsh.is_dir():
        # A warehouse grown by runs has its band index files; one generated in bulk has not,
        # and the run would otherwise spend its first write step building them.
        timed(f"building the band index files of {big} (once)", lambda: build_band_index(big))
    shutil.copy(big, db)
    shutil.copytree(lsh, db.with_name(db.name + ".lsh"))
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        before = int(con.execute("SELECT count(*) FROM articles").fetchall()[0][0])
    try:
        run = run_cli(
            "run into a big warehouse",
            ["run", "--warehouse", str(db), *[a for u in feed_urls for a in ("--feed", u)]],
            cli_env(per_feed),
            work / "into-run.log",
        )
    except RunFailed as exc:
        return str(exc)
    finally:
        db.unlink(missing_ok=True)  # gigabytes: not kept even with --keep
    return run, before


def report_into(empty: CliRun, into: tuple[CliRun, int] | str, big: Path, count: int) -> None:
    if isinstance(into, str):
        print(f"\n== run into {big}: FAILED\n{into}")
        return
    run, before = into
    t = Table(f"the same {count} pages into an empty warehouse and into {before:,} articles")
    for label, a, b in (
        ("wall time, whole run", empty.wall_s, run.wall_s),
        ("beyond start-up", empty.beyond_startup_s, run.beyond_startup_s),
        (
            "page phase",
            _span(empty.first("pages_begin"), empty.last("pages_progress")),
            _span(run.first("pages_begin"), run.last("pages_progress")),
        ),
    ):
        ratio = f"ratio {b / a:.2f}" if a and b else ""
        if label == "beyond start-up" and a and b:
            ratio += f"; target <= {TARGET_INTO_RATIO}: {_verdict(b / a <= TARGET_INTO_RATIO)}"
        t.add(label, f"{_s(a)} -> {_s(b)}", ratio)
    t.add("articles new", f"{empty.counts.get('articles_new')} -> {run.counts.get('articles_new')}")
    peak = run.peak_process()
    if peak is not None:
        t.add("peak RSS, run into the big one", f"{peak.hwm_kb / 1024:.0f} MiB", peak.kind)
    t.add("CPU of other processes", f"{empty.foreign_cpu_s:.1f} s -> {run.foreign_cpu_s:.1f} s")
    t.print()


def report_incremental(
    first: CliRun, second: CliRun, served: dict[int, int], n: int, hosts: int
) -> None:
    t = Table(f"incremental: {n} feeds on {hosts} hosts, second run where all answer 304")
    t.add("first run, whole", _s(first.wall_s), f"start-up {_s(first.startup_s)}")
    t.add("second run, whole", _s(second.wall_s), "spawn to exit")
    t.add("  start-up (spawn -> flow begins)", _s(second.startup_s))
    ok = second.beyond_startup_s <= TARGET_304_S
    t.add(
        "  beyond start-up",
        _s(second.beyond_startup_s),
        f"target <= {TARGET_304_S:g} s: {_verdict(ok)}",
    )
    t.add(
        "  flow run (begin -> Finished)",
        _s(_span(second.first("flow_begin"), second.first("flow_end"))),
    )
    t.add("  feed phase", _s(_span(second.first("feeds_begin"), second.first("pages_begin"))))
    stage = Table("  (second run stages)")
    stage_rows(stage, second)
    for row in stage.rows:
        t.add("  " + row[0], row[1], row[2])
    counts = second.counts
    t.add(
        "second run counts",
        f"{counts.get('feeds_not_modified', '?')} x 304",
        f"feeds_total={counts.get('feeds_total')} fetched={counts.get('feeds_fetched')}"
        f" failed={counts.get('feeds_failed')}; server: "
        + " ".join(f"{k}x{v}" for k, v in sorted(served.items())),
    )
    peak = second.peak_process()
    if peak is not None:
        t.add("second run peak RSS", f"{peak.hwm_kb / 1024:.0f} MiB", peak.kind)
    t.add("CPU of other processes", f"{second.foreign_cpu_s:.1f} s", "during the second run")
    t.print()


def prefect_db_ready() -> None:
    """Create and migrate Prefect's database in PREFECT_HOME, as the first temporary server on a
    machine does (about 8 s, once; a no-op after): the run is then timed as every later run on
    that machine starts, not as the very first one."""
    subprocess.run(
        [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
        check=True,
        capture_output=True,
        env={**os.environ, **cli_env(0)},
    )


@contextlib.contextmanager
def running_prefect(spec: str) -> Iterator[str]:
    """--prefect-api: the URL as given, or (`start`) a Prefect server started here beforehand
    (flows.api.TemporaryServer, as `run` starts one), ready before the timed run begins."""
    if spec != "start":
        yield spec
        return
    from flows.api import TemporaryServer

    server = TemporaryServer()
    server.start()
    try:
        url = timed("starting a Prefect server beforehand", server.wait_ready)
        yield url
    finally:
        server.stop()


def lake_round(
    args: argparse.Namespace, work: Path, db: Path, feed_urls: list[str], per_feed: int
) -> dict[str, Any] | str:
    """scripts/lake_bench.py's runs: the main run into a lake, the concurrent writers and,
    with --into, the queries at scale; a failure comes back as its message."""
    import lake_bench

    bench = sys.modules[__name__]
    lakes = lake_bench.open_lakes(args.warehouse, work)
    out: dict[str, Any] = {"lakes": lakes, "file_found": lake_bench.file_counts(db)}
    try:
        out["lake_run"], out["lake_found"], _ = lake_bench.run_lake(
            bench, lakes, feed_urls, per_feed, work
        )
        if args.writers:
            with lake_bench.prefect_server(bench) as api_url:
                out["writers"] = lake_bench.run_writers(
                    bench, lakes, feed_urls, per_feed, work, api_url, args.count, args.writers
                )
        if args.into is not None:
            print(f"  example queries on {args.into} and on its copy in a lake:", flush=True)
            out["queries"] = lake_bench.queries_at_scale(bench, lakes, args.into, work)
    except (RunFailed, RuntimeError) as exc:
        return str(exc)
    finally:
        lakes.close()
    return out


def report_lake_round(file_run: CliRun, found: dict[str, Any]) -> None:
    import lake_bench

    bench = sys.modules[__name__]
    lake_bench.report_lake(
        bench, file_run, found["file_found"], found["lake_run"], found["lake_found"], found["lakes"]
    )
    if found.get("writers"):
        lake_bench.report_writers(bench, found["writers"], found["file_found"])
    if found.get("queries"):
        lake_bench.report_queries(bench, found["queries"])


def main(argv: Sequence[str] | None = None) -> int:
    global CODE_ROOT
    args = parse_args(argv)
    CODE_ROOT = args.repo.resolve()
    sys.path.insert(0, str(CODE_ROOT))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(CODE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )  # the limit's spawned workers import pipeline.extract from the same checkout
    work = Path(tempfile.mkdtemp(prefix="news-ingest-bench-"))
    sources = timed(f"loading pages from {args.pages}", lambda: load_pages(args.pages))
    if not sources:
        raise SystemExit(f"benchmark: no HTML pages in {args.pages}")
    corpus = build_corpus(sources, args.count, args.feeds, "site")
    avg_kib = statistics.mean(len(p.body) for p in sources) / 1024
    print(
        f"benchmark: {len(sources)} source pages (avg {avg_kib:.0f} KiB) served as {args.count}"
        f" URLs in {len(corpus.feed_items)} feeds; work folder {work}",
        flush=True,
    )
    site = make_site(args.server)
    stack = contextlib.ExitStack()
    try:
        limit = None
        if not args.skip_limit:
            limit = timed(
                f"the limit: trafilatura alone on {os.cpu_count()} processes",
                lambda: measure_limit(corpus, site.base_url),
            )

        def serve() -> None:
            for k, path in enumerate(corpus.page_paths):
                site.set(path, corpus.source(k).body, "text/html; charset=utf-8")
            for f, numbers in enumerate(corpus.feed_items):
                items = feed_items(corpus, site.base_url, numbers)
                site.set(
                    f"/feeds/{f:03d}.xml",
                    rss(site.base_url, f"feed {f}", items),
                    "application/rss+xml",
                )

        timed("building and serving the site", serve)
        site.start()
        feed_urls = [f"{site.base_url}/feeds/{f:03d}.xml" for f in range(len(corpus.feed_items))]
        db = work / "main" / "news.duckdb"
        per_feed = max(len(i) for i in corpus.feed_items)
        main_env = cli_env(per_feed)
        if args.prefect_api:
            main_env["PREFECT_API_URL"] = stack.enter_context(running_prefect(args.prefect_api))
        else:
            timed("Prefect's database made ready (not timed: once per machine)", prefect_db_ready)
        run = timed_or_exit(
            f"news-ingest run: {args.count} pages",
            lambda: run_cli(
                "main run",
                ["run", "--warehouse", str(db), *[a for u in feed_urls for a in ("--feed", u)]],
                main_env,
                work / "main-run.log",
            ),
        )
        served = site.status_counts()
        first_feed_at = site.first_feed_at
        figures = warehouse_figures(db)
        into: Any = None
        if args.into is not None:
            into = timed(
                f"news-ingest run into a copy of {args.into}",
                lambda: run_into(args.into, work, feed_urls, per_feed),
            )
        lake_results: Any = None
        if args.warehouse is not None:
            lake_results = timed(
                f"the same run into a lake ({args.warehouse}), then concurrent writers",
                lambda: lake_round(args, work, db, feed_urls, per_feed),
            )
        inc: Any = None
        if args.incremental_feeds > 0:
            site.reset()
            try:
                inc = incremental(
                    site, sources, args.incremental_feeds, args.incremental_hosts, work
                )
            except RunFailed as exc:
                inc = str(exc)
    finally:
        site.stop()
        stack.close()

    print("\n" + "=" * 100)
    if limit is not None:
        t = Table(f"the limit: trafilatura.bare_extraction alone, {limit.pages} pages, local bytes")
        t.add("processes", str(limit.workers), "multiprocessing Pool (spawn), warmed first")
        t.add("pool start + warm-up", _s(limit.pool_start_s), "not counted in the limit")
        t.add("wall time", _s(limit.seconds))
        t.add("throughput", f"{limit.rate:.1f} p/s")
        t.add("per page per core", f"{limit.ms_per_page_core:.1f} ms", "wall x processes / N")
        t.add(
            "workers' CPU",
            f"{limit.cpu_s:.1f} s",
            f"{limit.cpu_s / limit.pages * 1000:.1f} ms/page; / {limit.workers} cores ="
            f" {limit.cpu_bound_s:.1f} s, the limit on an idle machine",
        )
        t.add("pages without text", str(limit.failures))
        cores = os.cpu_count() or 1
        share = limit.foreign_cpu_s / ((limit.seconds + limit.pool_start_s) * cores)
        t.add(
            "CPU of other processes",
            f"{limit.foreign_cpu_s:.1f} s",
            f"= {share:.0%} of the machine meanwhile: noise, not ours",
        )
        t.print()
    report_main(
        run,
        figures,
        limit,
        args.count,
        len(feed_urls),
        args.server,
        served,
        first_feed_at,
        args.prefect_api,
    )
    if into is not None:
        report_into(run, into, args.into, args.count)
    if isinstance(lake_results, str):
        print(f"\n== lake runs: FAILED\n{lake_results}")
    elif lake_results is not None:
        report_lake_round(run, lake_results)
    if isinstance(inc, str):
        print(f"\n== incremental run: FAILED\n{inc}")
    elif inc is not None:
        first, second, inc_served, hosts = inc
        report_incremental(first, second, inc_served, args.incremental_feeds, hosts)
    if args.keep:
        print(f"\nkept: {work} (logs: *.log, seconds since spawn then the line)")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
