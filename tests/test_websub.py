"""pipeline/websub.py on its own: discovery, requests, intent verification, signatures,
renewal timing and health (the loopback hub runs in tests/test_websub_hub.py)."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from pipeline import websub
from pipeline.websub_callback import CallbackServer, SubscriptionBook
from tests.websub_hub import LoopbackHub

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
FEED = "https://example.org/feed.xml"

ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<link rel="hub" href="https://hub.example.net/"/><link rel="self" href="/atom.xml"/>
<link rel="alternate" href="https://example.org/"/></feed>"""
RSS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>t</title><atom:link rel="hub" href="https://pubsubhubbub.appspot.com/"/>
<atom:link rel="self" href="https://example.org/rss" type="application/rss+xml"/>
</channel></rss>"""
JSON = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "t",
        "feed_url": "https://example.org/feed.json",
        "hubs": [{"type": "WebSub", "url": "https://hub.example.com/"}],
        "items": [],
    }
).encode()


def test_discovery_from_the_link_header_comes_first() -> None:
    headers = {"Link": '<https://h1.example/>; rel="hub", <https://example.org/t>; rel=self'}
    found = websub.discover(headers, ATOM, FEED)
    assert found == websub.HubLinks(("https://h1.example/",), "https://example.org/t", "header")


def test_discovery_from_atom_and_rss_links() -> None:
    atom = websub.discover({}, ATOM, FEED)
    assert atom == websub.HubLinks(
        ("https://hub.example.net/",), "https://example.org/atom.xml", "feed"
    )
    rss = websub.discover({}, RSS, FEED)
    assert rss.hubs == ("https://pubsubhubbub.appspot.com/",)
    assert rss.self_url == "https://example.org/rss"


def test_discovery_from_json_feed_hubs() -> None:
    found = websub.discover({"content-type": "application/feed+json"}, JSON, FEED)
    assert found == websub.HubLinks(
        ("https://hub.example.com/",), "https://example.org/feed.json", "json"
    )


def test_no_hub_and_hub_without_self() -> None:
    assert websub.discover({}, b"<rss><channel/></rss>", FEED) == websub.HubLinks((), None, None)
    header_only = websub.discover({"link": "<https://h.example/>; rel=hub"}, b"", FEED)
    assert header_only.self_url == FEED  # no self anywhere: the URL we fetched is the topic


def test_subscription_request_and_renewal() -> None:
    sub = websub.new_subscription(7, "https://hub.example/", FEED, 3600, NOW)
    form = websub.subscription_form(sub, "https://ingest.example.org/")
    assert form["hub.mode"] == "subscribe" and form["hub.topic"] == FEED
    assert form["hub.verify"] == "async" and form["hub.lease_seconds"] == "3600"
    assert form["hub.callback"] == f"https://ingest.example.org/websub/{sub.callback_token}"
    assert sub.secret and len(sub.secret.encode()) < 200
    other = websub.new_subscription(8, "https://hub.example/", FEED, 3600, NOW)
    assert other.secret != sub.secret and other.callback_token != sub.callback_token
    assert websub.callback_token(f"/websub/{sub.callback_token}?hub.mode=x") == sub.callback_token
    assert websub.callback_token("/elsewhere") is None

    verified = websub.verify_intent(
        {
            "hub.mode": "subscribe",
            "hub.topic": FEED,
            "hub.challenge": "c1",
            "hub.lease_seconds": "1000",
        },
        sub,
        NOW,
    ).subscription
    assert verified is not None and verified.renew_at == NOW + timedelta(seconds=500)
    assert not websub.renewal_due(verified, NOW + timedelta(seconds=499))
    assert websub.renewal_due(verified, NOW + timedelta(seconds=500))
    renewed = websub.renewal(verified, NOW)
    assert renewed.callback_token == verified.callback_token and renewed.secret == verified.secret
    assert renewed.requested_at == NOW and renewed.state == "verified"


def test_intent_verification_checks_topic_challenge_and_callback() -> None:
    sub = websub.new_subscription(1, "https://hub.example/", FEED, 3600, NOW)
    good = {"hub.mode": "subscribe", "hub.topic": FEED, "hub.challenge": "xyz"}
    answer = websub.verify_intent(good, sub, NOW)
    assert (answer.status, answer.body) == (200, "xyz")
    assert answer.subscription is not None and answer.subscription.state == "verified"
    assert websub.verify_intent({**good, "hub.topic": FEED + "?x"}, sub, NOW).status == 404
    assert websub.verify_intent({**good, "hub.challenge": ""}, sub, NOW).status == 404
    assert websub.verify_intent(good, None, NOW).status == 404
    unasked = websub.verify_intent({**good, "hub.mode": "unsubscribe"}, sub, NOW)
    assert unasked.status == 404
    denied = websub.verify_intent(
        {"hub.mode": "denied", "hub.topic": FEED, "hub.reason": "no"}, sub, NOW
    )
    assert denied.subscription is not None and denied.subscription.state == "denied"


def test_a_granted_lease_is_held_to_a_minute_to_30_days() -> None:
    sub = websub.new_subscription(1, "https://hub.example/", FEED, 3600, NOW)
    ask = {"hub.mode": "subscribe", "hub.topic": FEED, "hub.challenge": "xyz"}
    for granted, held in (("9" * 40, 30 * 86400), ("5", 60), ("0", 60), ("864000", 864000)):
        answer = websub.verify_intent({**ask, "hub.lease_seconds": granted}, sub, NOW)
        verified = answer.subscription
        assert verified is not None and verified.lease_seconds == held
        assert verified.expires_at == NOW + timedelta(seconds=held)


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_signatures(method: str) -> None:
    body, secret = b"<feed>news</feed>", "s3cret"
    header = websub.sign(body, secret, method)
    assert websub.check_signature(body, header, secret) is None
    assert websub.check_signature(body + b" ", header, secret) == "bad signature"
    assert websub.check_signature(body, header, "other") == "bad signature"
    assert websub.check_signature(body, None, secret) == "unsigned push (no X-Hub-Signature)"
    assert websub.check_signature(body, "md5=abc", secret) == "unknown signature method 'md5'"
    assert websub.check_signature(body, header, None) == "the subscription has no secret"


def test_push_size_cap() -> None:
    assert websub.push_too_large("100", 100) is None
    assert websub.push_too_large("101", 100) == "push too large: 101 bytes, limit 100"
    assert websub.push_too_large("x", 100) == "bad Content-Length"
    assert websub.push_too_large(None, 100) is None


def test_health() -> None:
    silent_after = timedelta(hours=1)
    sub = websub.new_subscription(1, "https://hub.example/", FEED, 3600, NOW)
    assert websub.health(None, NOW, silent_after) == "none"
    assert websub.health(sub, NOW, silent_after) == "pending"
    verified = replace(sub, state="verified", verified_at=NOW, expires_at=NOW + timedelta(hours=2))
    assert websub.health(verified, NOW + timedelta(minutes=30), silent_after) == "healthy"
    assert websub.health(verified, NOW + timedelta(minutes=61), silent_after) == "silent"
    pushed = replace(verified, last_push_at=NOW + timedelta(minutes=50))
    assert websub.health(pushed, NOW + timedelta(minutes=61), silent_after) == "healthy"
    assert websub.health(pushed, NOW + timedelta(hours=3), silent_after) == "expired"
    broken = websub.failed(verified, "hub said no\nreally")
    assert websub.health(broken, NOW, silent_after) == "failed"
    assert broken.failures == 1 and broken.last_error == "hub said no really"


def test_hub_at_a_private_address_is_refused() -> None:
    """The hub client resolves hub hosts through the fetcher's guard: loopback is refused
    unless allowed, and allowed it is reached."""
    form = {"hub.mode": "subscribe", "hub.topic": FEED, "hub.callback": "http://127.0.0.1:9/x"}
    with LoopbackHub() as hub:
        refused = pytest.raises(websub.WebSubError, match="refused private address 127.0.0.1")
        with websub.HubClient((), "test", 5.0) as client, refused:
            client.request(hub.url, form)
        assert hub.requests == []  # refused before a byte was sent
        with websub.HubClient(("127.0.0.1",), "test", 5.0) as client:
            client.request(hub.url, form)
        assert hub.requests == [form]
        not_web = pytest.raises(websub.WebSubError, match="unsupported URL scheme 'file'")
        with websub.HubClient(("127.0.0.1",), "test", 5.0) as client, not_web:
            client.request("file:///etc/passwd", {})


def test_callback_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.settings import Settings, SettingsError

    monkeypatch.setenv("NEWS_INGEST_WEBSUB_CALLBACK_URL", "ingest.example.org")
    with pytest.raises(SettingsError, match="NEWS_INGEST_WEBSUB_CALLBACK_URL must be an http"):
        Settings.from_env()
    monkeypatch.setenv("NEWS_INGEST_WEBSUB_CALLBACK_URL", "https://ingest.example.org/")
    settings = Settings.from_env()
    sub = websub.new_subscription(1, "https://hub.example/", FEED, 60, NOW)
    form = websub.subscription_form(sub, settings.websub_callback_url)
    assert form["hub.callback"] == f"https://ingest.example.org/websub/{sub.callback_token}"


def test_callback_endpoint_cuts_off_slow_clients_and_caps_its_threads(tmp_path: Path) -> None:
    """Two clients that send a push's headers and trickle nothing of its body hold the two
    handler slots; a third request is answered 503 at once; after the request timeout both are
    cut off (nothing spooled) and the endpoint answers again."""
    sub = replace(
        websub.new_subscription(1, "https://hub.example/", FEED, 100, NOW), state="verified"
    )
    rejected: list[str] = []
    server = CallbackServer(
        SubscriptionBook([sub]),
        "127.0.0.1",
        0,
        tmp_path / "inbox",
        1024,
        on_verified=lambda s, reason: None,
        on_push=lambda push: None,
        on_rejected=lambda s, reason: rejected.append(reason),
        request_timeout=1.0,
        max_handlers=2,
    ).start()
    path = f"/websub/{sub.callback_token}"
    slow = []
    try:
        for _ in range(2):
            client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            client.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n<feed".encode()
            )
            slow.append(client)
        time.sleep(0.2)  # both taken in hand
        busy = httpx.get(f"http://127.0.0.1:{server.port}{path}", timeout=10)
        assert busy.status_code == 503
        for client in slow:  # closed by the server, unanswered (else recv times out: 10 s)
            assert client.recv(1024) == b""
        time.sleep(0.2)  # the slots released
        again = httpx.get(f"http://127.0.0.1:{server.port}{path}", timeout=10)
        assert again.status_code == 404  # a verification without a challenge: answered
    finally:
        for client in slow:
            client.close()
        server.stop()
    assert not (tmp_path / "inbox").exists() and rejected == []


def test_the_test_hub_says_when_verifications_do_not_come() -> None:
    with LoopbackHub() as hub, pytest.raises(TimeoutError, match="made 0 of 1 intent"):
        hub.wait_verifications(1, timeout=0.2)
