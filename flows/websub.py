"""WebSub in `news-ingest serve`: the `websub-push` flow, which loads one pushed feed body
through the ingest flow's stages (entries → pages → articles → dedup → tables), and the service
that runs the callback endpoint, subscribes feeds to their hubs and renews the leases.

Every warehouse access of the service happens on its one worker thread, in order: a push's
flow run, saving subscriptions, counting refused pushes, the periodic look for feeds to
subscribe and leases to renew. The endpoint's threads only read and update the in-memory
subscription book and queue work, so a hub is answered at once whatever the warehouse does."""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from flows.ingest import (
    fetch_and_load_pages,
    open_step,
    recorded_run,
    report,
    run_name,
    write_warehouse,
)
from flows.runners import thread_runner
from pipeline.archive import ArchiveWriter
from pipeline.batches import warm_up
from pipeline.errors import FeedError
from pipeline.feeds import parse_feed
from pipeline.fetch import Fetcher
from pipeline.names import one_line
from pipeline.records import FeedResult, FeedState, Fetch
from pipeline.settings import Settings
from pipeline.store import Warehouse
from pipeline.websub import (
    HubClient,
    Subscription,
    WebSubError,
    discover,
    failed,
    new_subscription,
    renewal,
    renewal_due,
    subscription_form,
)
from pipeline.websub_callback import (
    CallbackServer,
    Clock,
    Push,
    SpoolError,
    SubscriptionBook,
    fail_spool,
    read_push,
    spooled_pushes,
    utc_now,
)

log = logging.getLogger("news_ingest.websub")
INBOX = "websub-inbox"  # pushes accepted, not yet loaded: beside the archive's WARC files
RECHECK_NO_HUB = timedelta(days=7)  # a feed that named no hub is looked at again after this


def inbox_path(settings: Settings) -> Path:
    return settings.archive_path / INBOX


@flow(
    name="websub-push",
    flow_run_name=run_name,
    persist_result=False,
    task_runner=thread_runner(),
)
def websub_push(spool: str, warehouse: str | None = None) -> dict[str, int]:
    """Load one pushed feed body (spooled by the callback endpoint at `spool`) as a fetched
    feed is loaded: parsed, its new entries stored, their pages fetched and extracted inline,
    the articles deduplicated; a run of mode `push`. The spool files go once it is loaded."""
    logger = get_run_logger()
    settings = Settings.from_env(warehouse=warehouse or None)
    path = settings.warehouse
    try:
        push = read_push(Path(spool))
    except FileNotFoundError:  # queued twice, and loaded already
        logger.info("push %s: loaded already", Path(spool).name)
        return {}
    except SpoolError as exc:
        logger.warning("%s; moved to %s", exc, fail_spool(Path(spool)).parent)
        return {}
    with open_step(path) as wh:
        found = wh.sql(
            "SELECT url, etag, last_modified FROM feeds WHERE feed_id = ?", [push.feed_id]
        )
    if not found:
        moved = push.fail()
        logger.warning(
            "push for feed %d: the feed is not registered; moved to %s", push.feed_id, moved.parent
        )
        return {}
    url, etag, last_modified = found[0]
    # No extraction pool: spawning one costs seconds, and a push brings a few pages.
    with (
        recorded_run(path, "push", settings, logger, pool=False) as (run_id, totals, _),
        Fetcher(settings) as fetcher,
    ):
        result = pushed_feed_result(
            FeedState(push.feed_id, url, etag, last_modified), push, settings
        )
        if result.error:
            logger.warning("push for feed %s: %s", url, result.error)
        logger.info("run %d: push for %s: %d entries", run_id, url, len(result.entries))
        counts = write_warehouse(path, "feed_results", run_id, quote([result]))
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        with open_step(path) as wh:
            # A signed body that does not parse is a rejected push, not a feed failure.
            wh.record_push(push.feed_id, push.received_at, accepted=result.error is None)
        fetch_and_load_pages(path, run_id, settings, fetcher, None, [push.feed_id], totals)
    per_feed = [
        {
            "url": url,
            "status": 200,
            "error": result.error,
            "kind": "push",
            "entries": len(result.entries),
        }
    ]
    report(run_id, "push", totals, per_feed)
    push.remove()
    return {"run_id": run_id, **totals}


def pushed_feed_result(feed: FeedState, push: Push, settings: Settings) -> FeedResult:
    """A pushed body as a feed fetch (kind `push`): archived, then parsed as a fetched one."""
    body = push.body()
    headers = {"content-type": push.content_type} if push.content_type else {}
    fetch = Fetch(
        url=push.topic or feed.url,
        kind="push",
        started_at=push.received_at,
        final_url=push.topic or feed.url,
        status=200,
        body=body,
        headers=headers,
        feed_id=feed.feed_id,
    )
    archive = ArchiveWriter(settings.archive_path, "push")
    try:
        archive.write(fetch)
    finally:
        archive.close()
    result = FeedResult(feed=feed, fetch=fetch)
    try:
        parsed = parse_feed(body, push.topic or feed.url, headers, settings.max_bytes)
    except FeedError as exc:
        result.error = fetch.error = f"pushed body: {exc}"
        fetch.failure_kind = exc.kind
        return result
    parsed.entries = parsed.entries[: settings.max_entries_per_feed]
    result.parsed = parsed
    return result


class WebSubService:
    """The callback endpoint, the worker that loads pushes and keeps subscriptions, and the
    timer that asks it, every NEWS_INGEST_WEBSUB_CHECK_INTERVAL, to subscribe and renew.
    `clock` is the seam for tests (a fake clock moves leases on); `load_push` runs a push."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock = utc_now,
        load_push: Callable[..., Any] = websub_push,
    ) -> None:
        if not settings.websub_callback_url:
            raise ValueError("WebSub needs NEWS_INGEST_WEBSUB_CALLBACK_URL")
        self.settings = settings
        self.clock = clock
        self.load_push = load_push
        self.book = SubscriptionBook()
        self.jobs: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.server = CallbackServer(
            self.book,
            settings.websub_listen,
            settings.websub_port,
            inbox_path(settings),
            settings.websub_max_push_bytes,
            on_verified=self._verified,
            on_push=lambda push: self.jobs.put(("push", push)),
            on_rejected=self._rejected,
            clock=clock,
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, timer: bool = True) -> WebSubService:
        """Load the subscriptions, start the endpoint and the worker, queue the pushes a
        previous process accepted but did not load, and (with `timer`) the periodic check."""
        with Warehouse(self.settings.warehouse, wait=self.settings.wait) as wh:
            for sub in wh.subscriptions():
                self.book.put(sub)
        # The inbox is read before the endpoint starts: a push arriving now is queued once.
        spooled = spooled_pushes(inbox_path(self.settings), self._unloadable)
        self.server.start()
        self._spawn(self._work, "websub-worker")
        self.jobs.put(("warm", None))  # pushes extract inline: import the stack before the first
        for push in spooled:
            self.jobs.put(("push", push))
        if timer:
            self._spawn(self._timer, "websub-timer")
        log.info(
            "WebSub callback endpoint on %s:%d, public at %s",
            self.settings.websub_listen,
            self.server.port,
            self.settings.websub_callback_url,
        )
        return self

    def stop(self) -> None:
        self._stop.set()
        self.jobs.put(("stop", None))
        self.server.stop()
        for thread in self._threads:
            thread.join(timeout=30)

    def tick(self, now: datetime | None = None) -> None:
        """Queue a look for feeds to subscribe and leases to renew (at `now`)."""
        self.jobs.put(("tick", now))

    def wait_idle(self) -> None:
        """Block until every job queued so far is done."""
        self.jobs.join()

    # -- the endpoint's callbacks (its threads) --------------------------------------------

    def _verified(self, sub: Subscription, reason: str) -> None:
        log.info("WebSub feed %d at %s: %s", sub.feed_id, sub.hub, reason)
        self.jobs.put(("save", [sub]))

    def _rejected(self, sub: Subscription, reason: str) -> None:
        log.warning("WebSub push for feed %d refused: %s", sub.feed_id, reason)
        self.jobs.put(("rejected", sub.feed_id))

    @staticmethod
    def _unloadable(moved: Path, reason: str) -> None:
        log.warning("WebSub %s; moved to %s", reason, moved.parent)

    # -- the worker ------------------------------------------------------------------------

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        # In a copy of the starting thread's context: Prefect settings set there (the API URL
        # of `serve`'s server) live in context variables, which a new thread does not inherit.
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(target,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _timer(self) -> None:
        while not self._stop.wait(self.settings.websub_check_interval):
            self.tick()

    def _work(self) -> None:
        while True:
            kind, payload = self.jobs.get()
            try:
                if kind == "stop":
                    return
                self._run(kind, payload)
            except Exception as exc:  # one job's failure must not end the worker
                log.error("WebSub %s failed: %s", kind, one_line(f"{type(exc).__name__}: {exc}"))
            finally:
                self.jobs.task_done()

    def _run(self, kind: str, payload: Any) -> None:
        warehouse = str(self.settings.warehouse)
        if kind == "push":
            self.load_push(spool=str(payload.spool), warehouse=warehouse)
        elif kind == "save":
            self._save(payload)
        elif kind == "rejected":
            with Warehouse(self.settings.warehouse, wait=self.settings.wait) as wh:
                wh.record_push(payload, self.clock(), accepted=False)
        elif kind == "warm":
            warm_up()
        elif kind == "tick":
            self._check(payload or self.clock())

    def _save(self, subs: list[Subscription]) -> None:
        with Warehouse(self.settings.warehouse, wait=self.settings.wait) as wh:
            wh.save_subscriptions(subs, self.clock())

    # -- subscribing and renewing ----------------------------------------------------------

    def _check(self, now: datetime) -> None:
        """Subscribe feeds not looked at yet (or whose subscription ended), renew the leases
        at half-time; a failed request or renewal puts the feed back to normal polling."""
        with Warehouse(self.settings.warehouse, wait=self.settings.wait) as wh:
            feeds = wh.feed_states()
        changed: list[int] = []
        settings = self.settings
        with (
            HubClient(settings.allow_hosts, settings.user_agent, settings.connect_timeout) as hubs,
            Fetcher(settings) as fetcher,
        ):
            for feed in feeds:
                sub = self.book.feed(feed.feed_id)
                if sub is not None and renewal_due(sub, now):
                    sub = renewal(sub, now)
                elif self._wants_subscription(sub, now):
                    sub = self._discover(feed, fetcher, now)
                    if sub.state != "pending":  # no hub, or the feed did not answer
                        self.book.put(sub)
                        changed.append(feed.feed_id)
                        continue
                else:
                    continue
                self.book.put(sub)  # before the request: the hub may verify at once
                changed.append(feed.feed_id)
                try:
                    hubs.request(
                        sub.hub or "", subscription_form(sub, settings.websub_callback_url)
                    )
                except WebSubError as exc:
                    log.warning("WebSub feed %s: %s", feed.url, exc)
                    self.book.put(failed(sub, str(exc)))
        saved = [s for s in (self.book.feed(f) for f in changed) if s is not None]
        self._save(saved)

    def _wants_subscription(self, sub: Subscription | None, now: datetime) -> bool:
        if sub is None:
            return True
        since = now - (sub.requested_at or now)
        if sub.state == "none":
            return since >= RECHECK_NO_HUB
        if sub.state in ("failed", "denied", "pending"):  # pending: never verified
            return since >= timedelta(seconds=self.settings.websub_poll_interval)
        if sub.state == "verified" and sub.expires_at is not None:
            return sub.expires_at <= now  # a lease that ran out: subscribe afresh
        return False

    def _discover(self, feed: FeedState, fetcher: Fetcher, now: datetime) -> Subscription:
        fetch = fetcher.fetch(feed.url, "feed", feed_id=feed.feed_id)
        if fetch.error is not None:
            none = Subscription(feed.feed_id, None, None, None, None, "failed", requested_at=now)
            return failed(none, f"feed fetch for hub discovery: {fetch.error}")
        links = discover(fetch.headers, fetch.body, fetch.final_url or feed.url)
        if not links.hubs or links.self_url is None:
            return Subscription(feed.feed_id, None, None, None, None, "none", requested_at=now)
        sub = new_subscription(
            feed.feed_id, links.hubs[0], links.self_url, self.settings.websub_lease_seconds, now
        )
        log.info("WebSub feed %s: hub %s (from the %s)", feed.url, sub.hub, links.found_in)
        return sub
