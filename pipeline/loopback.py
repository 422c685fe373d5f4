"""A real threaded HTTP server on 127.0.0.1 serving a mutable routing table, for demo and tests."""

from __future__ import annotations

import gzip
import hashlib
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

# Below this size gzip costs more than it saves; real servers use a similar threshold.
GZIP_MIN_BYTES = 1024


@dataclass(frozen=True)
class Route:
    """What one path answers: a body (status 200), a redirect or an error."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    etag: str = ""
    last_modified: float = 0.0


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it, plus the status it answered."""

    method: str
    path: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest() + '"'


def _accepts_gzip(accept_encoding: str) -> bool:
    # "gzip;q=0" is an explicit refusal, so look at the q-value, not just the token.
    for part in accept_encoding.split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        params = params.replace(" ", "")
        if params.startswith("q="):
            try:
                return float(params[2:]) > 0
            except ValueError:
                return True
        return True
    return False


def _etag_matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    # If-None-Match uses weak comparison (RFC 9110 13.1.2), so W/ prefixes are ignored.
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def _not_modified_since(if_modified_since: str, last_modified: float) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError, IndexError):
        return False  # an unparsable date must be ignored, not treated as a match
    return int(last_modified) <= since


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up early (a fetcher dropping a redirect body) is not an error here."""

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class LoopbackSite:
    """A ThreadingHTTPServer on 127.0.0.1 whose routes can change while it runs.

    Paths are matched first with their query string, then without it, so feed links that
    carry utm_* parameters still reach the article. Hits are counted per path without query.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self._log: list[RequestRecord] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._last_modified_floor = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind (port 0 picks a free port) and serve on a daemon thread."""
        if self._thread is not None:
            return self
        if self._server is None:
            self._server = self._bind()
        # A short poll interval makes stop() return in milliseconds instead of half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="loopback-site",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve on the calling thread until KeyboardInterrupt (for a CLI)."""
        if self._server is None:
            self._server = self._bind()
        try:
            self._server.serve_forever(poll_interval=0.05)
        except KeyboardInterrupt:
            pass
        finally:
            server, self._server = self._server, None
            if server is not None:
                server.server_close()

    def bind(self) -> Self:
        """Bind without serving yet, so base_url is known before routes are built."""
        if self._server is None:
            self._server = self._bind()
        return self

    def _bind(self) -> ThreadingHTTPServer:
        server = _QuietServer((self._host, self._port), _make_handler(self))
        server.daemon_threads = True  # a stuck client must not block interpreter exit
        return server

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LoopbackSite is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def url(self, path: str) -> str:
        if not path.startswith("/"):
            path = "/" + path
        return self.base_url + path

    # -- routing table ---------------------------------------------------------------------

    def _next_last_modified(self) -> float:
        # HTTP dates have one-second resolution: a body replaced within the same second must
        # still get a later Last-Modified, or If-Modified-Since would wrongly answer 304.
        now = float(int(time.time()))
        stamp = max(now, self._last_modified_floor + 1)
        self._last_modified_floor = stamp
        return stamp

    def set(
        self,
        path: str,
        body: bytes,
        content_type: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        with self._lock:
            old = self._routes.get(path)
            etag = _etag(body)
            if old is not None and old.etag == etag and old.status == status:
                last_modified = old.last_modified  # same bytes: keep validators stable
            else:
                last_modified = self._next_last_modified()
            self._routes[path] = Route(
                status=status,
                body=body,
                content_type=content_type,
                headers=tuple((headers or {}).items()),
                etag=etag,
                last_modified=last_modified,
            )

    def load(self, routes: Mapping[str, tuple[str, bytes]]) -> None:
        """Register many (content_type, body) routes at once, e.g. SampleSite.routes."""
        for path, (content_type, body) in routes.items():
            self.set(path, body, content_type)

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        body = f'<html><body>Moved to <a href="{to}">{to}</a></body></html>'.encode()
        self.set(path, body, "text/html; charset=utf-8", status=status, headers={"Location": to})

    def fail(self, path: str, status: int) -> None:
        body = f"<html><body><h1>Error {status}</h1></body></html>".encode()
        self.set(path, body, "text/html; charset=utf-8", status=status)

    def remove(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)

    def route(self, target: str) -> Route | None:
        with self._lock:
            found = self._routes.get(target)
            if found is None:
                found = self._routes.get(urlsplit(target).path)
            return found

    # -- observation -----------------------------------------------------------------------

    @property
    def hits(self) -> Counter[str]:
        """A snapshot of requests per path (query dropped); missing paths read as 0."""
        with self._lock:
            return Counter(self._hits)

    @property
    def log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str) -> list[RequestRecord]:
        return [r for r in self.log if r.path == path]

    def statuses(self, path: str) -> list[int]:
        return [r.status for r in self.requests_for(path)]

    def reset_stats(self) -> None:
        with self._lock:
            self._hits.clear()
            self._log.clear()

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._hits[record.path] += 1
            self._log.append(record)


def _make_handler(site: LoopbackSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real site; needs Content-Length
        server_version = "LoopbackSite/1.0"

        def log_message(self, format: str, *args: object) -> None:
            return  # tests and the demo read site.log instead of stderr noise

        def do_GET(self) -> None:
            self._respond(send_body=True)

        def do_HEAD(self) -> None:
            self._respond(send_body=False)

        def _respond(self, send_body: bool) -> None:
            route = site.route(self.path)
            status, body, extra = self._answer(route)
            site._record(
                RequestRecord(
                    method=self.command,
                    path=urlsplit(self.path).path,
                    target=self.path,
                    headers={k: v for k, v in self.headers.items()},
                    status=status,
                )
            )
            self.send_response(status)
            for name, value in extra:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body and body:
                self.wfile.write(body)

        def _answer(self, route: Route | None) -> tuple[int, bytes, list[tuple[str, str]]]:
            if route is None:
                body = b"<html><body><h1>404 Not Found</h1></body></html>"
                return 404, body, [("Content-Type", "text/html; charset=utf-8")]
            headers = list(route.headers)
            if route.status != 200:
                return route.status, route.body, [("Content-Type", route.content_type), *headers]
            validators = [
                ("ETag", route.etag),
                ("Last-Modified", formatdate(route.last_modified, usegmt=True)),
            ]
            # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if inm is not None:
                not_modified = _etag_matches(inm, route.etag)
            elif ims is not None:
                not_modified = _not_modified_since(ims, route.last_modified)
            else:
                not_modified = False
            if not_modified:
                return 304, b"", validators + headers
            body = route.body
            out = [("Content-Type", route.content_type), *validators, ("Vary", "Accept-Encoding")]
            if len(body) > GZIP_MIN_BYTES and _accepts_gzip(
                self.headers.get("Accept-Encoding", "")
            ):
                body = gzip.compress(body, mtime=0)  # mtime=0 keeps the bytes deterministic
                out.append(("Content-Encoding", "gzip"))
            return 200, body, out + headers

    return Handler


def serve_forever(
    build_routes: Callable[[str], Mapping[str, tuple[str, bytes]]],
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[LoopbackSite], None] | None = None,
) -> None:
    """Bind, build routes for the real base URL, call on_ready, then block until Ctrl-C.

    Routes need the base URL (absolute links in feeds), hence the builder callback.
    """
    site = LoopbackSite(host=host, port=port).bind()
    site.load(build_routes(site.base_url))
    if on_ready is not None:
        on_ready(site)
    site.serve_forever()
