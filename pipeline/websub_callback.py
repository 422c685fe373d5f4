"""The WebSub callback endpoint: a threaded HTTP server answering hubs' intent verifications
(GET) and taking their pushes (POST). A push is checked (size, then signature) and spooled to a
file before it is acknowledged, so a push is never lost to a crash between the hub's request and
its run; what happens next is the caller's (`on_push`). Pure: no Prefect, no warehouse."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pipeline.websub import (
    Subscription,
    callback_token,
    check_signature,
    push_too_large,
    verify_intent,
)

Clock = Callable[[], datetime]
FAILED = "failed"  # the inbox's folder of pushes that could not be loaded
# A request's socket timeout: a client trickling its body is cut off after this long idle.
REQUEST_TIMEOUT = 30.0
# Requests handled at once; one more is answered 503 (a hub retries) instead of taking a thread.
MAX_HANDLERS = 16
BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def utc_now() -> datetime:
    return datetime.now(UTC)


class SubscriptionBook:
    """The subscriptions the endpoint answers for, by callback token and by feed; thread-safe."""

    def __init__(self, subs: Iterable[Subscription] = ()) -> None:
        self._lock = threading.Lock()
        self._by_feed: dict[int, Subscription] = {}
        for sub in subs:
            self.put(sub)

    def put(self, sub: Subscription) -> None:
        with self._lock:
            self._by_feed[sub.feed_id] = sub

    def feed(self, feed_id: int) -> Subscription | None:
        with self._lock:
            return self._by_feed.get(feed_id)

    def token(self, token: str) -> Subscription | None:
        with self._lock:
            for sub in self._by_feed.values():
                if sub.callback_token == token:
                    return sub
            return None


@dataclass(frozen=True)
class Push:
    """A push accepted and spooled: `spool` is its metadata file, `body` the feed's bytes."""

    feed_id: int
    topic: str
    content_type: str
    received_at: datetime
    spool: Path

    @property
    def body_path(self) -> Path:
        return self.spool.with_suffix(".body")

    def body(self) -> bytes:
        return self.body_path.read_bytes()

    def remove(self) -> None:
        # The metadata first: a crash in between leaves a stray body, never a push without one.
        self.spool.unlink(missing_ok=True)
        self.body_path.unlink(missing_ok=True)

    def fail(self) -> Path:
        """Move the push out of the inbox into its `failed/` folder (kept to look at, never
        retried); the metadata file's new path."""
        return fail_spool(self.spool)


class SpoolError(ValueError):
    """A spooled push that cannot be loaded (its metadata unreadable, its body missing, its
    feed removed); the message says which."""


def fail_spool(spool: Path) -> Path:
    """Move a spooled push (metadata and body, whichever exist) to `<inbox>/failed/`."""
    failed_dir = spool.parent / FAILED
    failed_dir.mkdir(parents=True, exist_ok=True)
    for path in (spool.with_suffix(".body"), spool):
        if path.exists():
            path.replace(failed_dir / path.name)
    return failed_dir / spool.name


def spool_push(
    inbox: Path, sub: Subscription, body: bytes, content_type: str, at: datetime
) -> Push:
    """Write a push to `inbox`: the body, then its metadata file (renamed into place last, so
    a metadata file always has its whole body)."""
    inbox.mkdir(parents=True, exist_ok=True)
    stem = f"{sub.feed_id}-{at:%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}"
    push = Push(sub.feed_id, sub.topic or "", content_type, at, inbox / f"{stem}.json")
    push.body_path.write_bytes(body)
    meta = {
        "feed_id": push.feed_id,
        "topic": push.topic,
        "content_type": content_type,
        "received_at": at.isoformat(),
    }
    partial = inbox / f"{stem}.partial"
    partial.write_text(json.dumps(meta), "utf-8")
    partial.replace(push.spool)
    return push


def read_push(spool: Path) -> Push:
    """The push spooled at `spool`. FileNotFoundError when it is gone (loaded already);
    SpoolError when it cannot be loaded."""
    try:
        meta = json.loads(spool.read_text("utf-8"))
        push = Push(
            feed_id=int(meta["feed_id"]),
            topic=str(meta["topic"]),
            content_type=str(meta["content_type"]),
            received_at=datetime.fromisoformat(meta["received_at"]),
            spool=spool,
        )
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SpoolError(f"unreadable push metadata {spool.name}: {exc}") from exc
    if not push.body_path.is_file():
        raise SpoolError(f"push {spool.name} has no body file")
    return push


def spooled_pushes(inbox: Path, on_failed: Callable[[Path, str], None]) -> list[Push]:
    """Pushes accepted but not yet loaded (a run killed, a restart), oldest first. One that
    cannot be read is moved to the `failed/` folder and passed to `on_failed` with why."""
    pushes: list[Push] = []
    for spool in sorted(inbox.glob("*.json")) if inbox.is_dir() else []:
        try:
            pushes.append(read_push(spool))
        except FileNotFoundError:
            continue  # loaded meanwhile
        except SpoolError as exc:
            on_failed(fail_spool(spool), str(exc))
    return sorted(pushes, key=lambda push: push.received_at)


class BoundedHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server with at most `max_handlers` requests in hand at once: one more is
    answered 503 at once and closed, so slow clients cannot take every thread."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any, max_handlers: int) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_handlers)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class CallbackServer:
    """The endpoint: GET /websub/<token> answers intent verifications; POST /websub/<token>
    takes pushes. `on_verified` gets a subscription the hub verified or denied; `on_push` a
    push spooled (answered 202); `on_rejected` a push refused (413, 411 or 403) and why."""

    def __init__(
        self,
        book: SubscriptionBook,
        listen: str,
        port: int,
        inbox: Path,
        max_bytes: int,
        on_verified: Callable[[Subscription, str], None],
        on_push: Callable[[Push], None],
        on_rejected: Callable[[Subscription, str], None],
        clock: Clock = utc_now,
        request_timeout: float = REQUEST_TIMEOUT,
        max_handlers: int = MAX_HANDLERS,
    ) -> None:
        self.book = book
        self.request_timeout = request_timeout
        self.inbox = inbox
        self.max_bytes = max_bytes
        self.on_verified, self.on_push, self.on_rejected = on_verified, on_push, on_rejected
        self.clock = clock
        self._server = BoundedHTTPServer((listen, port), self._handler(), max_handlers)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="websub-callback", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> CallbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "news-ingest-websub"
            timeout = endpoint.request_timeout  # the socket's: each read and write

            def log_message(self, format: str, *args: object) -> None:
                pass  # the caller logs what matters: verifications and refused pushes

            def _answer(self, status: int, body: str = "") -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _subscription(self) -> Subscription | None:
                token = callback_token(self.path)
                return endpoint.book.token(token) if token else None

            def do_GET(self) -> None:
                params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                answer = verify_intent(params, self._subscription(), endpoint.clock())
                if answer.subscription is not None:
                    endpoint.book.put(answer.subscription)
                    endpoint.on_verified(answer.subscription, answer.reason)
                self._answer(answer.status, answer.body)

            def do_POST(self) -> None:
                sub = self._subscription()
                if sub is None or sub.state != "verified":
                    self.close_connection = True
                    self._answer(404, "unknown callback")
                    return
                declared = self.headers.get("Content-Length")
                refused = push_too_large(declared, endpoint.max_bytes)
                if refused is None and declared is None:
                    refused = "push without a Content-Length"
                if refused is not None:
                    self.close_connection = True  # the body is not read
                    endpoint.on_rejected(sub, refused)
                    status = 411 if declared is None else 413 if "large" in refused else 400
                    self._answer(status, refused)
                    return
                try:
                    body = self.rfile.read(int(declared or 0))
                except TimeoutError:
                    self.close_connection = True  # too slow: no answer, the hub retries
                    return
                bad = check_signature(body, self.headers.get("X-Hub-Signature"), sub.secret)
                if bad is not None:
                    endpoint.on_rejected(sub, bad)
                    self._answer(403, bad)
                    return
                content_type = self.headers.get("Content-Type") or ""
                push = spool_push(endpoint.inbox, sub, body, content_type, endpoint.clock())
                endpoint.on_push(push)
                self._answer(202)

        return Handler
