"""The fetcher over real HTTP on loopback: address guard, redirects, caps, timeouts, encodings."""

from __future__ import annotations

import functools
import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli
import pytest

import pipeline.fetch
from pipeline.archive import ArchiveWriter, read_record
from pipeline.fetch import Fetcher, HostPolicy, permanent_redirect_target
from pipeline.loopback import LoopbackSite
from pipeline.records import Fetch
from pipeline.schedule import classify_failure
from pipeline.settings import Settings

PAGE = b"<html><body><p>hello</p></body></html>"


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the arguments of each test, never from the caller's environment."""
    import os

    for name in list(os.environ):
        if name.startswith("NEWS_INGEST_"):
            monkeypatch.delenv(name)


def make_settings(**overrides: object) -> Settings:
    """Short timeouts, so a regression fails fast instead of hanging the suite."""
    values: dict[str, object] = {"connect_timeout": 2.0, "read_timeout": 5.0, "deadline": 10.0}
    values.update(overrides)
    return Settings.from_env(**values)


def fetch_once(url: str, kind: str = "page", **overrides: object) -> Fetch:
    with Fetcher(make_settings(**overrides)) as fetcher:
        return fetcher.fetch(url, kind)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck in a stall must not block interpreter exit
    stop = threading.Event()  # replaced per instance in serve()

    def handle_error(self, request: object, client_address: object) -> None:
        return  # the client hanging up on a stalling handler is the point of several tests


class QuietHandler(BaseHTTPRequestHandler):
    server: QuietServer

    def log_message(self, format: str, *args: object) -> None:
        return

    def pause(self, seconds: float) -> bool:
        """Sleep, but wake at once when the server stops; True when it stopped."""
        return self.server.stop.wait(seconds)

    def send_body(self, body: bytes, status: int = 200, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run `handler` on a free 127.0.0.1 port in a thread; yield the base URL."""
    server = QuietServer(("127.0.0.1", 0), handler)
    server.stop = threading.Event()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as s:
        s.set("/page", PAGE, "text/html; charset=utf-8")
        yield s


def header(record_headers: dict[str, str], name: str) -> str:
    return next((v for k, v in record_headers.items() if k.lower() == name.lower()), "")


@functools.cache
def gzip_bomb() -> bytes:
    """50 MB of zeros, gzip-compressed to about 50 KB."""
    return gzip.compress(bytes(50_000_000), compresslevel=9, mtime=0)


@functools.cache
def brotli_bomb() -> bytes:
    """200 MB of zeros, brotli-compressed to a few hundred bytes."""
    return brotli.compress(bytes(200_000_000), quality=5)


# -- the private-address guard ----------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0"],
)
def test_loopback_refused_by_default_without_connecting(site: LoopbackSite, host: str) -> None:
    result = fetch_once(f"http://{host}:{site.port}/page")
    assert result.status is None
    assert result.error is not None
    assert "NEWS_INGEST_ALLOW_HOSTS" in result.error
    assert "refused private address" in result.error
    assert result.body == b""
    assert not result.ok
    assert sum(site.hits.values()) == 0
    assert site.log == []


@pytest.mark.parametrize(
    "host", ["10.1.2.3", "192.168.1.1", "169.254.169.254", "172.16.0.1", "100.64.0.1"]
)
def test_private_literal_ips_refused_before_any_connect(host: str) -> None:
    started = time.monotonic()
    result = fetch_once(f"http://{host}/latest/meta-data/", connect_timeout=1.0)
    assert result.status is None
    assert result.error is not None and "NEWS_INGEST_ALLOW_HOSTS" in result.error
    assert host in result.error
    # Refused by the policy, not by a connect attempt timing out.
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize(
    ("allow", "host"),
    [
        (("127.0.0.1",), "127.0.0.1"),
        (("127.0.0.0/8",), "127.0.0.1"),
        (("localhost",), "localhost"),
        (("LocalHost.",), "localhost"),
    ],
)
def test_allow_hosts_lets_loopback_through(
    site: LoopbackSite, allow: tuple[str, ...], host: str
) -> None:
    url = f"http://{host}:{site.port}/page"
    result = fetch_once(url, allow_hosts=allow)
    assert result.error is None
    assert result.ok
    assert result.status == 200
    assert result.body == PAGE
    assert result.final_url == url
    assert result.redirects == []
    assert site.hits["/page"] == 1


def test_allow_hosts_from_environment(site: LoopbackSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_INGEST_ALLOW_HOSTS", " 10.0.0.0/8 , 127.0.0.1 ")
    with Fetcher(Settings.from_env(connect_timeout=2.0)) as fetcher:
        assert fetcher.fetch(site.url("/page"), "page").ok
    assert site.hits["/page"] == 1


def test_allowing_a_name_does_not_allow_its_address(site: LoopbackSite) -> None:
    result = fetch_once(site.url("/page"), allow_hosts=("localhost",))
    assert result.error is not None and "NEWS_INGEST_ALLOW_HOSTS" in result.error
    assert site.hits["/page"] == 0


def test_host_policy_addresses() -> None:
    policy = HostPolicy(["192.168.0.0/16", "feeds.internal", " ", ""])
    assert policy.address_allowed("93.184.216.34")
    assert policy.address_allowed("2606:4700::1111")
    assert policy.address_allowed("192.168.5.5")
    assert not policy.address_allowed("10.0.0.1")
    assert not policy.address_allowed("::ffff:10.0.0.1")
    assert not policy.address_allowed("fe80::1%eth0")
    assert not policy.address_allowed("224.0.0.1")
    assert policy.allowed_names == {"feeds.internal"}


# -- redirects --------------------------------------------------------------------------------


def test_redirect_to_a_refused_destination_is_refused_at_the_hop(site: LoopbackSite) -> None:
    target = f"http://127.0.0.1:{site.port}/page"
    site.redirect("/r", target, status=302)
    result = fetch_once(f"http://localhost:{site.port}/r", allow_hosts=("localhost",))
    assert result.error is not None and "NEWS_INGEST_ALLOW_HOSTS" in result.error
    assert result.redirects == [(302, target)]
    assert result.final_url == target
    assert result.body == b""
    assert site.hits["/r"] == 1
    assert site.hits["/page"] == 0
    assert permanent_redirect_target(result) is None


def test_redirect_chain_is_followed_and_recorded(site: LoopbackSite) -> None:
    site.redirect("/a", site.url("/b"), status=301)
    site.redirect("/b", "/c", status=308)  # relative Location, resolved against /b
    site.redirect("/c", site.url("/page"), status=302)
    result = fetch_once(site.url("/a"), allow_hosts=("127.0.0.1",))
    assert result.ok
    assert result.body == PAGE
    assert result.redirects == [
        (301, site.url("/b")),
        (308, site.url("/c")),
        (302, site.url("/page")),
    ]
    assert result.final_url == site.url("/page")
    assert [site.hits[p] for p in ("/a", "/b", "/c", "/page")] == [1, 1, 1, 1]
    assert permanent_redirect_target(result) is None  # one hop was temporary


def test_redirect_loop_stops_at_max_redirects(site: LoopbackSite) -> None:
    site.redirect("/a", "/b", status=302)
    site.redirect("/b", "/a", status=302)
    result = fetch_once(site.url("/a"), allow_hosts=("127.0.0.1",), max_redirects=3)
    assert result.error is not None
    assert "too many redirects" in result.error
    assert "3" in result.error
    assert result.body == b""
    assert len(result.redirects) == 4
    assert site.hits["/a"] + site.hits["/b"] == 4  # the first request plus three redirects


def test_max_redirects_is_honoured_exactly(site: LoopbackSite) -> None:
    site.redirect("/one", "/two", status=301)
    site.redirect("/two", "/page", status=301)
    allow = ("127.0.0.1",)
    assert fetch_once(site.url("/one"), allow_hosts=allow, max_redirects=2).ok
    too_few = fetch_once(site.url("/one"), allow_hosts=allow, max_redirects=1)
    assert too_few.error is not None and "too many redirects" in too_few.error
    assert site.hits["/page"] == 1


def test_redirect_without_location_is_an_error(site: LoopbackSite) -> None:
    site.set("/nowhere", b"moved", "text/plain", status=302)
    result = fetch_once(site.url("/nowhere"), allow_hosts=("127.0.0.1",))
    assert result.status == 302
    assert result.error == "HTTP 302 without a usable Location"


def test_redirect_to_unsupported_scheme_is_refused(site: LoopbackSite) -> None:
    site.redirect("/ftp", "ftp://127.0.0.1/feed.xml", status=301)
    result = fetch_once(site.url("/ftp"), allow_hosts=("127.0.0.1",))
    assert result.error is not None and "unsupported URL scheme" in result.error
    assert result.redirects == [(301, "ftp://127.0.0.1/feed.xml")]


def _fetch_record(redirects: list[tuple[int, str]], status: int | None, error: str | None) -> Fetch:
    record = Fetch(url="http://old/feed", kind="feed", started_at=datetime.now(UTC))
    record.redirects, record.status, record.error = redirects, status, error
    return record


def test_permanent_redirect_target_only_for_all_permanent_hops(site: LoopbackSite) -> None:
    site.redirect("/old", "/older", status=301)
    site.redirect("/older", "/page", status=308)
    moved = fetch_once(site.url("/old"), allow_hosts=("127.0.0.1",))
    assert moved.ok
    assert permanent_redirect_target(moved) == site.url("/page")

    site.redirect("/temp", "/page", status=307)
    temp = fetch_once(site.url("/temp"), allow_hosts=("127.0.0.1",))
    assert temp.ok and permanent_redirect_target(temp) is None

    direct = fetch_once(site.url("/page"), allow_hosts=("127.0.0.1",))
    assert direct.ok and permanent_redirect_target(direct) is None

    site.redirect("/dead", "/missing", status=301)
    dead = fetch_once(site.url("/dead"), allow_hosts=("127.0.0.1",))
    assert dead.status == 404 and permanent_redirect_target(dead) is None

    new = "http://new/feed"
    assert permanent_redirect_target(_fetch_record([(301, new)], 304, None)) == new
    assert permanent_redirect_target(_fetch_record([(301, "x"), (308, new)], 200, None)) == new
    assert permanent_redirect_target(_fetch_record([(308, "x"), (303, new)], 200, None)) is None
    assert permanent_redirect_target(_fetch_record([(301, new)], 200, "deadline")) is None


# -- conditional GET --------------------------------------------------------------------------


def test_conditional_get_with_etag_and_last_modified(site: LoopbackSite) -> None:
    with Fetcher(make_settings(allow_hosts=("127.0.0.1",))) as fetcher:
        first = fetcher.fetch(site.url("/page"), "feed")
        assert first.ok and first.body == PAGE
        etag, last_modified = first.headers["etag"], first.headers["last-modified"]
        assert etag and last_modified

        by_etag = fetcher.fetch(site.url("/page"), "feed", etag=etag)
        by_date = fetcher.fetch(site.url("/page"), "feed", last_modified=last_modified)
        both = fetcher.fetch(site.url("/page"), "feed", etag=etag, last_modified=last_modified)
        stale = fetcher.fetch(site.url("/page"), "feed", etag='"stale"')

    for result in (by_etag, by_date, both):
        assert result.status == 304
        assert result.error is None
        assert result.body == b""
        assert not result.ok
    assert stale.status == 200 and stale.body == PAGE

    sent = [r.headers for r in site.requests_for("/page")]
    assert header(sent[0], "If-None-Match") == "" and header(sent[0], "If-Modified-Since") == ""
    assert header(sent[1], "If-None-Match") == etag
    assert header(sent[2], "If-Modified-Since") == last_modified
    assert header(sent[3], "If-None-Match") == etag
    assert header(sent[3], "If-Modified-Since") == last_modified
    assert site.statuses("/page") == [200, 304, 304, 304, 200]


# -- content encodings and the size cap -------------------------------------------------------

TEXT = b"<rss><channel><title>Encoded news</title></channel></rss>" * 100


class EncodingHandler(QuietHandler):
    def do_GET(self) -> None:
        encoded: dict[str, tuple[str, Callable[[], bytes]]] = {
            "/br": ("br", lambda: brotli.compress(TEXT)),
            "/deflate": ("deflate", lambda: zlib.compress(TEXT)),
            "/raw-deflate": ("deflate", lambda: _raw_deflate(TEXT)),
            "/gzip": ("gzip", lambda: gzip.compress(TEXT)),
            "/gzip-bomb": ("gzip", gzip_bomb),
            "/br-bomb": ("br", brotli_bomb),
            "/broken": ("gzip", lambda: b"\x1f\x8b\x08\x00 definitely not gzip" * 10),
        }
        if self.path == "/big-plain":
            # Declares 50 MB, then stalls: refusing on Content-Length must not read anything.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "50000000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            self.pause(10)
            return
        encoding, make_body = encoded[self.path]
        self.send_body(make_body(), Content_Type="application/rss+xml", Content_Encoding=encoding)


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize("path", ["/br", "/deflate", "/raw-deflate", "/gzip"])
def test_compressed_bodies_are_decoded(path: str) -> None:
    with serve(EncodingHandler) as base:
        result = fetch_once(base + path, allow_hosts=("127.0.0.1",))
    assert result.error is None
    assert result.status == 200
    assert result.body == TEXT


@pytest.mark.parametrize("path", ["/br", "/deflate", "/raw-deflate", "/gzip"])
def test_encoded_bodies_are_archived_as_sent_and_read_back_decoded(
    path: str, tmp_path: Path
) -> None:
    with serve(EncodingHandler) as base:
        result = fetch_once(base + path, allow_hosts=("127.0.0.1",))
    sent = result.raw_body
    assert result.body == TEXT and 0 < len(sent) < len(TEXT)
    archive = ArchiveWriter(tmp_path, "test")
    archive.write(result)
    archive.close()
    assert result.raw_body == b""  # dropped once archived
    assert result.warc_file and result.warc_offset == 0 and result.warc_length
    # The member stores the payload as sent, next to its Content-Encoding: it holds the
    # compressed bytes, not the page compressed again.
    record = gzip.decompress((tmp_path / result.warc_file).read_bytes())
    assert sent in record
    assert f"content-encoding: {result.headers['content-encoding']}".encode() in record.lower()
    assert result.warc_length < len(sent) + 2048
    url, headers, body = read_record(tmp_path, result.warc_file, result.warc_offset)
    assert (url, body) == (base + path, TEXT)
    assert "content-encoding" not in headers and "content-length" not in headers
    assert headers["content-type"] == "application/rss+xml"


def test_plain_bodies_are_archived_compressed(tmp_path: Path) -> None:
    with serve(EncodingHandler) as base:
        result = fetch_once(base + "/big-plain", allow_hosts=("127.0.0.1",), max_bytes=1000)
    assert result.error is not None  # declared too large: nothing archived, nothing kept
    assert result.body == result.raw_body == b""
    page = Fetch(url="http://x.example/a", kind="page", started_at=datetime.now(UTC))
    page.status, page.headers, page.body = 200, {"content-type": "text/html"}, TEXT
    archive = ArchiveWriter(tmp_path, "test")
    archive.write(page)
    archive.close()
    assert page.warc_length is not None and page.warc_length < len(TEXT) / 4
    assert read_record(tmp_path, page.warc_file or "", 0) == (
        "http://x.example/a", {"content-type": "text/html"}, TEXT
    )


def test_gzip_from_loopback_site_is_decoded(site: LoopbackSite) -> None:
    big = b"<html><body>" + b"<p>news paragraph</p>" * 500 + b"</body></html>"
    site.set("/big", big, "text/html")
    result = fetch_once(site.url("/big"), allow_hosts=("127.0.0.1",))
    assert result.ok
    assert result.headers["content-encoding"] == "gzip"
    assert int(result.headers["content-length"]) < len(big)
    assert result.body == big


def test_undecodable_body_is_an_error() -> None:
    with serve(EncodingHandler) as base:
        result = fetch_once(base + "/broken", allow_hosts=("127.0.0.1",))
    assert result.status == 200
    assert result.error is not None and "content encoding" in result.error
    assert result.body == b""


@pytest.mark.parametrize("path", ["/gzip-bomb", "/br-bomb"])
def test_size_cap_applies_after_decompression(path: str) -> None:
    with serve(EncodingHandler) as base:
        compressed = fetch_once(base + path, allow_hosts=("127.0.0.1",))  # warm the bomb cache
        assert compressed.error is not None
        tracemalloc.start()
        try:
            result = fetch_once(base + path, allow_hosts=("127.0.0.1",), max_bytes=1_000_000)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.status == 200
    assert result.error is not None and "too large" in result.error
    assert "after decompression" in result.error
    assert result.body == b""
    # The bomb is refused while it inflates, not after 50-200 MB were held in memory.
    assert peak < 16_000_000


def test_size_cap_lets_a_body_just_under_it_through() -> None:
    body = bytes(900_000)

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_body(gzip.compress(body), Content_Encoding="gzip")

    with serve(Handler) as base:
        result = fetch_once(base + "/", allow_hosts=("127.0.0.1",), max_bytes=1_000_000)
    assert result.ok
    assert result.body == body


def test_declared_length_over_the_cap_is_refused_before_reading() -> None:
    with serve(EncodingHandler) as base:
        started = time.monotonic()
        result = fetch_once(base + "/big-plain", allow_hosts=("127.0.0.1",), max_bytes=1_000_000)
        elapsed = time.monotonic() - started
    assert result.status == 200
    assert result.error is not None and "too large" in result.error
    assert "50000000 bytes declared" in result.error
    assert result.body == b""
    assert elapsed < 2  # did not wait for the stalled body (read_timeout is 5 s)


def test_undeclared_plain_body_over_the_cap_is_cut_off() -> None:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.0"  # no Content-Length: the body runs until close

        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"y" * 100_000)

    with serve(Handler) as base:
        result = fetch_once(base + "/", allow_hosts=("127.0.0.1",), max_bytes=1_000_000)
    assert result.error is not None and "too large" in result.error
    assert result.body == b""


# -- timeouts ---------------------------------------------------------------------------------


class TrickleHandler(QuietHandler):
    """Headers at once, then one byte every 0.2 s for 30 s: never idle long enough to time out."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if self.path == "/gzip-name":
            # A gzip header whose file name never ends: the decoder outputs nothing at all.
            self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\xff")
        else:
            self.end_headers()
        for _ in range(150):
            self.wfile.write(b"a")
            self.wfile.flush()
            if self.pause(0.2):
                return


@pytest.mark.parametrize("path", ["/plain", "/gzip-name"])
def test_deadline_bounds_a_trickling_response(path: str) -> None:
    with serve(TrickleHandler) as base:
        started = time.monotonic()
        result = fetch_once(base + path, allow_hosts=("127.0.0.1",), deadline=1.0, read_timeout=5)
        elapsed = time.monotonic() - started
    assert result.status == 200
    assert result.error is not None and "deadline" in result.error
    assert result.body == b""
    assert 1.0 <= elapsed < 2.5


class StallHandler(QuietHandler):
    def do_GET(self) -> None:
        if self.path == "/before-headers":
            self.pause(10)
            return
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"partial")
        self.wfile.flush()
        self.pause(10)


@pytest.mark.parametrize("path", ["/before-headers", "/mid-body"])
def test_read_timeout_on_a_stalled_response(path: str) -> None:
    with serve(StallHandler) as base:
        started = time.monotonic()
        result = fetch_once(base + path, allow_hosts=("127.0.0.1",), read_timeout=0.5)
        elapsed = time.monotonic() - started
    assert result.error == "read timeout"
    assert result.body == b""
    assert elapsed < 2
    assert result.status == (None if path == "/before-headers" else 200)


def test_deadline_also_bounds_a_stall() -> None:
    with serve(StallHandler) as base:
        started = time.monotonic()
        result = fetch_once(base + "/mid-body", allow_hosts=("127.0.0.1",), deadline=0.5)
        elapsed = time.monotonic() - started
    assert result.error == "read timeout"  # the read waited only what was left of the deadline
    assert elapsed < 1.5  # read_timeout is 5 s


def test_connection_refused_has_no_status() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on `port` now.
    result = fetch_once(f"http://127.0.0.1:{port}/", allow_hosts=("127.0.0.1",))
    assert result.status is None
    assert result.error is not None and result.error.startswith("connection failed")
    assert result.body == b""
    assert result.elapsed_ms < 2000


# -- DNS lookups ------------------------------------------------------------------------------

DEAD = ".dead-dns.example"  # names under it hang in the fake resolver, like a dead name server


@dataclass
class FakeResolver:
    """Stands in for the system resolver (the one thing outside): names under DEAD hang for
    30 s, like a resolver that never answers, or until the test ends; others resolve for real."""

    release: threading.Event = field(default_factory=threading.Event)
    asked: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: object, *args: object, **kwargs: object) -> object:
        self.asked.append(host)
        if host.endswith(DEAD):
            self.release.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if host.endswith(".nxdomain.example"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return socket.getaddrinfo(host, port, *args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeResolver]:
    fake = FakeResolver()
    monkeypatch.setattr(pipeline.fetch, "_getaddrinfo", fake)
    yield fake
    fake.release.set()  # hung lookups return, so no stuck lookup outlives its test
    wait_until(lambda: pipeline.fetch._dns_stuck == 0)


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, "condition not met in time"
        time.sleep(0.01)


@pytest.mark.parametrize("kind", ["feed", "page"])
def test_dns_lookup_slower_than_the_connect_timeout_fails_the_fetch(
    site: LoopbackSite, resolver: FakeResolver, kind: str
) -> None:
    settings = make_settings(allow_hosts=("localhost",), connect_timeout=1.0, deadline=10.0)
    with Fetcher(settings) as fetcher:
        started = time.monotonic()
        result = fetcher.fetch(f"http://slow{DEAD}/feed.xml", kind)
        elapsed = time.monotonic() - started
        after = fetcher.fetch(f"http://localhost:{site.port}/page", kind)
    assert result.error == f"cannot resolve host 'slow{DEAD}': DNS lookup timed out after 1 s"
    assert result.status is None and result.body == b"" and not result.ok
    assert 1.0 <= elapsed < 2.5  # the fake resolver would have taken 30 s
    assert classify_failure(result) == "temporary"
    assert after.ok and after.body == PAGE  # the fetches after it carry on
    assert resolver.asked == [f"slow{DEAD}", "localhost"]


def test_deadline_bounds_a_dns_lookup_when_shorter(resolver: FakeResolver) -> None:
    started = time.monotonic()
    result = fetch_once(f"http://slow{DEAD}/", connect_timeout=5.0, deadline=0.5)
    elapsed = time.monotonic() - started
    assert result.error == (
        f"cannot resolve host 'slow{DEAD}': DNS lookup timed out after 0.5 s"
        " (the rest of the 0.5 s deadline)"
    )
    assert 0.5 <= elapsed < 1.5


def test_dns_lookup_of_a_loopback_name_still_works(
    site: LoopbackSite, resolver: FakeResolver
) -> None:
    result = fetch_once(f"http://localhost:{site.port}/page", allow_hosts=("localhost",))
    assert result.ok and result.body == PAGE
    assert resolver.asked == ["localhost"]  # through the bounded lookup, to the real resolver
    assert site.hits["/page"] == 1


def test_unknown_host_is_recorded_as_such(resolver: FakeResolver) -> None:
    started = time.monotonic()
    result = fetch_once("http://gone.nxdomain.example/feed")
    assert result.error == "cannot resolve host 'gone.nxdomain.example': Name or service not known"
    assert result.status is None
    assert time.monotonic() - started < 1


def test_stuck_dns_lookups_do_not_hold_up_good_names(
    site: LoopbackSite, resolver: FakeResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline.fetch, "DNS_MAX_STUCK", 2)
    good = f"http://localhost:{site.port}/page"
    settings = make_settings(allow_hosts=("localhost",), connect_timeout=0.5)
    patient = Fetcher(make_settings(connect_timeout=1.5))
    with patient, Fetcher(settings) as fetcher:
        # A lookup still waited for, and one given up on but stuck: a good name is not behind
        # them (a fixed pool of busy threads would queue it).
        hanging = threading.Thread(target=patient.fetch, args=(f"http://a{DEAD}/", "page"))
        hanging.start()
        assert fetcher.fetch(f"http://b{DEAD}/", "page").error is not None
        assert pipeline.fetch._dns_stuck == 1
        started = time.monotonic()
        answered = fetcher.fetch(good, "page")
        assert answered.ok, answered.error
        assert time.monotonic() - started < 0.4
        hanging.join(timeout=5)
        assert pipeline.fetch._dns_stuck == 2

        # As many stuck lookups as allowed: the resolver is taken for dead, and every lookup
        # fails at once instead of starting one more thread to hang.
        started = time.monotonic()
        refused = fetcher.fetch("http://fresh.example/", "page")
        assert time.monotonic() - started < 0.2
        assert refused.error == (
            "cannot resolve host 'fresh.example':"
            " DNS not answering (2 earlier lookups still wait for the resolver)"
        )
        assert "fresh.example" not in resolver.asked

        # The resolver answers again: so do lookups.
        resolver.release.set()
        wait_until(lambda: pipeline.fetch._dns_stuck == 0)
    result = fetch_once(good, allow_hosts=("localhost",))
    assert result.ok
    assert resolver.asked.count("localhost") == 2


# -- HTTP errors and request headers ----------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/gone", 410), ("/busy", 503)])
def test_http_errors_keep_their_status(site: LoopbackSite, path: str, status: int) -> None:
    if path != "/missing":
        site.fail(path, status)
    result = fetch_once(site.url(path), allow_hosts=("127.0.0.1",))
    assert result.status == status
    assert result.error == f"HTTP {status}"
    assert not result.ok
    assert site.statuses(path) == [status]


def test_request_headers(site: LoopbackSite) -> None:
    with Fetcher(make_settings(allow_hosts=("127.0.0.1",))) as fetcher:
        fetcher.fetch(site.url("/page"), "feed")
        fetcher.fetch(site.url("/page"), "page")
    feed_req, page_req = (r.headers for r in site.requests_for("/page"))
    for sent in (feed_req, page_req):
        assert "news-ingest" in header(sent, "User-Agent")
        encodings = [e.strip() for e in header(sent, "Accept-Encoding").split(",")]
        assert {"br", "gzip", "deflate"} <= set(encodings)
    assert "application/rss+xml" in header(feed_req, "Accept")
    assert header(page_req, "Accept").startswith("text/html")


def test_custom_user_agent(site: LoopbackSite) -> None:
    fetch_once(site.url("/page"), allow_hosts=("127.0.0.1",), user_agent="news-ingest-test/9")
    assert header(site.requests_for("/page")[0].headers, "User-Agent") == "news-ingest-test/9"


# -- per-host concurrency ---------------------------------------------------------------------


def _concurrency_handler(stats: dict[str, int], lock: threading.Lock) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            host = self.headers.get("Host", "").split(":")[0]
            with lock:
                stats[host] = stats.get(host, 0) + 1
                stats["max:" + host] = max(stats.get("max:" + host, 0), stats[host])
            self.pause(0.3)
            with lock:
                stats[host] -= 1
            self.send_body(b"ok", Content_Type="text/plain")

    return Handler


def _fetch_all(fetcher: Fetcher, urls: list[str]) -> list[Fetch]:
    results: list[Fetch] = []
    results_lock = threading.Lock()

    def work(url: str) -> None:
        result = fetcher.fetch(url, "page")
        with results_lock:
            results.append(result)

    threads = [threading.Thread(target=work, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    return results


def test_per_host_concurrency_is_capped() -> None:
    stats: dict[str, int] = {}
    settings = make_settings(allow_hosts=("127.0.0.1",), per_host=2)
    with serve(_concurrency_handler(stats, threading.Lock())) as base, Fetcher(settings) as fetcher:
        started = time.monotonic()
        results = _fetch_all(fetcher, [f"{base}/p{i}" for i in range(8)])
        elapsed = time.monotonic() - started
    assert len(results) == 8 and all(r.ok for r in results)
    assert stats["max:127.0.0.1"] == 2  # capped, and still parallel
    assert elapsed >= 4 * 0.3 - 0.05


def test_per_host_slots_are_separate_for_each_host() -> None:
    stats: dict[str, int] = {}
    with serve(_concurrency_handler(stats, threading.Lock())) as base:
        other = base.replace("127.0.0.1", "localhost")
        settings = make_settings(allow_hosts=("127.0.0.1", "localhost"), per_host=1)
        with Fetcher(settings) as fetcher:
            urls = [f"{b}/p{i}" for b in (base, other) for i in range(2)]
            results = _fetch_all(fetcher, urls)
    assert len(results) == 4 and all(r.ok for r in results)
    assert stats["max:127.0.0.1"] == 1
    assert stats["max:localhost"] == 1


# -- malformed and unsupported URLs -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/feed.xml", "file:///etc/passwd", "javascript:alert(1)", "data:,hello"],
)
def test_unsupported_schemes_are_refused(url: str) -> None:
    result = fetch_once(url)
    assert result.status is None
    assert result.error is not None and "unsupported URL scheme" in result.error
    assert result.body == b""


@pytest.mark.parametrize("url", ["http:///path", "https://"])
def test_url_without_host_is_refused(url: str) -> None:
    result = fetch_once(url)
    assert result.status is None
    assert result.error is not None and "no host" in result.error


def test_fetch_records_timing_and_feed_id(site: LoopbackSite) -> None:
    with Fetcher(make_settings(allow_hosts=("127.0.0.1",))) as fetcher:
        result = fetcher.fetch(site.url("/page"), "feed", feed_id=7)
    assert result.feed_id == 7
    assert result.kind == "feed"
    assert result.url == site.url("/page")
    assert result.started_at.tzinfo is not None
    assert result.elapsed_ms >= 0
    assert result.content_type.startswith("text/html")
