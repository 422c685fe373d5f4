"""Edit tracking in the warehouse: judging a page fetched again against the stored version
(pipeline.changes), recording each version pair in `article_changes`, and the revisit state
of watched articles (`article_revisits`: planned by pipeline.revisit, updated by revisits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline import changes, revisit
from pipeline.records import Article, Entry, Fetch, PageResult, PendingPage, RevisitTarget
from pipeline.store.connection import WarehouseConnection
from pipeline.store.names import norm_names
from pipeline.store.runs import insert_fetches
from pipeline.urls import url_key

CHANGE_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("from_version", pa.int32()),
        ("to_version", pa.int32()),
        ("detected_at", pa.timestamp("us", tz="UTC")),
        ("kind", pa.string()),
        ("fields_changed", pa.list_(pa.string())),
        ("chars_added", pa.int32()),
        ("chars_removed", pa.int32()),
        ("sentences_added", pa.int32()),
        ("sentences_deleted", pa.int32()),
        ("sentences_edited", pa.int32()),
        ("notice_kind", pa.string()),
        ("notice_text", pa.string()),
        ("modified_moved", pa.bool_()),
        ("old_title", pa.string()),
        ("new_title", pa.string()),
        ("run_id", pa.int64()),
    ]
)
REVISIT_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("url", pa.string()),
        ("watched", pa.bool_()),
        ("last_changed_at", pa.timestamp("us", tz="UTC")),
        ("last_checked_at", pa.timestamp("us", tz="UTC")),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("body_hash", pa.string()),
        ("revisits", pa.int32()),
        ("not_modified", pa.int32()),
    ]
)


REMOVED_SCHEMA = pa.schema([("article_id", pa.int64()), ("removal_reason", pa.string())])

# How long a pass's claim on the articles it planned holds: longer than a pass takes (a
# budget of pages, fetched in parallel), short enough that a killed pass's articles come back.
REVISIT_CLAIM = timedelta(hours=1)

VISIT_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("body_hash", pa.string()),
        ("unchanged", pa.int32()),
    ]
)


def stored_snapshots(
    db: WarehouseConnection, ids: Sequence[int]
) -> dict[int, tuple[changes.Snapshot, list[str], str | None]]:
    """Per article: its stored version as a Snapshot, the fingerprint of the version before
    it (a flip-flop back to it is no version), and a short text's fingerprint seen once."""
    rows = db.con.execute(
        """
        SELECT a.article_id, a.title, a.text, a.published_at, a.modified_at, a.image,
            (SELECT list(au.name ORDER BY aa.position) FROM article_authors aa
               JOIN authors au USING (author_id) WHERE aa.article_id = a.article_id),
            (SELECT list(c.name) FROM article_categories ac
               JOIN categories c USING (category_id) WHERE ac.article_id = a.article_id),
            (SELECT list(t.name) FROM article_tags atg
               JOIN tags t USING (tag_id) WHERE atg.article_id = a.article_id),
            (SELECT arg_max(ch.notice_text, ch.to_version) FROM article_changes ch
               WHERE ch.article_id = a.article_id AND ch.notice_kind = 'correction'),
            (SELECT arg_max(struct_pack(title := v.title, text := v.text), v.version)
               FROM article_versions v
               WHERE v.article_id = a.article_id AND v.version < a.version),
            r.short_fingerprint
        FROM articles a LEFT JOIN article_revisits r USING (article_id)
        WHERE a.article_id IN (SELECT unnest(?))
        """,
        [list(ids)],
    ).fetchall()
    out: dict[int, tuple[changes.Snapshot, list[str], str | None]] = {}
    for row in rows:
        snapshot = changes.Snapshot(
            title=row[1],
            text=row[2] or "",
            authors=list(row[6] or []),
            published_at=row[3],
            modified_at=row[4],
            topics=list(row[7] or []) + list(row[8] or []),
            image=row[5],
            correction=row[9],
        )
        before = row[10]
        earlier = [changes.fingerprint(before["title"], before["text"])] if before else []
        out[int(row[0])] = (snapshot, earlier, row[11])
    return out


def snapshot_of(art: Article) -> changes.Snapshot:
    return changes.Snapshot(
        title=art.title,
        text=art.text,
        authors=norm_names(art.authors, keep_order=True),
        published_at=art.published_at,
        modified_at=art.modified_at,
        topics=[*art.categories, *art.tags],
        image=art.image,
        correction=art.correction,
    )


def change_row(
    article_id: int,
    version: int,
    change: changes.ChangeRecord,
    old: changes.Snapshot,
    new: changes.Snapshot,
    now: datetime,
    run_id: int,
) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "from_version": version - 1,
        "to_version": version,
        "detected_at": now,
        "kind": change.kind,
        "fields_changed": list(change.fields_changed),
        "chars_added": change.chars_added,
        "chars_removed": change.chars_removed,
        "sentences_added": change.sentences_added,
        "sentences_deleted": change.sentences_deleted,
        "sentences_edited": change.sentences_edited,
        "notice_kind": change.notice_kind,
        "notice_text": change.notice_text,
        "modified_moved": change.modified_moved,
        "old_title": old.title,
        "new_title": new.title,
        "run_id": run_id,
    }


def record_changes(
    db: WarehouseConnection,
    change_rows: list[dict[str, Any]],
    short_seen: dict[int, str],
    now: datetime,
) -> None:
    """Inside store_versions' transaction: the version pairs' rows (a rerun adds none twice),
    the edited articles back on the fast schedule, short texts seen once remembered."""
    if change_rows:
        db.con.register("_changes", pa.Table.from_pylist(change_rows, schema=CHANGE_SCHEMA))
        db.insert_new(
            "article_changes",
            CHANGE_SCHEMA.names,
            "SELECT * FROM _changes",
            ["article_id", "to_version"],
        )
        db.con.unregister("_changes")
        db.con.execute(
            "UPDATE article_revisits SET last_changed_at = ?, watched = TRUE,"
            " short_fingerprint = NULL WHERE article_id IN (SELECT unnest(?))",
            [now, sorted({r["article_id"] for r in change_rows})],
        )
    for article_id, fingerprint in short_seen.items():  # rare: failed extractions
        db.con.execute(
            "UPDATE article_revisits SET short_fingerprint = ? WHERE article_id = ?",
            [fingerprint, article_id],
        )


def page_validators(fetch: Fetch) -> tuple[str | None, str | None, str | None]:
    """A page fetch's ETag, Last-Modified and body hash: what its first revisit sends."""
    digest = changes.body_hash(fetch.body) if fetch.body else None
    return fetch.headers.get("etag"), fetch.headers.get("last-modified"), digest


def watch_new(
    db: WarehouseConnection,
    rows: list[dict[str, Any]],
    validators: dict[int, tuple[str | None, str | None, str | None]] | None = None,
) -> None:
    """New articles start watched, last changed (and checked) at their first fetch, with
    their page's validators and body hash. A backfill's articles are old when fetched: their
    schedule is keyed to publication (last changed when published), so one published before
    the window is unwatched by the next plan instead of revisited every 15 minutes."""
    if not rows:
        return
    validators = validators or {}
    backfills = {
        int(run_id)
        for (run_id,) in db.con.execute(
            "SELECT run_id FROM runs WHERE mode = 'backfill' AND run_id IN (SELECT unnest(?))",
            [sorted({r["run_id"] for r in rows if r["run_id"] is not None})],
        ).fetchall()
    }
    watch = []
    for r in rows:
        etag, last_modified, digest = validators.get(r["article_id"], (None, None, None))
        watch.append(
            {
                "article_id": r["article_id"],
                "etag": etag,
                "last_modified": last_modified,
                "body_hash": digest,
                "url": r["url"],
                "watched": True,
                "last_changed_at": min(r["fetched_at"], r["published_at"])
                if r["run_id"] in backfills and r["published_at"] is not None
                else r["fetched_at"],
                "last_checked_at": r["fetched_at"],
                "revisits": 0,
                "not_modified": 0,
            }
        )
    db.con.register("_watch", pa.Table.from_pylist(watch, schema=REVISIT_SCHEMA))
    db.insert_new("article_revisits", REVISIT_SCHEMA.names, "SELECT * FROM _watch", ["article_id"])
    db.con.unregister("_watch")


def refresh_validators(db: WarehouseConnection, fetched: list[tuple[int, Fetch]]) -> None:
    """A known article's page fetched again (its feed announced a change): the next revisit
    sends this answer's validators, so an unchanged page then costs one 304."""
    rows = []
    for article_id, fetch in fetched:
        etag, last_modified, digest = page_validators(fetch)
        rows.append(
            {"article_id": article_id, "etag": etag, "last_modified": last_modified,
             "body_hash": digest, "unchanged": 0}
        )  # fmt: skip
    if not rows:
        return
    db.con.register("_fetched", pa.Table.from_pylist(rows, schema=VISIT_SCHEMA))
    db.con.execute(
        "UPDATE article_revisits SET etag = f.etag, last_modified = f.last_modified,"
        " body_hash = f.body_hash FROM _fetched f WHERE article_revisits.article_id = f.article_id"
    )
    db.con.unregister("_fetched")


def _epoch(column: pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.float64]]:
    micros = (
        column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    )
    values = np.asarray(micros, dtype=np.float64) / 1e6
    mask = column.is_null().to_numpy(zero_copy_only=False)
    values[mask] = np.nan
    return values


def plan_revisits(
    db: WarehouseConnection,
    now: datetime,
    schedule: revisit.Schedule,
    budget: int,
    per_host: int,
    all_watched: bool = False,
    claim: timedelta = REVISIT_CLAIM,
) -> tuple[list[RevisitTarget], dict[str, int]]:
    """Inside a write transaction: the watched articles due for a revisit (pipeline.revisit.plan
    over all of them at once), claimed until `now + claim` so that a pass planned meanwhile
    leaves them out (recording a revisit ends its claim); those past the schedule's window
    are unwatched, and every watched one's next revisit time stored."""
    # The host as a hash, computed by DuckDB: no Python call per watched article.
    table = db.con.execute(
        "SELECT article_id, hash(lower(regexp_extract(url, '^[a-zA-Z]+://([^/:?#]+)', 1)))"
        " AS host, last_changed_at, last_checked_at FROM article_revisits"
        " WHERE watched AND (claimed_until IS NULL OR claimed_until <= ?)",
        [now],
    ).to_arrow_table()
    counts = {"revisits_due": 0, "revisits_deferred": 0, "articles_unwatched": 0}
    if table.num_rows == 0:
        return [], counts
    ids = table.column("article_id").to_numpy(zero_copy_only=False).astype(np.int64)
    hosts = table.column("host").to_numpy(zero_copy_only=False)
    result = revisit.plan(
        ids,
        hosts,
        _epoch(table.column("last_changed_at")),
        _epoch(table.column("last_checked_at")),
        now.timestamp(),
        schedule,
        budget,
        per_host,
        all_watched,
    )
    if len(result.unwatch):
        db.con.execute(
            "UPDATE article_revisits SET watched = FALSE, next_revisit_at = NULL"
            " WHERE article_id IN (SELECT unnest(?))",
            [result.unwatch.tolist()],
        )
    nexts = pa.table(
        {
            "article_id": pa.array(ids, pa.int64()),
            "next_at": pa.array(result.next_at * 1e6, pa.float64()),
        }
    ).filter(pa.compute.invert(pa.compute.is_nan(pa.array(result.next_at))))
    db.con.register("_next", nexts)
    db.con.execute(
        "UPDATE article_revisits SET next_revisit_at = make_timestamptz(CAST(n.next_at AS BIGINT))"
        " FROM _next n WHERE article_revisits.article_id = n.article_id"
        " AND article_revisits.next_revisit_at IS DISTINCT FROM"
        " make_timestamptz(CAST(n.next_at AS BIGINT))"
    )
    db.con.unregister("_next")
    due = result.due.tolist()
    if due:
        db.con.execute(
            "UPDATE article_revisits SET claimed_until = ? WHERE article_id IN (SELECT unnest(?))",
            [now + claim, due],
        )
    rows = db.con.execute(
        "SELECT r.article_id, r.url, r.etag, r.last_modified, r.body_hash, a.title"
        " FROM article_revisits r JOIN articles a USING (article_id)"
        " WHERE r.article_id IN (SELECT unnest(?))",
        [due],
    ).fetchall()
    by_id = {int(r[0]): r for r in rows}
    targets = [
        RevisitTarget(int(r[0]), r[1], r[2], r[3], r[4], r[5])
        for r in (by_id[i] for i in due if i in by_id)
    ]
    counts.update(
        revisits_due=len(targets),
        revisits_deferred=result.deferred,
        articles_unwatched=len(result.unwatch),
    )
    return targets, counts


def revisit_page(target: RevisitTarget, fetch: Fetch, article: Article | None) -> PageResult:
    """A revisit's changed page as the page result of a known article (a new version, if the
    judge says so)."""
    page = PendingPage(
        url=target.url,
        link_key=url_key(target.url),
        entry=Entry(guid=target.url, link=target.url, title=target.title),
        article_id=target.article_id,
    )
    return PageResult(page=page, fetch=fetch, article=article)


def record_revisit_state(
    db: WarehouseConnection,
    run_id: int,
    visits: list[tuple[RevisitTarget, Fetch, str, str | None]],
    now: datetime,
) -> dict[str, int]:
    """Inside record_revisits' transaction: each revisit's validators, body hash and count;
    pages taken down marked removed (kept) and no longer watched. `visits` holds (target,
    fetch, outcome, body hash) of revisits that stored no article (the others went through
    record_page_results, fetch rows included)."""
    counts = {"revisits_unchanged": 0, "articles_removed": 0}
    fetches = [f for _, f, outcome, _ in visits if outcome != "changed"]
    insert_fetches(db, run_id, fetches)
    state: list[dict[str, Any]] = []
    removed = []
    for target, fetch, outcome, body_hash in visits:
        unchanged = outcome in ("not-modified", "same-body")
        counts["revisits_unchanged"] += unchanged
        keep = outcome in ("failed", "not-modified")  # validators of the last 200 stay
        state.append(
            {
                "article_id": target.article_id,
                "etag": None if keep else fetch.headers.get("etag"),
                "last_modified": None if keep else fetch.headers.get("last-modified"),
                "body_hash": body_hash if outcome in ("same-body", "changed") else None,
                "unchanged": int(unchanged),
            }
        )
        if outcome == "removed":
            reason = revisit.removal_reason(fetch.status, target.url, fetch.final_url)
            removed.append({"article_id": target.article_id, "removal_reason": reason})
    if state:
        # One set-based UPDATE: on a lake each UPDATE statement writes files of its own.
        db.con.register("_visits", pa.Table.from_pylist(state, schema=VISIT_SCHEMA))
        db.con.execute(
            "UPDATE article_revisits SET last_checked_at = ?,"
            " etag = coalesce(v.etag, article_revisits.etag),"
            " last_modified = coalesce(v.last_modified, article_revisits.last_modified),"
            " body_hash = coalesce(v.body_hash, article_revisits.body_hash),"
            " revisits = article_revisits.revisits + 1,"
            " not_modified = article_revisits.not_modified + v.unchanged,"
            " claimed_until = NULL"
            " FROM _visits v WHERE article_revisits.article_id = v.article_id",
            [now],
        )
        db.con.unregister("_visits")
    if removed:
        db.con.register("_removed", pa.Table.from_pylist(removed, schema=REMOVED_SCHEMA))
        db.con.execute(
            "UPDATE articles SET removed_at = ?, removal_reason = r.removal_reason FROM _removed r"
            " WHERE articles.article_id = r.article_id AND articles.removed_at IS NULL",
            [now],
        )
        db.con.execute(
            "UPDATE article_revisits SET watched = FALSE"
            " WHERE article_id IN (SELECT article_id FROM _removed)"
        )
        db.con.unregister("_removed")
        counts["articles_removed"] = len(removed)
    return counts
