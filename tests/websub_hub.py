"""A small WebSub hub of our own for tests: a real HTTP server on 127.0.0.1 that takes
(un)subscribe requests, answers 202, verifies the subscriber's intent by GETting its callback
with a challenge on a thread of its own (asynchronously), and delivers signed pushes."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl

import httpx

from pipeline.websub import sign


@dataclass
class HubSubscription:
    topic: str
    callback: str
    secret: str | None
    lease_seconds: int
    verified: bool = False


@dataclass
class Verification:
    """One intent verification the hub made: what it sent, what the subscriber answered."""

    callback: str
    topic: str
    status: int
    echoed: bool


@dataclass
class LoopbackHub:
    """Start with `with LoopbackHub() as hub:`; `hub.url` is its endpoint."""

    lease_cap: int = 86400
    refuse_requests: bool = False  # answer 500 to every (un)subscribe request
    wrong_topic: str | None = None  # verify with this topic instead of the one requested
    requests: list[dict[str, str]] = field(default_factory=list)
    verifications: list[Verification] = field(default_factory=list)
    subscriptions: dict[tuple[str, str], HubSubscription] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._verified = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._client = httpx.Client(timeout=10, trust_env=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hub"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def wait_verifications(self, count: int, timeout: float = 60.0) -> list[Verification]:
        """Block until the hub made `count` intent verifications (they run asynchronously);
        TimeoutError when it has not within `timeout` seconds (a slow machine: be generous)."""
        with self._verified:
            if not self._verified.wait_for(lambda: len(self.verifications) >= count, timeout):
                raise TimeoutError(
                    f"the hub made {len(self.verifications)} of {count} intent verifications"
                    f" in {timeout:g} s ({len(self.requests)} subscription requests received)"
                )
            return list(self.verifications)

    def active(self, topic: str) -> list[HubSubscription]:
        with self._lock:
            return [s for s in self.subscriptions.values() if s.topic == topic and s.verified]

    def publish(
        self,
        topic: str,
        body: bytes,
        content_type: str = "application/atom+xml",
        method: str | None = "sha256",
        tamper: bool = False,
    ) -> list[int]:
        """Deliver `body` to every verified subscriber of `topic`: signed with `method` (None:
        unsigned), or with `tamper` the body changed after signing. Returns their statuses."""
        statuses = []
        for sub in self.active(topic):
            headers = {
                "Content-Type": content_type,
                "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"',
            }
            if method and sub.secret:
                headers["X-Hub-Signature"] = sign(body, sub.secret, method)
            sent = body + b"<!-- tampered -->" if tamper else body
            statuses.append(
                self._client.post(sub.callback, content=sent, headers=headers).status_code
            )
        return statuses

    def _verify(self, mode: str, sub: HubSubscription) -> None:
        challenge = secrets.token_hex(8)
        topic = self.wrong_topic or sub.topic
        params = {
            "hub.mode": mode,
            "hub.topic": topic,
            "hub.challenge": challenge,
            "hub.lease_seconds": str(sub.lease_seconds),
        }
        try:
            response = self._client.get(sub.callback, params=params)
            status, echoed = response.status_code, response.text == challenge
        except httpx.HTTPError:
            status, echoed = 0, False
        with self._verified:
            if mode == "subscribe" and 200 <= status < 300 and echoed:
                sub.verified = True
                self.subscriptions[(sub.topic, sub.callback)] = sub
            elif mode == "unsubscribe" and echoed:
                self.subscriptions.pop((sub.topic, sub.callback), None)
            self.verifications.append(Verification(sub.callback, topic, status, echoed))
            self._verified.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
                with hub._lock:
                    hub.requests.append(form)
                mode, topic, callback = (
                    form.get("hub.mode"),
                    form.get("hub.topic"),
                    form.get("hub.callback"),
                )
                if hub.refuse_requests:
                    self._answer(500, b"hub is down")
                    return
                if mode not in ("subscribe", "unsubscribe") or not topic or not callback:
                    self._answer(400, b"hub.mode, hub.topic and hub.callback are required")
                    return
                lease = min(int(form.get("hub.lease_seconds") or hub.lease_cap), hub.lease_cap)
                sub = HubSubscription(topic, callback, form.get("hub.secret"), lease)
                self._answer(202, b"")
                threading.Thread(target=hub._verify, args=(mode, sub), daemon=True).start()

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
