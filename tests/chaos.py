"""A hostile HTTP server for tests: each path answers with one misbehaviour (bombs, trickles,
endless bodies, redirect loops, hang-ups, slow pages), over real HTTP on 127.0.0.1.

Routes are behaviours: callables that write a whole response on the raw handler. Build them
with the factories below (`respond`, `redirect`, `bomb`, `trickle`, ...). The server binds at
construction, so `url()` is known before the routes (which often need it) are added."""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import brotli

Behaviour = Callable[["ChaosHandler"], None]

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml"
CHUNK = 64 * 1024


class ChaosHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        chaos = self.server.chaos
        path = urlsplit(self.path).path
        chaos._record(path)
        behaviour = chaos.routes.get(self.path) or chaos.routes.get(path)
        if behaviour is None:
            respond(b"<html><body>404</body></html>", status=404)(self)
        else:
            behaviour(self)

    # -- helpers for behaviours ---------------------------------------------------------------

    def pause(self, seconds: float) -> bool:
        """Sleep, waking at once when the server stops; True when it stopped."""
        return self.server.chaos.stopping.wait(seconds)

    def head(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    chaos: ChaosServer

    def handle_error(self, request: object, client_address: object) -> None:
        return  # clients hanging up on bombs and trickles is the point


class ChaosServer:
    """ThreadingHTTPServer on 127.0.0.1 whose paths map to behaviours; counts hits per path."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Behaviour] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self._server = _Server((host, 0), ChaosHandler)
        self._server.chaos = self
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="chaos-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str, host: str | None = None) -> str:
        """The URL of `path`; `host` may name this server differently (e.g. "localhost")."""
        return f"http://{host or self.host}:{self.port}{path}"

    def add(self, path: str, behaviour: Behaviour) -> str:
        self.routes[path] = behaviour
        return path

    @property
    def hits(self) -> Counter[str]:
        with self._lock:
            return Counter(self._hits)

    def reset_hits(self) -> None:
        with self._lock:
            self._hits.clear()

    def _record(self, path: str) -> None:
        with self._lock:
            self._hits[path] += 1

    def wait_for(self, predicate: Callable[[Counter[str]], bool], timeout: float) -> bool:
        """Poll the hit counts until `predicate` holds; False on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate(self.hits):
                return True
            time.sleep(0.02)
        return False


# -- behaviours -----------------------------------------------------------------------------


def respond(
    body: bytes,
    content_type: str = HTML,
    status: int = 200,
    headers: Iterable[tuple[str, str]] = (),
    delay: float = 0.0,
) -> Behaviour:
    """A plain response, after an optional delay (a slow but honest server)."""
    extra = list(headers)

    def behaviour(h: ChaosHandler) -> None:
        if delay and h.pause(delay):
            return
        h.head(status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra])
        h.wfile.write(body)

    return behaviour


def gated(gate: threading.Event, then: Behaviour, timeout: float = 60) -> Behaviour:
    """Hold the request until `gate` is set (or the server stops), then answer with `then`."""

    def behaviour(h: ChaosHandler) -> None:
        end = time.monotonic() + timeout
        while not gate.wait(0.05):
            if h.server.chaos.stopping.is_set() or time.monotonic() > end:
                return
        then(h)

    return behaviour


def redirect(location: str, status: int = 302) -> Behaviour:
    return respond(b"moved", "text/plain", status, [("Location", location)])


def encode(body: bytes, encoding: str) -> bytes:
    """Apply a Content-Encoding list such as "gzip", "br" or "gzip, gzip" (left applied first)."""
    for name in (e.strip() for e in encoding.split(",")):
        if name == "gzip":
            body = gzip.compress(body, mtime=0)
        elif name == "deflate":
            body = zlib.compress(body)
        elif name == "br":
            body = brotli.compress(body)
        else:
            raise ValueError(name)
    return body


def encoded(body: bytes, encoding: str, content_type: str = HTML) -> Behaviour:
    return respond(encode(body, encoding), content_type, headers=[("Content-Encoding", encoding)])


@functools.cache
def bomb_bytes(encoding: str, size: int) -> bytes:
    """`size` zero bytes compressed with `encoding` (gzip, deflate, br), built in chunks so the
    test process never holds the inflated size."""
    zeros = bytes(CHUNK * 16)
    if encoding == "br":
        compressor = brotli.Compressor(quality=1)
        parts = [compressor.process(zeros) for _ in range(size // len(zeros))]
        return b"".join(parts) + compressor.finish()
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    deflater = zlib.compressobj(1, zlib.DEFLATED, wbits)  # level 1: 0.6 s for 256 MB
    parts = [deflater.compress(zeros) for _ in range(size // len(zeros))]
    return b"".join(parts) + deflater.flush()


def bomb(
    encoding: str, size: int, content_type: str = RSS, declared: str | None = None
) -> Behaviour:
    """A decompression bomb: a small body that inflates to `size` bytes. `declared` is the
    Content-Encoding header sent (default: `encoding`); "" sends none (a raw .gz file)."""
    body = bomb_bytes(encoding, size)
    header = encoding if declared is None else declared
    headers = [("Content-Encoding", header)] if header else []
    return respond(body, content_type, headers=headers)


def endless(
    prefix: bytes = b"", chunk: bytes = b"<p>more</p>" * 6000, content_type: str = HTML
) -> Behaviour:
    """A body that never ends (no Content-Length, Connection: close), as fast as it is read."""

    def behaviour(h: ChaosHandler) -> None:
        h.close_connection = True
        h.head(200, [("Content-Type", content_type), ("Connection", "close")])
        h.wfile.write(prefix)
        while not h.server.chaos.stopping.is_set():
            h.wfile.write(chunk)

    return behaviour


def trickle(
    prefix: bytes = b"", interval: float = 1.0, content_type: str = RSS, give_up: float = 60
) -> Behaviour:
    """Headers at once, then one byte every `interval` seconds (for `give_up` seconds, so a
    regression fails instead of hanging): never silent long enough for a read timeout, so
    only the total deadline ends it."""

    def behaviour(h: ChaosHandler) -> None:
        end = time.monotonic() + give_up
        h.close_connection = True
        h.head(200, [("Content-Type", content_type), ("Connection", "close")])
        h.wfile.write(prefix)
        h.wfile.flush()
        while not h.pause(interval) and time.monotonic() < end:
            h.wfile.write(b" ")
            h.wfile.flush()

    return behaviour


def trickle_headers(interval: float = 0.5, give_up: float = 60) -> Behaviour:
    """A status line, then one header byte every `interval` seconds (for `give_up` seconds):
    the header block never completes, so no body-reading code ever runs."""

    def behaviour(h: ChaosHandler) -> None:
        end = time.monotonic() + give_up
        h.close_connection = True
        h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        h.wfile.flush()
        while not h.pause(interval) and time.monotonic() < end:
            h.wfile.write(b"a")
            h.wfile.flush()

    return behaviour


def declared_huge(size: int, content_type: str = HTML) -> Behaviour:
    """Declares `size` bytes, sends a little, then stalls: must be refused on the header."""

    def behaviour(h: ChaosHandler) -> None:
        h.close_connection = True
        h.head(200, [("Content-Type", content_type), ("Content-Length", str(size))])
        h.wfile.write(b"<html><body>" + b"x" * 10_000)
        h.wfile.flush()
        h.pause(30)

    return behaviour


def hang_up() -> Behaviour:
    """Read the request, then drop the connection without a byte (RST where possible)."""

    def behaviour(h: ChaosHandler) -> None:
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        h.connection.close()

    return behaviour


def short_body(body: bytes, claimed: int, content_type: str = RSS) -> Behaviour:
    """Content-Length promises `claimed` bytes, then the server closes after `body`."""

    def behaviour(h: ChaosHandler) -> None:
        h.close_connection = True
        h.head(200, [("Content-Type", content_type), ("Content-Length", str(claimed))])
        h.wfile.write(body)
        h.wfile.flush()

    return behaviour


# -- content --------------------------------------------------------------------------------

BASE_DATE = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def rss(title: str, items: Iterable[str], encoding: str = "utf-8", declaration: bool = True) -> str:
    """An RSS 2.0 document (as text) around pre-rendered <item> elements."""
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n' if declaration else ""
    return (
        f'{head}<rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.com/</link>{''.join(items)}</channel></rss>"
    )


def item(title: str, link: str, guid: str | None = None, text: str = "", n: int = 0) -> str:
    """One RSS <item>; `title` and `text` are inserted as given (escape them yourself)."""
    published = format_datetime(BASE_DATE + timedelta(hours=n))
    description = f"<description>{text}</description>" if text else ""
    return (
        f"<item><title>{title}</title><link>{escape(link)}</link>"
        f"<guid>{escape(guid or link)}</guid><pubDate>{published}</pubDate>{description}</item>"
    )


def article_page(n: int, url: str, words: int = 120) -> bytes:
    """A small, deterministic article page with JSON-LD authors, section and keywords."""
    title = f"Harbour council report number {n}"
    authors = [f"Reporter {n % 7}", f"Editor {n % 3}"]
    tags = [f"topic-{n % 5}", f"area {n % 4}", "harbour"]
    section = ["Politics", "Business", "Sport"][n % 3]
    sentence = (
        f"Report {n} says the harbour council met on day {n} and discussed item {n * 7 % 13}. "
    )
    paragraphs = "".join(
        f"<p>{sentence * 3}Paragraph {i} of report {n} adds detail number {i * n}.</p>"
        for i in range(max(1, words // 40))
    )
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": title,
        "author": [{"@type": "Person", "name": a} for a in authors],
        "datePublished": (BASE_DATE + timedelta(hours=n)).isoformat(),
        "articleSection": section,
        "keywords": ", ".join(tags),
        "mainEntityOfPage": url,
    }
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{title} | Harbour Times</title><link rel="canonical" href="{url}">'
        f'<script type="application/ld+json">{json.dumps(data)}</script></head>'
        f'<body><header><nav><a href="/">Home</a></nav></header><main><article>'
        f"<h1>{title}</h1>{paragraphs}</article></main><footer>Harbour Times</footer></body></html>"
    ).encode()
