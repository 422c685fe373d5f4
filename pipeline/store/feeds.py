"""Feeds: the registry, each fetch's effect on a feed's state, its next fetch time, health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from pipeline import schedule
from pipeline.records import FeedResult, FeedState, Fetch
from pipeline.store.connection import WarehouseConnection
from pipeline.store.entries import identify_entries, store_entries
from pipeline.store.runs import insert_fetches
from pipeline.store.schemas import FEED_STATE_SCHEMA, POLL_SCHEMA
from pipeline.store.websub import HUB_STATUS_SQL, hub_status_params
from pipeline.websub import PushPolling


def add_feeds(
    db: WarehouseConnection, urls: Sequence[str], titles: Sequence[str | None] | None = None
) -> int:
    """Register feeds (already-known URLs are left as they are); return how many were new."""
    title_of: dict[str, str | None] = {}
    for url, title in zip(urls, list(titles or []) + [None] * len(urls), strict=False):
        url = url.strip()
        if url and title_of.get(url) is None:  # a duplicate keeps the first title given
            title_of[url] = title
    rows = list(title_of)
    if not rows:
        return 0
    table = pa.table(
        {"url": rows, "title": [title_of.get(u) for u in rows]},
        schema=pa.schema([("url", pa.string()), ("title", pa.string())]),
    )
    with db.transaction() as con:
        before = db.scalar("SELECT count(*) FROM feeds")
        con.register("new_feeds", table)
        db.insert_new(
            "feeds",
            ["url", "title"],
            "SELECT url, title FROM new_feeds",
            ["url"],
            id_column="feed_id",
        )
        con.unregister("new_feeds")
        after = db.scalar("SELECT count(*) FROM feeds")
    return int(after - before)


def feed_states(
    db: WarehouseConnection,
    urls: Sequence[str] | None = None,
    due: bool = False,
    pushed: PushPolling | None = None,
) -> list[FeedState]:
    """The feeds to poll: the given URLs (registered first), or every active feed; with
    `due`, only the active feeds whose next fetch time has come, less (with `pushed`) those
    whose WebSub subscription is healthy and that were polled within its `poll_every`."""
    if due:
        now = datetime.now(UTC)
        pushed_rule, params = "", [now]
        if pushed is not None:
            pushed_rule = (
                f" AND NOT EXISTS (SELECT 1 FROM websub_subscriptions s"
                f" WHERE s.feed_id = feeds.feed_id AND ({HUB_STATUS_SQL}) = 'healthy'"
                f" AND feeds.last_fetched_at > ?)"
            )
            params += hub_status_params(now, pushed.silent_after) + [now - pushed.poll_every]
        rows = db.con.execute(
            "SELECT feed_id, url, etag, last_modified FROM feeds WHERE active"
            " AND (next_fetch_at IS NULL OR next_fetch_at <= ?)" + pushed_rule + " ORDER BY"
            " next_fetch_at NULLS FIRST, feed_id",
            params,
        ).fetchall()
    elif urls:
        add_feeds(db, urls)
        rows = db.con.execute(
            "SELECT feed_id, url, etag, last_modified FROM feeds WHERE url IN"
            " (SELECT unnest(?)) ORDER BY feed_id",
            [[u.strip() for u in urls]],  # as add_feeds stored them
        ).fetchall()
    else:
        rows = db.con.execute(
            "SELECT feed_id, url, etag, last_modified FROM feeds WHERE active ORDER BY feed_id"
        ).fetchall()
    return [FeedState(feed_id=r[0], url=r[1], etag=r[2], last_modified=r[3]) for r in rows]


def list_feeds(db: WarehouseConnection) -> list[dict[str, Any]]:
    cur = db.con.execute(
        "SELECT feed_id, url, title, site_url, last_status, last_error, consecutive_failures,"
        " last_fetched_at FROM feeds ORDER BY feed_id"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def record_feed_results(
    db: WarehouseConnection, run_id: int, results: list[FeedResult]
) -> dict[str, int]:
    """Store a batch of feed fetches: fetch rows, feed state, new entries. One transaction."""
    now = datetime.now(UTC)
    counts = {
        "feeds_fetched": 0,
        "feeds_not_modified": 0,
        "feeds_failed": 0,
        "entries_seen": 0,
        "entries_new": 0,
        "articles_linked": 0,
    }
    state_rows = []
    for r in results:
        f = r.fetch
        failed = r.error is not None
        if failed:
            counts["feeds_failed"] += 1
            if f.kind == "push":
                # A pushed body that does not parse says nothing of the feed as polled: its
                # state, failure count and schedule stay (the push counts as rejected).
                continue
        elif f.status == 304:
            counts["feeds_not_modified"] += 1
        else:
            counts["feeds_fetched"] += 1
        moved_to = permanent_move(f)
        state_rows.append(
            {
                "feed_id": r.feed.feed_id,
                "title": r.parsed.title if r.parsed else None,
                "site_url": r.parsed.site_url if r.parsed else None,
                "etag": f.headers.get("etag") if f.ok and not failed else None,
                "last_modified": f.headers.get("last-modified") if f.ok and not failed else None,
                # A push carries no validators of the feed as polled: keep the poll's.
                "keep_validators": f.status == 304 or failed or f.kind == "push",
                "last_status": f.status,
                "last_error": r.error,
                "failed": failed,
                "format": r.parsed.format if r.parsed else None,
                "ttl_minutes": r.parsed.ttl_minutes if r.parsed else None,
                "parse_warning": r.parsed.warning if r.parsed else None,
                "moved_to": moved_to,
            }
        )
        counts["entries_seen"] += len(r.entries)
    with db.transaction() as con:
        entry_rows, guid_changes, relisted = identify_entries(db, results, now, run_id)
        insert_fetches(db, run_id, [r.fetch for r in results])
        if state_rows:
            data = pa.Table.from_pylist(state_rows, schema=FEED_STATE_SCHEMA)
            con.register("_feed_state", data)
            con.execute(
                """
                UPDATE feeds SET
                    title = coalesce(s.title, feeds.title),
                    site_url = coalesce(s.site_url, feeds.site_url),
                    etag = CASE WHEN s.keep_validators THEN feeds.etag ELSE s.etag END,
                    last_modified = CASE WHEN s.keep_validators THEN feeds.last_modified
                                         ELSE s.last_modified END,
                    last_fetched_at = ?,
                    last_status = s.last_status,
                    last_error = s.last_error,
                    consecutive_failures = CASE WHEN s.failed
                        THEN feeds.consecutive_failures + 1 ELSE 0 END,
                    format = coalesce(s.format, feeds.format),
                    ttl_minutes = coalesce(s.ttl_minutes, feeds.ttl_minutes),
                    parse_warning = CASE WHEN s.last_status = 304 THEN feeds.parse_warning
                                         ELSE s.parse_warning END
                FROM _feed_state s WHERE feeds.feed_id = s.feed_id
                """,
                [now],
            )
            # A permanent redirect moves the feed, unless another feed already has that URL
            # (or moves there in this batch: the lowest feed_id takes it).
            con.execute(
                """
                UPDATE feeds SET url = s.moved_to
                FROM (SELECT moved_to, min(feed_id) AS feed_id FROM _feed_state
                      WHERE moved_to IS NOT NULL GROUP BY moved_to) s
                WHERE feeds.feed_id = s.feed_id
                  AND s.moved_to NOT IN (SELECT url FROM feeds)
                """
            )
            con.unregister("_feed_state")
        store_entries(db, entry_rows, guid_changes, relisted, counts)
        schedule_feeds(db, [r for r in results if r.error is None or r.fetch.kind != "push"], now)
    return counts


def schedule_feeds(db: WarehouseConnection, results: list[FeedResult], now: datetime) -> None:
    """Set each fetched feed's next fetch time (pipeline.schedule); retire feeds gone (410)."""
    if not results:
        return
    ids = [r.feed.feed_id for r in results]
    state = {
        int(feed_id): (int(failures or 0), ttl, rate, dated)
        for feed_id, failures, ttl, rate, dated in db.con.execute(
            """
            SELECT f.feed_id, f.consecutive_failures, f.ttl_minutes,
                   count(e.published_at) FILTER (WHERE e.published_at >= ?) / 14.0,
                   count(e.published_at)
            FROM feeds f LEFT JOIN feed_entries e USING (feed_id)
            WHERE f.feed_id IN (SELECT unnest(?)) GROUP BY ALL
            """,
            [now - timedelta(days=14), ids],
        ).fetchall()
    }
    rows = []
    for r in results:
        failures, ttl, rate, dated = state.get(r.feed.feed_id, (0, None, None, 0))
        entries_per_day = float(rate) if dated else None
        failed = r.error is not None
        when, delay, kind = schedule.next_fetch(
            r.fetch, failed, r.error, failures, entries_per_day, ttl, now
        )
        rows.append(
            {
                "feed_id": r.feed.feed_id,
                "next_fetch_at": when,
                "poll_interval_s": int(delay.total_seconds()),
                "failure_kind": kind,
                "entries_per_day": entries_per_day,
                "retire": r.fetch.status == 410,
            }
        )
    db.con.register("_poll", pa.Table.from_pylist(rows, schema=POLL_SCHEMA))
    db.con.execute(
        """
        UPDATE feeds SET next_fetch_at = p.next_fetch_at, poll_interval_s = p.poll_interval_s,
            failure_kind = p.failure_kind,
            entries_per_day = coalesce(p.entries_per_day, feeds.entries_per_day),
            active = feeds.active AND NOT p.retire,
            retired_at = CASE WHEN p.retire THEN ? ELSE feeds.retired_at END
        FROM _poll p WHERE feeds.feed_id = p.feed_id
        """,
        [now],
    )
    db.con.unregister("_poll")


def feed_health(
    db: WarehouseConnection, silent_after: timedelta = timedelta(days=2)
) -> list[dict[str, Any]]:
    """Each feed's polling state: ok, failing (backing off), retired (410) or new; and its
    WebSub hub's status (pipeline.websub.health; NULL: not looked at for hubs yet)."""
    names, rows = db.query(
        f"""
        SELECT f.feed_id, url,
               CASE WHEN retired_at IS NOT NULL THEN 'retired'
                    WHEN NOT active THEN 'inactive'
                    WHEN last_fetched_at IS NULL THEN 'new'
                    WHEN consecutive_failures > 0 THEN 'failing'
                    ELSE 'ok' END AS state,
               last_status, failure_kind, consecutive_failures, f.last_error,
               last_fetched_at, next_fetch_at, round(poll_interval_s / 60.0, 1) AS every_min,
               round(entries_per_day, 1) AS entries_per_day,
               {HUB_STATUS_SQL} AS hub_status, s.pushes_received AS pushes,
               s.last_push_at
        FROM feeds f LEFT JOIN websub_subscriptions s ON s.feed_id = f.feed_id
        WHERE url NOT LIKE 'backfill:%'
        ORDER BY consecutive_failures DESC, f.feed_id
        """,
        hub_status_params(datetime.now(UTC), silent_after),
    )
    return [dict(zip(names, row, strict=True)) for row in rows]


def permanent_move(f: Fetch) -> str | None:
    from pipeline.fetch import permanent_redirect_target  # local: fetch imports httpx

    return permanent_redirect_target(f)
