"""Polite, bounded HTTP fetching: one client, conditional GET, caps, and a private-address guard."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import brotli
import httpcore
import httpx

from pipeline.errors import (
    BlockedDestination,
    DeadlineExceeded,
    FailureKind,
    FetchAborted,
    FetchError,
    ResolveError,
    ResponseTooLarge,
    TooManyRedirects,
    UnfetchableURL,
    kind_for_status,
)
from pipeline.records import Fetch
from pipeline.settings import Settings

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json,"
    " application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
CHUNK_SIZE = 64 * 1024
ARCHIVED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate", "br"})  # decode_body reads them
# DNS lookups that timed out but whose thread is still inside getaddrinfo (a dead resolver holds
# one for 5 s x attempts x name servers, or far longer); past this many, lookups fail at once.
DNS_MAX_STUCK = 16

# The name lookup: the seam where tests put a slow or dead resolver.
_getaddrinfo = socket.getaddrinfo

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class HostPolicy:
    """Decides which destinations may be contacted: public addresses, plus the allow-list."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allowed_names: set[str] = set()
        self.allowed_networks: list[IPNetwork] = []
        for item in allow:
            item = item.strip().lower()
            if not item:
                continue
            try:
                self.allowed_networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.allowed_names.add(item.rstrip("."))

    def address_allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in net for net in self.allowed_networks):
            return True
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_global and not ip.is_multicast

    def resolve(self, host: str, port: int) -> list[str]:
        """Resolve `host` and return its addresses, refusing when any of them is private.

        Blocks as long as the system resolver does: GuardedBackend bounds it (resolve_within)."""
        name = host.lower().rstrip(".")
        try:
            infos = _getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ResolveError(f"cannot resolve host {host!r}: {exc.strerror}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if name in self.allowed_names:
            return addresses
        refused = [a for a in addresses if not self.address_allowed(a)]
        if refused:
            raise BlockedDestination(
                f"refused private address {refused[0]} for host {host!r}"
                " (set NEWS_INGEST_ALLOW_HOSTS to allow it)"
            )
        return addresses


# The deadline of the fetch running on this thread: (monotonic time, configured seconds).
_fetch_deadline = threading.local()


def _deadline_exceeded(seconds: float) -> DeadlineExceeded:
    return DeadlineExceeded(f"deadline exceeded: response took over {seconds:g} s")


def _within_deadline(timeout: float | None) -> tuple[float | None, float | None]:
    """`timeout` cut to what is left of the deadline of the fetch running on this thread, and
    the deadline's configured seconds when it is the tighter bound (else None). Raises
    DeadlineExceeded once the deadline passed."""
    deadline = getattr(_fetch_deadline, "value", None)
    if deadline is None:
        return timeout, None
    left = deadline[0] - time.monotonic()
    if left <= 0:
        raise _deadline_exceeded(deadline[1])
    if timeout is None or left < timeout:
        return left, deadline[1]
    return timeout, None


_dns_lock = threading.Lock()
_dns_stuck = 0  # lookups given up on whose thread is still in the resolver


def _unstick(_: object) -> None:
    global _dns_stuck
    with _dns_lock:
        _dns_stuck -= 1


def resolve_within(
    resolve: Callable[[str, int], list[str]], host: str, port: int, timeout: float | None
) -> list[str]:
    """`resolve(host, port)`, waiting at most `timeout` and never past the fetch's deadline.

    getaddrinfo cannot be interrupted, so it runs on its own daemon thread and we stop waiting
    for it. A new thread per lookup, not a fixed pool: a lookup never queues behind stuck ones,
    and daemon threads (unlike ThreadPoolExecutor's) do not hold up interpreter exit. Threads
    are bounded all the same: one waited-for lookup per fetch thread, plus at most
    DNS_MAX_STUCK abandoned ones; beyond that the resolver is taken for dead and lookups fail at
    once (until stuck ones return) instead of piling up threads."""
    global _dns_stuck
    wait, deadline_seconds = _within_deadline(timeout)
    with _dns_lock:
        stuck = _dns_stuck
    if stuck >= DNS_MAX_STUCK:
        raise ResolveError(
            f"cannot resolve host {host!r}: DNS not answering"
            f" ({stuck} earlier lookups still wait for the resolver)"
        )
    future: Future[list[str]] = Future()

    def run() -> None:
        try:
            future.set_result(resolve(host, port))
        except BaseException as exc:  # handed to the waiting fetch, which reports it
            future.set_exception(exc)

    threading.Thread(target=run, name=f"dns {host}", daemon=True).start()
    if not wait_for((future,), timeout=wait).done:
        with _dns_lock:
            _dns_stuck += 1
        future.add_done_callback(_unstick)  # runs at once when it has finished meanwhile
        seconds = f"{wait:.2f}".rstrip("0").rstrip(".")
        why = f" (the rest of the {deadline_seconds:g} s deadline)" if deadline_seconds else ""
        raise ResolveError(
            f"cannot resolve host {host!r}: DNS lookup timed out after {seconds} s{why}"
        )
    return future.result()


class DeadlineStream(httpcore.NetworkStream):
    """A connection that checks, before every read and write, the deadline of the fetch
    running on the calling thread. httpcore reads the status line and headers before any of
    our code sees the response, so without this a server trickling header bytes (each read
    well inside the read timeout) would hold a fetch for hours. (Each single wait is already
    bounded by the request's timeouts, which _get_once cuts to the deadline.)"""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def _bounded(self, timeout: float | None) -> float | None:
        _within_deadline(timeout)  # raises once the deadline passed; the wait itself is as given
        return timeout

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._bounded(timeout))
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Network backend that checks every address it connects to, after DNS resolution.

    Connecting to the checked IP (not the name) closes the DNS-rebinding gap between the check
    and the connection; TLS still verifies the original host name."""

    def __init__(self, policy: HostPolicy) -> None:
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_within(self.policy.resolve, host, port, timeout)
        last_error: Exception | None = None
        for address in addresses:
            # The lookup (and earlier addresses) may have used up part of the deadline.
            attempt, _ = _within_deadline(timeout)
            try:
                stream = super().connect_tcp(address, port, attempt, local_address, socket_options)
                return DeadlineStream(stream)
            except httpcore.ConnectError as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"no address for {host!r}")


def guarded_transport(policy: HostPolicy, limits: httpx.Limits) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(limits=limits, trust_env=False)
    # httpx has no public hook for the network backend; rebuild its pool with ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(policy),
    )
    return transport


def _with_detail(what: str, exc: BaseException) -> str:
    return f"{what}: {exc}" if str(exc) else what


def _describe(exc: BaseException) -> tuple[str, FailureKind]:
    """A transport failure's one-line message and its kind."""
    if isinstance(exc, FetchError):
        return str(exc), exc.kind
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timeout", FailureKind.TEMPORARY
    if isinstance(exc, httpx.ReadTimeout):
        return "read timeout", FailureKind.TEMPORARY
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", FailureKind.TEMPORARY
    if isinstance(exc, httpx.ConnectError):
        return _with_detail("connection failed", exc), FailureKind.TEMPORARY
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return _with_detail("connection lost", exc), FailureKind.TEMPORARY
    if isinstance(exc, httpx.DecodingError):
        return f"bad content encoding: {exc}", FailureKind.SOFT
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {exc}", FailureKind.TEMPORARY
    return f"{type(exc).__name__}: {exc}", FailureKind.TEMPORARY


class Fetcher:
    """Fetches URLs with one shared httpx client. Thread-safe; use as a context manager.

    `transport` is the seam for tests and special deployments; by default every connection
    goes through the private-address guard."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.policy = HostPolicy(settings.allow_hosts)
        limits = httpx.Limits(
            max_connections=max(settings.fetch_workers, 1) * 2,
            max_keepalive_connections=max(settings.fetch_workers, 1),
        )
        self.client = httpx.Client(
            transport=transport or guarded_transport(self.policy, limits),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.deadline,
            ),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate, br"},
            follow_redirects=False,
            trust_env=False,
        )
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            slot = self._host_slots.get(host)
            if slot is None:
                slot = threading.BoundedSemaphore(max(self.settings.per_host, 1))
                self._host_slots[host] = slot
            return slot

    def fetch(
        self,
        url: str,
        kind: str,
        etag: str | None = None,
        last_modified: str | None = None,
        feed_id: int | None = None,
    ) -> Fetch:
        """GET `url`, following redirects up to the limit, and return what happened.

        Never raises for network or HTTP trouble: the returned Fetch carries the error."""
        started = datetime.now(UTC)
        t0 = time.monotonic()
        result = Fetch(url=url, kind=kind, started_at=started, feed_id=feed_id)
        headers = {"Accept": FEED_ACCEPT if kind == "feed" else PAGE_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        waited = 0.0  # time spent queued for a per-host slot: not the response's fault
        try:
            for _hop in range(self.settings.max_redirects + 1):
                scheme = urlsplit(current).scheme.lower()
                if scheme not in ("http", "https"):
                    raise UnfetchableURL(f"unsupported URL scheme {scheme!r}", url=current)
                host = (urlsplit(current).hostname or "").lower()
                if not host:
                    raise UnfetchableURL(f"URL has no host: {current!r}", url=current)
                queued = time.monotonic()
                with self._slot(host):
                    waited += time.monotonic() - queued
                    # The deadline runs from the first request, not from joining a queue
                    # behind slow responses of the same host (which would then fail unsent).
                    deadline = t0 + waited + self.settings.deadline
                    _fetch_deadline.value = (deadline, self.settings.deadline)
                    status, location = self._get_once(current, headers, result, deadline)
                if status in REDIRECT_STATUSES and location:
                    target = urljoin(current, location)
                    result.redirects.append((status, target))
                    current = target
                    continue
                break
            else:
                raise TooManyRedirects(
                    f"too many redirects (more than {self.settings.max_redirects})", url=url
                )
        except BlockedDestination as exc:
            result.error, result.failure_kind = str(exc), exc.kind
        except FetchAborted as exc:
            result.error, result.failure_kind = str(exc), exc.kind
            result.body = result.raw_body = b""
        except (httpx.HTTPError, OSError) as exc:
            result.error, result.failure_kind = _describe(exc)
            result.body = result.raw_body = b""
        finally:
            _fetch_deadline.value = None
        result.final_url = current
        # The response's own time: waiting for a per-host slot is the queue's, not the server's.
        result.elapsed_ms = int((time.monotonic() - t0 - waited) * 1000)
        if result.status is not None and result.status >= 400:
            # The server said what it was before its body failed, if it did: its status decides.
            result.failure_kind = kind_for_status(result.status)
            result.error = result.error or f"HTTP {result.status}"
        elif result.error is None and result.status in REDIRECT_STATUSES:
            result.error = f"HTTP {result.status} without a usable Location"
            result.failure_kind = kind_for_status(result.status)
        return result

    def _get_once(
        self, url: str, headers: dict[str, str], result: Fetch, deadline: float
    ) -> tuple[int, str | None]:
        # A hop that gets no response must not report the previous hop's status and headers.
        result.status, result.headers = None, {}
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _deadline_exceeded(self.settings.deadline)
        # No single wait (connect, a stalled read, a later redirect hop) may outlast the deadline.
        timeout = httpx.Timeout(
            connect=min(self.settings.connect_timeout, remaining),
            read=min(self.settings.read_timeout, remaining),
            write=min(self.settings.read_timeout, remaining),
            pool=remaining,
        )
        with self.client.stream("GET", url, headers=headers, timeout=timeout) as response:
            result.status = response.status_code
            result.headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code in REDIRECT_STATUSES:
                return response.status_code, response.headers.get("location")
            if response.status_code == 304:
                return 304, None
            declared = response.headers.get("content-length")
            encoded = response.headers.get("content-encoding") is not None
            too_large = declared and declared.isdigit() and int(declared) > self.settings.max_bytes
            if too_large and not encoded:
                raise ResponseTooLarge(
                    f"response too large: {declared} bytes declared,"
                    f" limit {self.settings.max_bytes}"
                )
            chunks: list[bytes] = []
            size = 0
            encodings = [
                e.strip().lower()
                for e in response.headers.get_list("content-encoding", split_commas=True)
            ]
            # One known coding: the bytes as sent are kept for the archive, which stores them
            # as they are instead of compressing the decoded page again.
            raw_chunks: list[bytes] | None = (
                [] if len(encodings) == 1 and encodings[0] in ARCHIVED_ENCODINGS else None
            )

            def raw_within_deadline() -> Iterator[bytes]:
                # Checked on every network read: a decoder may hold back output for ever (a
                # gzip file name that never ends), and a trickle never trips the read timeout.
                for raw in response.iter_raw():
                    if time.monotonic() > deadline:
                        raise _deadline_exceeded(self.settings.deadline)
                    if raw_chunks is not None:
                        raw_chunks.append(raw)
                    yield raw

            # Decoded here in bounded steps (not by iter_bytes, which inflates a whole network
            # read at once), so the cap applies to what we would really hold, as we inflate.
            for chunk in _decode(raw_within_deadline(), encodings):
                size += len(chunk)
                if size > self.settings.max_bytes:
                    raise ResponseTooLarge(
                        f"response too large: over {self.settings.max_bytes} bytes"
                        " after decompression"
                    )
                chunks.append(chunk)
            result.body = b"".join(chunks)
            result.raw_body = b"".join(raw_chunks) if raw_chunks and result.body else b""
            return response.status_code, None


def _inflate(chunks: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """gzip or deflate (zlib-wrapped or raw, as servers send both), CHUNK_SIZE bytes at a time."""
    wbits = zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    first = True
    for chunk in chunks:
        data = chunk
        while data and not decompressor.eof:
            try:
                out = decompressor.decompress(data, CHUNK_SIZE)
            except zlib.error:
                if not (first and wbits == zlib.MAX_WBITS):
                    raise
                # "deflate" without the zlib header: restart as raw deflate.
                wbits = -zlib.MAX_WBITS
                decompressor = zlib.decompressobj(wbits)
                out = decompressor.decompress(data, CHUNK_SIZE)
            first = False
            data = decompressor.unconsumed_tail
            if out:
                yield out
    # Input is all consumed by now, so only a few pending bytes remain to flush.
    if tail := decompressor.flush():
        yield tail


def _unbrotli(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Brotli, CHUNK_SIZE bytes at a time (a few hundred bytes of brotli can hold gigabytes)."""
    decompressor = brotli.Decompressor()
    for chunk in chunks:
        try:
            out = decompressor.process(chunk, output_buffer_limit=CHUNK_SIZE)
        except TypeError:  # brotli < 1.2 has no output limit; the cap still applies after
            out = decompressor.process(chunk)
        if out:
            yield out
        while hasattr(decompressor, "can_accept_more_data") and not (
            decompressor.can_accept_more_data()
        ):
            out = decompressor.process(b"", output_buffer_limit=CHUNK_SIZE)
            if out:
                yield out


def _decode(raw: Iterator[bytes], encodings: list[str]) -> Iterator[bytes]:
    """Undo the Content-Encoding(s), last applied first; unknown codings pass through as httpx
    would. Raises httpx.DecodingError on a corrupt stream."""
    chunks = raw
    for encoding in reversed([e.strip().lower() for e in encodings]):
        if encoding in ("gzip", "x-gzip", "deflate"):
            chunks = _inflate(chunks, encoding)
        elif encoding == "br":
            chunks = _unbrotli(chunks)
    try:
        yield from chunks
    except (zlib.error, brotli.error) as exc:
        raise httpx.DecodingError(str(exc)) from exc


def decode_body(data: bytes, encoding: str) -> bytes:
    """A whole body sent with Content-Encoding `encoding` (an archived one), decoded."""
    return b"".join(_decode(iter([data]), [encoding]))


def permanent_redirect_target(fetch: Fetch) -> str | None:
    """The URL a feed moved to, when every hop of its redirect chain was permanent."""
    permanent = all(status in PERMANENT_REDIRECTS for status, _ in fetch.redirects)
    if fetch.redirects and permanent and (fetch.ok or fetch.status == 304):
        return fetch.redirects[-1][1]
    return None
