"""The error hierarchy: one base, a kind per failure set where it happens, and classification
(feed backoff, page retries) that reads the kind, never the message."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import flows.api
import flows.cli
import flows.serve
import pipeline.errors
from pipeline import schedule
from pipeline.batches import fetch_feed_batch, fetch_page_batch
from pipeline.errors import (
    BlockedDestination,
    DocumentError,
    ExtractionError,
    FailureKind,
    FeedError,
    FetchAborted,
    NewsIngestError,
    OpmlError,
    ResolveError,
    UnsafeXML,
    WarehouseBusy,
    WarehouseError,
)
from pipeline.feeds import parse_feed
from pipeline.fetch import Fetcher
from pipeline.loopback import LoopbackSite
from pipeline.records import Entry, FeedState, Fetch
from pipeline.settings import Settings
from pipeline.store import PendingPage

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>http://127.0.0.1/a</link><guid>g1</guid></item>
</channel></rss>"""
HTML = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>hi</p></body></html>"
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><lolz>&lol9;</lolz>"
)


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as s:
        yield s


def settings(**kw: object) -> Settings:
    defaults: dict[str, object] = {"allow_hosts": ("127.0.0.1",), "deadline": 5.0}
    return Settings(**{**defaults, **kw})  # type: ignore[arg-type]


def fetch_one(url: str, kind: str = "feed", **kw: object) -> Fetch:
    with Fetcher(settings(**kw)) as fetcher:
        return fetcher.fetch(url, kind)


# --- the tree ---------------------------------------------------------------------------------


def public_error_classes() -> list[type[BaseException]]:
    modules = [pipeline.errors, flows.cli, flows.api, flows.serve]
    return [
        cls
        for module in modules
        for name, cls in vars(module).items()
        if inspect.isclass(cls)
        and issubclass(cls, BaseException)
        and not name.startswith("_")
        and cls.__module__ == module.__name__
    ]


def test_every_public_error_derives_from_news_ingest_error() -> None:
    classes = public_error_classes()
    names = {cls.__name__ for cls in classes}
    assert {"CommandError", "ApiError", "ServeError", "WarehouseBusy", "UnsafeXML"} <= names
    for cls in classes:
        assert issubclass(cls, NewsIngestError), cls
        assert isinstance(cls.kind, FailureKind), cls  # type: ignore[attr-defined]


def test_the_old_names_still_import_from_their_modules() -> None:
    import pipeline.discover
    import pipeline.extract
    import pipeline.feeds
    import pipeline.fetch
    import pipeline.opml

    assert pipeline.feeds.FeedError is FeedError
    assert pipeline.extract.ExtractionError is ExtractionError
    assert pipeline.opml.OpmlError is OpmlError
    assert pipeline.discover.UnsafeXML is UnsafeXML
    assert pipeline.fetch.BlockedDestination is BlockedDestination
    assert pipeline.fetch.FetchAborted is FetchAborted
    assert pipeline.fetch.ResolveError is ResolveError


def test_what_callers_catch_still_catches() -> None:
    # A resolver failure is an OSError (the fetcher's transport handler catches those); the
    # document errors are ValueErrors (discovery and the CLI catch those).
    assert issubclass(ResolveError, OSError)
    assert issubclass(OpmlError, ValueError) and issubclass(UnsafeXML, ValueError)
    assert issubclass(DocumentError, ValueError)
    assert issubclass(WarehouseBusy, WarehouseError)


def test_a_raise_site_may_give_another_kind() -> None:
    assert FeedError("not a feed: empty body").kind is FailureKind.HARD
    assert FeedError("unreadable", kind=FailureKind.SOFT).kind is FailureKind.SOFT
    assert FeedError("x").kind is FailureKind.HARD  # the class default is left alone
    assert ResolveError("cannot resolve host", url="http://x/").url == "http://x/"


# --- each raise site gives its kind -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "backoff"),
    [
        (503, FailureKind.TEMPORARY, "temporary"),
        (429, FailureKind.TEMPORARY, "temporary"),
        (404, FailureKind.HARD, "hard"),
        (410, FailureKind.HARD, "hard"),
        (500, FailureKind.SOFT, "soft"),
    ],
)
def test_http_status_kinds(
    site: LoopbackSite, status: int, kind: FailureKind, backoff: str
) -> None:
    site.fail("/f", status)
    result = fetch_one(site.url("/f"))
    assert result.error == f"HTTP {status}" and result.failure_kind is kind
    assert schedule.classify_failure(result) == backoff


def test_a_blocked_destination_is_refused(site: LoopbackSite) -> None:
    result = fetch_one(site.url("/f"), allow_hosts=())
    assert result.error is not None and result.error.startswith("refused private address")
    assert result.failure_kind is FailureKind.REFUSED
    assert schedule.classify_failure(result) == "hard"  # as a refused address always backed off
    assert not schedule.page_retryable(fetch_one(site.url("/p"), "page", allow_hosts=()))


def test_an_unsupported_scheme_is_refused() -> None:
    result = fetch_one("ftp://127.0.0.1/feed")
    assert result.failure_kind is FailureKind.REFUSED
    assert schedule.classify_failure(result) == "hard"


def test_an_oversized_body_is_refused_and_not_retried(site: LoopbackSite) -> None:
    site.set("/p", b"x" * 5000, "text/html")
    result = fetch_one(site.url("/p"), "page", max_bytes=1000)
    assert result.error is not None and result.error.startswith("response too large")
    assert result.failure_kind is FailureKind.REFUSED
    assert not schedule.page_retryable(result)


def test_a_refused_connection_is_temporary_and_retried() -> None:
    with LoopbackSite() as gone:
        url = gone.url("/p")
    result = fetch_one(url, "page")  # the port is closed now
    assert result.status is None and result.failure_kind is FailureKind.TEMPORARY
    assert schedule.page_retryable(result)
    assert schedule.classify_failure(result) == "temporary"


def test_feed_parse_failures_carry_their_kind() -> None:
    with pytest.raises(FeedError) as html:
        parse_feed(HTML, "http://x/feed")
    assert html.value.kind is FailureKind.HARD  # not a feed, as it always backed off
    with pytest.raises(FeedError) as empty:
        parse_feed(b"", "http://x/feed")
    assert empty.value.kind is FailureKind.HARD


def test_html_and_entity_bombs_as_feeds_fail_on_the_fetch_record(
    site: LoopbackSite, tmp_path: Path
) -> None:
    """A 200 whose body is no feed fails the feed and its fetch alike, with the kind of the
    parse failure: the `fetches` row then says why (it used to stay silent)."""
    site.set("/html", HTML, "text/html")
    site.set("/laughs", LAUGHS, "application/xml")
    site.set("/good", RSS, "application/rss+xml")
    feeds = [
        FeedState(feed_id=i, url=site.url(p)) for i, p in enumerate(["/html", "/laughs", "/good"])
    ]
    with Fetcher(settings()) as fetcher:
        html, laughs, good = fetch_feed_batch(feeds, fetcher, tmp_path / "archive", 100, "t")
    for result in (html, laughs):
        assert result.error and result.fetch.error == result.error, result.feed.url
        assert result.fetch.status == 200 and result.fetch.failure_kind is not None
        assert not result.fetch.ok
    assert html.error.startswith("not a feed: got an HTML page")
    assert html.fetch.failure_kind is FailureKind.HARD
    assert schedule.classify_failure(html.fetch) == "hard"
    assert laughs.error.startswith("not a feed")
    assert good.error is None and good.fetch.ok and good.fetch.failure_kind is None


def test_a_robots_refusal_is_refused_and_not_retried(tmp_path: Path) -> None:
    page = PendingPage(url="http://127.0.0.1:9/p", link_key="k", entry=Entry(guid="g", link=None))
    with Fetcher(settings()) as fetcher:
        (result,) = fetch_page_batch(
            [page], fetcher, tmp_path / "archive", None, "t", gate=lambda _: "disallowed"
        )
    assert result.fetch.failure_kind is FailureKind.REFUSED
    assert not schedule.page_retryable(result.fetch)


# --- classification reads the kind, never the message -----------------------------------------


def failed(status: int | None, error: str, kind: FailureKind) -> Fetch:
    return Fetch(
        url="http://x/", kind="page", started_at=datetime.now(UTC), status=status, error=error,
        failure_kind=kind,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "kind", "backoff", "retried"),
    [
        (None, FailureKind.TEMPORARY, "temporary", True),
        (None, FailureKind.REFUSED, "hard", False),
        (200, FailureKind.REFUSED, "hard", False),
        (200, FailureKind.HARD, "hard", False),
        (200, FailureKind.SOFT, "soft", False),
        (500, FailureKind.SOFT, "soft", True),
        (503, FailureKind.TEMPORARY, "temporary", True),
        (404, FailureKind.HARD, "hard", False),
    ],
)
def test_rewording_a_message_changes_no_decision(
    status: int | None, kind: FailureKind, backoff: str, retried: bool
) -> None:
    # The words the old message matching looked for, and none at all: the same decisions.
    for error in (
        "read timeout",
        "refused private address 10.0.0.1",
        "disallowed by robots.txt",
        "not a feed: got an HTML page",
        "unsupported URL scheme 'ftp'",
        "something else entirely",
    ):
        fetch = failed(status, error, kind)
        assert schedule.classify_failure(fetch) == backoff, (error, kind)
        assert schedule.page_retryable(fetch) is retried, (error, kind)


def test_retry_after_until() -> None:
    asked = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    until = schedule.retry_after_until(429, "3600", asked)
    assert until == datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    assert schedule.retry_after_until(503, "Fri, 27 Nov 2026 14:00:00 GMT", asked) == datetime(
        2026, 11, 27, 14, 0, tzinfo=UTC
    )
    assert schedule.retry_after_until(500, "3600", asked) is None  # honoured on 429/503 only
    assert schedule.retry_after_until(429, None, asked) is None
    assert schedule.retry_after_until(429, "0", asked) is None
