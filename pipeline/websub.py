"""WebSub (W3C Recommendation) subscriber: discovery, subscription requests, intent
verification, signed pushes, lease renewal and each subscription's health. Pure: no Prefect,
no warehouse; the one network step (POSTing to a hub) goes through the fetcher's
private-address guard.

The protocol in brief (https://www.w3.org/TR/websub/): a feed names its hub(s) and its own
canonical URL (`self`, the topic) in an HTTP `Link` header or in the document. We POST
hub.mode=subscribe with a callback URL of ours, a secret and a lease; the hub answers 202
and later GETs the callback with hub.challenge, which we echo only when the topic and the
callback are ours. From then on the hub POSTs each new version of the feed to the callback,
signed with HMAC(secret) in X-Hub-Signature. Subscriptions end with their lease: we renew at
half of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

import httpx
from lxml import etree

from pipeline.errors import FetchError
from pipeline.fetch import HostPolicy, guarded_transport
from pipeline.jsonfeed import json_feed_hubs, looks_like_json
from pipeline.names import one_line
from pipeline.settings import Settings

# X-Hub-Signature methods the spec names; sha1 only for hubs that still send it.
SIGNATURE_METHODS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
SECRET_BYTES = 32  # 64 hex characters: the spec caps hub.secret at 200 bytes
TOKEN_BYTES = 18  # the random path segment that names one subscription's callback
WEB_SCHEMES = ("http", "https")
# A subscription row's state (see `health` for what the feed's polling makes of it): none (the
# feed names no hub), pending (asked, not verified yet), verified, denied (the hub refused),
# failed (the request or a renewal failed).

# The leases a hub may grant, in seconds: a minute to 30 days; outside, held to the nearer end.
LEASE_RANGE = (60, 30 * 86400)

_LINK_RE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL_RE = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)


class WebSubError(FetchError):
    """A hub URL refused, or a hub that did not accept a request; the message says which."""


# --- discovery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubLinks:
    """What a feed says about its WebSub hubs: their URLs, its topic URL (`self`) and where
    the hubs were found: header (HTTP Link), feed (<link rel="hub">), json (JSON Feed hubs)."""

    hubs: tuple[str, ...]
    self_url: str | None
    found_in: str | None


def link_header_rels(value: str, base_url: str) -> list[tuple[str, set[str]]]:
    """The (absolute URL, rel values) of an HTTP Link header (RFC 8288), in order."""
    found: list[tuple[str, set[str]]] = []
    for match in _LINK_RE.finditer(value or ""):
        rels: set[str] = set()
        for rel in _REL_RE.finditer(match.group(2)):
            rels.update((rel.group(1) or rel.group(2) or "").lower().split())
        url = urljoin(base_url, match.group(1).strip())
        if urlsplit(url).scheme.lower() in WEB_SCHEMES:
            found.append((url, rels))
    return found


def _document_links(body: bytes, base_url: str) -> list[tuple[str, set[str]]]:
    """<link rel=... href=...> anywhere in an XML feed (Atom's link, RSS's atom:link)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        return []
    if root is None:
        return []
    found: list[tuple[str, set[str]]] = []
    for element in root.iter("{*}link"):
        href = (element.get("href") or "").strip()
        rels = set((element.get("rel") or "").lower().split())
        if href and rels & {"hub", "self"}:
            url = urljoin(base_url, href)
            if urlsplit(url).scheme.lower() in WEB_SCHEMES:
                found.append((url, rels))
    return found


def _json_self(body: bytes, base_url: str) -> str | None:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    value = document.get("feed_url") if isinstance(document, dict) else None
    if isinstance(value, str) and value.strip():
        url = urljoin(base_url, value.strip())
        return url if urlsplit(url).scheme.lower() in WEB_SCHEMES else None
    return None


def discover(headers: Mapping[str, str], body: bytes, url: str) -> HubLinks:
    """A feed's hubs and topic: the HTTP Link header first, then the feed's own
    <link rel="hub">/<link rel="self"> (Atom, or atom:link in RSS), then a JSON Feed's `hubs`
    (and `feed_url`). The topic is `self` where one is named, else the feed's URL."""
    lowered = {k.lower(): v for k, v in headers.items()}
    places: list[tuple[str, list[tuple[str, set[str]]]]] = [
        ("header", link_header_rels(lowered.get("link", ""), url))
    ]
    if looks_like_json(body):
        json_links = [(hub, {"hub"}) for hub in json_feed_hubs(body, url)]
        json_self = _json_self(body, url)
        if json_self:
            json_links.append((json_self, {"self"}))
        places.append(("json", json_links))
    else:
        places.append(("feed", _document_links(body, url)))
    hubs: tuple[str, ...] = ()
    self_url: str | None = None
    found_in: str | None = None
    for place, links in places:
        place_hubs = tuple(dict.fromkeys(u for u, rels in links if "hub" in rels))
        place_self = next((u for u, rels in links if "self" in rels), None)
        if not hubs and place_hubs:
            hubs, found_in = place_hubs, place
        self_url = self_url or place_self
    return HubLinks(hubs=hubs, self_url=self_url or (url if hubs else None), found_in=found_in)


# --- subscriptions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One feed's subscription at one hub: a row of `websub_subscriptions`."""

    feed_id: int
    hub: str | None
    topic: str | None
    callback_token: str | None  # names the callback URL: <base>/websub/<token>
    secret: str | None
    state: str
    lease_seconds: int | None = None
    requested_at: datetime | None = None
    verified_at: datetime | None = None
    expires_at: datetime | None = None
    last_push_at: datetime | None = None
    pushes_received: int = 0
    pushes_rejected: int = 0
    failures: int = 0
    last_error: str | None = None

    @property
    def renew_at(self) -> datetime | None:
        """When to ask again: half-way through the lease."""
        if self.verified_at is None or self.lease_seconds is None:
            return None
        return self.verified_at + timedelta(seconds=self.lease_seconds / 2)


def new_secret() -> str:
    """A random hub.secret, one per subscription (never reused across hubs or renewals of
    another feed)."""
    return secrets.token_hex(SECRET_BYTES)


def new_callback_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def callback_url(base_url: str, token: str) -> str:
    """The callback the hub calls for one subscription: an unguessable path below our base."""
    return f"{base_url.rstrip('/')}/websub/{token}"


def callback_token(path: str) -> str | None:
    """The subscription token of a callback request's path, or None when it names none."""
    match = re.fullmatch(r"/websub/([A-Za-z0-9_-]{8,64})/?", urlsplit(path).path)
    return match.group(1) if match else None


def new_subscription(
    feed_id: int, hub: str, topic: str, lease_seconds: int, now: datetime
) -> Subscription:
    """A subscription about to be requested: a fresh secret and callback, state pending."""
    return Subscription(
        feed_id=feed_id,
        hub=hub,
        topic=topic,
        callback_token=new_callback_token(),
        secret=new_secret(),
        state="pending",
        lease_seconds=lease_seconds,
        requested_at=now,
    )


def subscription_form(sub: Subscription, base_url: str, mode: str = "subscribe") -> dict[str, str]:
    """The form a hub is POSTed to (un)subscribe `sub`."""
    if not (sub.topic and sub.callback_token):
        raise ValueError("a subscription request needs a topic and a callback")
    form = {
        "hub.mode": mode,
        "hub.topic": sub.topic,
        "hub.callback": callback_url(base_url, sub.callback_token),
        "hub.verify": "async",
    }
    if mode == "subscribe":
        if sub.secret:
            form["hub.secret"] = sub.secret
        if sub.lease_seconds:
            form["hub.lease_seconds"] = str(sub.lease_seconds)
    return form


def renewal(sub: Subscription, now: datetime) -> Subscription:
    """The same subscription asked for again (same callback and secret: pushes the hub signs
    meanwhile must still verify), still healthy until the hub verifies it, its lease running."""
    return replace(sub, requested_at=now)


def renewal_due(sub: Subscription, now: datetime) -> bool:
    """Whether a verified subscription has reached half its lease."""
    renew_at = sub.renew_at
    return sub.state == "verified" and renew_at is not None and now >= renew_at


def failed(sub: Subscription, error: str) -> Subscription:
    """A subscription whose request or renewal failed: its feed goes back to normal polling."""
    return replace(sub, state="failed", failures=sub.failures + 1, last_error=one_line(error))


def health(sub: Subscription | None, now: datetime, silent_after: timedelta) -> str:
    """What a subscription means for its feed's polling: `healthy` (pushes expected: poll
    rarely), else why not: none, pending, silent (no push for `silent_after`), expired,
    denied, failed."""
    if sub is None:
        return "none"
    if sub.state != "verified":
        return sub.state
    if sub.expires_at is not None and sub.expires_at <= now:
        return "expired"
    heard = [t for t in (sub.last_push_at, sub.verified_at) if t is not None]
    if not heard or now - max(heard) > silent_after:
        return "silent"
    return "healthy"


@dataclass(frozen=True)
class PushPolling:
    """How a feed with a healthy subscription is polled: every `poll_every` at most; a hub
    without a push for `silent_after` no longer counts as healthy."""

    poll_every: timedelta
    silent_after: timedelta


def push_polling(settings: Settings) -> PushPolling:
    return PushPolling(
        poll_every=timedelta(seconds=settings.websub_poll_interval),
        silent_after=timedelta(seconds=settings.websub_silent_after),
    )


# --- intent verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class IntentAnswer:
    """Our answer to a hub's verification GET: status, body, and the subscription as it
    stands after it (None when nothing changes)."""

    status: int
    body: str
    subscription: Subscription | None
    reason: str


def clamp_lease(seconds: int) -> int:
    """A hub's granted lease held to LEASE_RANGE (a huge one would overflow the datetime
    arithmetic and the INTEGER column; a tiny one would renew in a loop)."""
    low, high = LEASE_RANGE
    return min(max(seconds, low), high)


def verify_intent(
    params: Mapping[str, str], sub: Subscription | None, now: datetime
) -> IntentAnswer:
    """Answer a hub's GET to a callback. `sub` is the subscription the callback path names
    (None: an unknown callback). The challenge is echoed only for the topic we asked for at
    that callback, in a mode we asked for; anything else is 404, as the spec says."""
    mode = params.get("hub.mode", "")
    topic = params.get("hub.topic", "")
    if sub is None:
        return IntentAnswer(404, "", None, "unknown callback")
    if topic != sub.topic:
        return IntentAnswer(404, "", None, f"unknown topic {topic!r}")
    if mode == "denied":
        reason = one_line(params.get("hub.reason") or "no reason given")
        denied = replace(sub, state="denied", last_error=f"hub denied: {reason}")
        return IntentAnswer(200, "", denied, f"hub denied the subscription: {reason}")
    challenge = params.get("hub.challenge", "")
    if not challenge:
        return IntentAnswer(404, "", None, "no hub.challenge")
    if mode == "subscribe" and sub.state in ("pending", "verified"):
        lease = params.get("hub.lease_seconds", "")
        seconds = clamp_lease(int(lease)) if lease.isdigit() else sub.lease_seconds
        verified = replace(
            sub,
            state="verified",
            lease_seconds=seconds,
            verified_at=now,
            expires_at=now + timedelta(seconds=seconds) if seconds else None,
            failures=0,
            last_error=None,
        )
        return IntentAnswer(200, challenge, verified, "subscription verified")
    return IntentAnswer(404, "", None, f"not asked for: hub.mode={mode!r}")


# --- pushes -----------------------------------------------------------------------------------


def sign(body: bytes, secret: str, method: str = "sha256") -> str:
    """The X-Hub-Signature value a hub sends for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, SIGNATURE_METHODS[method]).hexdigest()
    return f"{method}={digest}"


def check_signature(body: bytes, header: str | None, secret: str | None) -> str | None:
    """None when `header` is a valid X-Hub-Signature of `body` under `secret`; else why not.
    Compared in constant time."""
    if not secret:
        return "the subscription has no secret"
    if not header:
        return "unsigned push (no X-Hub-Signature)"
    method, _, given = header.strip().partition("=")
    algorithm = SIGNATURE_METHODS.get(method.strip().lower())
    if algorithm is None:
        return f"unknown signature method {method.strip()[:20]!r}"
    expected = hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()
    given_bytes = given.strip().lower().encode("ascii", "replace")
    if not hmac.compare_digest(expected.encode("ascii"), given_bytes):
        return "bad signature"
    return None


def push_too_large(declared: str | None, cap: int) -> str | None:
    """Why a push of Content-Length `declared` is refused before reading it, else None (a push
    without a length is read up to the cap and refused past it)."""
    if declared is None or not declared.strip():
        return None
    if not declared.strip().isdigit():
        return "bad Content-Length"
    if int(declared) > cap:
        return f"push too large: {declared} bytes, limit {cap}"
    return None


# --- talking to hubs --------------------------------------------------------------------------


class HubClient:
    """POSTs subscription requests to hubs through the fetcher's private-address guard (a hub
    URL is as untrusted as a feed's: it comes from the feed)."""

    def __init__(self, allow_hosts: tuple[str, ...], user_agent: str, timeout: float) -> None:
        self.policy = HostPolicy(allow_hosts)
        self.client = httpx.Client(
            transport=guarded_transport(self.policy, httpx.Limits(max_connections=4)),
            timeout=timeout,
            headers={"User-Agent": user_agent},
            follow_redirects=False,
            trust_env=False,
        )

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def request(self, hub: str, form: Mapping[str, str]) -> None:
        """POST `form` to `hub`; raises WebSubError (one line) unless the hub accepts it
        (202, or any 2xx)."""
        scheme = urlsplit(hub).scheme.lower()
        if scheme not in WEB_SCHEMES:
            raise WebSubError(f"hub {hub!r}: unsupported URL scheme {scheme!r}")
        try:
            response = self.client.post(hub, data=dict(form))
        except FetchError as exc:
            raise WebSubError(f"hub {hub}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise WebSubError(one_line(f"hub {hub}: {type(exc).__name__}: {exc}")) from exc
        if not 200 <= response.status_code < 300:
            text = one_line(response.text[:200]) if response.text else ""
            raise WebSubError(
                f"hub {hub} refused {form.get('hub.mode')}: HTTP {response.status_code}"
                + (f" {text}" if text else "")
            )
