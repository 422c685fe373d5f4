"""WebSub subscriptions (one row a feed) and each article's arrival: when its entry was first
seen and whether a push, a poll, a backfill or a revisit brought it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from typing import Any

from pipeline.store.connection import WarehouseConnection
from pipeline.websub import Subscription

COLUMNS = [f.name for f in fields(Subscription)]
# Written by record_push only (save_subscriptions leaves them alone).
PUSH_COLUMNS = ("last_push_at", "pushes_received", "pushes_rejected")

# A feed's hub status, as pipeline.websub.health() tells it, in SQL over `s`
# (websub_subscriptions) with two parameters: now, and the time before which a hub that has
# not pushed counts as silent. NULL: the feed was not looked at for hubs yet.
HUB_STATUS_SQL = """
CASE WHEN s.feed_id IS NULL THEN NULL
     WHEN s.state <> 'verified' THEN s.state
     WHEN s.expires_at IS NOT NULL AND s.expires_at <= ? THEN 'expired'
     WHEN greatest(s.verified_at, coalesce(s.last_push_at, s.verified_at)) < ? THEN 'silent'
     ELSE 'healthy' END
"""


def hub_status_params(now: datetime, silent_after: timedelta) -> list[datetime]:
    return [now, now - silent_after]


def subscriptions(
    db: WarehouseConnection, feed_ids: Sequence[int] | None = None
) -> list[Subscription]:
    """The subscription rows (of `feed_ids`, or all)."""
    where = " WHERE feed_id IN (SELECT unnest(?))" if feed_ids is not None else ""
    params = [list(feed_ids)] if feed_ids is not None else []
    rows = db.con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM websub_subscriptions{where} ORDER BY feed_id", params
    ).fetchall()
    return [Subscription(**dict(zip(COLUMNS, row, strict=True))) for row in rows]


def save_subscriptions(
    db: WarehouseConnection, subs: Sequence[Subscription], checked_at: datetime
) -> None:
    """Write these subscriptions in one transaction: the fields the service owns are updated
    in place (the row inserted when the feed has none). The push counters and last_push_at
    are record_push's: an in-memory copy's stale counts never overwrite them."""
    if not subs:
        return
    owned = [c for c in COLUMNS if c not in PUSH_COLUMNS]
    assignments = ", ".join(f"{c} = ?" for c in owned)
    marks = ", ".join("?" for _ in range(len(COLUMNS) + 1))
    with db.transaction() as con:
        for sub in subs:
            values: dict[str, Any] = asdict(sub)
            con.execute(
                f"UPDATE websub_subscriptions SET {assignments}, checked_at = ? WHERE feed_id = ?",
                [values[c] for c in owned] + [checked_at, sub.feed_id],
            )
            # No key on a lake (nor on the file: one table for both): insert unless there.
            con.execute(
                f"INSERT INTO websub_subscriptions ({', '.join(COLUMNS)}, checked_at)"
                f" SELECT {marks} WHERE NOT EXISTS"
                " (SELECT 1 FROM websub_subscriptions WHERE feed_id = ?)",
                [values[c] for c in COLUMNS] + [checked_at, sub.feed_id],
            )


def record_push(db: WarehouseConnection, feed_id: int, at: datetime, accepted: bool) -> None:
    """Count a push at `feed_id`'s subscription: received (and when), or rejected."""
    with db.transaction() as con:
        if accepted:
            con.execute(
                "UPDATE websub_subscriptions SET pushes_received = pushes_received + 1,"
                " last_push_at = greatest(coalesce(last_push_at, ?), ?) WHERE feed_id = ?",
                [at, at, feed_id],
            )
        else:
            con.execute(
                "UPDATE websub_subscriptions SET pushes_rejected = pushes_rejected + 1"
                " WHERE feed_id = ?",
                [feed_id],
            )


def stamp_arrivals(db: WarehouseConnection, article_ids: Sequence[int]) -> None:
    """Set new articles' first_seen_at (their earliest entry's, else their fetch time) and
    arrived_via: backfill or push after the run that stored them, revisit when a later run than
    the one that first saw their entry stored them (a retried page), else poll. Inside the
    caller's transaction, once the articles' entries are linked to them."""
    if not article_ids:
        return
    db.con.execute(
        """
        UPDATE articles SET first_seen_at = coalesce(s.first_seen_at, articles.fetched_at),
            arrived_via = CASE WHEN s.mode = 'backfill' THEN 'backfill'
                               WHEN s.entry_run IS NOT NULL AND s.entry_run <> articles.run_id
                                   THEN 'revisit'
                               WHEN s.mode = 'push' THEN 'push'
                               ELSE 'poll' END
        FROM (
            SELECT a.article_id, min(e.first_seen_at) AS first_seen_at,
                   arg_min(e.run_id, e.first_seen_at) AS entry_run, any_value(r.mode) AS mode
            FROM articles a
            LEFT JOIN (SELECT * FROM feed_entries WHERE article_id IN (SELECT unnest(?))) e
                ON e.article_id = a.article_id
            LEFT JOIN runs r ON r.run_id = a.run_id
            WHERE a.article_id IN (SELECT unnest(?))
            GROUP BY a.article_id
        ) s
        WHERE articles.article_id = s.article_id
        """,
        [list(article_ids), list(article_ids)],
    )
