"""Stories: each new article joins the cluster of the earliest article it matches, by exact
content hash or by MinHash near-duplicate (pipeline.neardup), probed through the LSH band
index (pipeline.lsh). Also the signatures, band rows and content hashes that make it work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from pipeline import neardup
from pipeline.errors import WarehouseError
from pipeline.records import Article
from pipeline.store.connection import WarehouseConnection, marks
from pipeline.store.schemas import BAND_SCHEMA, DUPLICATE_SCHEMA, HASH_SCHEMA, SIGNATURE_SCHEMA
from pipeline.store.timing import timed_step


def cluster_articles(
    db: WarehouseConnection, rows: list[dict[str, Any]], articles: list[Article], now: datetime
) -> int:
    """Give each new article its story's cluster: the cluster of the earliest article it
    matches by exact content hash, else by MinHash near-duplicate, else its own id. Stores
    signatures and bands and records every match in `article_duplicates`. Returns how many
    new articles matched an earlier one."""
    with timed_step("cluster", len(rows)):
        return _cluster(db, rows, articles, now)


def _cluster(
    db: WarehouseConnection, rows: list[dict[str, Any]], articles: list[Article], now: datetime
) -> int:
    sigs: dict[int, neardup.Signature | None] = {}
    for row, art in zip(rows, articles, strict=True):
        if art.signature is not None:
            sigs[row["article_id"]] = neardup.Signature(art.signature, art.shingles)
        else:
            # Fallback articles skip the worker; short texts get None again, cheaply.
            sigs[row["article_id"]] = neardup.signature(art.text)
    hashes = sorted({row["content_hash"] for row in rows if row["content_hash"]})
    earliest_by_hash: dict[str, tuple[int, int]] = {}
    known_hashes: set[str] = set()
    if hashes:
        earliest_by_hash, known_hashes = first_articles_of_hashes(db.con, hashes)
    band_rows = signature_bands(sigs)
    candidates: dict[int, set[int]] = {}
    if band_rows:
        candidates = db.bands.candidates(db.con, band_rows)
        # Within the batch: earlier new articles are candidates of later ones.
        seen: dict[tuple[int, int], list[int]] = {}
        for b in band_rows:
            seen.setdefault((b["band"], b["band_hash"]), []).append(b["article_id"])
        for ids in seen.values():
            for later in ids:
                candidates.setdefault(later, set()).update(i for i in ids if i < later)
    old_ids = sorted(
        {c for cs in candidates.values() for c in cs} - {row["article_id"] for row in rows}
    )
    old_sigs: dict[int, neardup.Signature] = {}
    cluster_of: dict[int, int] = {}
    if old_ids:
        for article_id, blob, shingles, cluster_id in db.con.execute(
            "SELECT s.article_id, s.signature, s.shingles, a.cluster_id"
            " FROM article_signatures s JOIN articles a USING (article_id)"
            " WHERE s.article_id IN (SELECT unnest(?)) AND s.version = ?",
            [old_ids, neardup.SIGNATURE_VERSION],
        ).fetchall():
            old_sigs[int(article_id)] = neardup.Signature(bytes(blob), int(shingles))
            cluster_of[int(article_id)] = int(cluster_id)
    duplicate_rows = []
    merges: list[tuple[int, set[int]]] = []
    for row in sorted(rows, key=lambda r: r["article_id"]):
        article_id = row["article_id"]
        match: tuple[int, str, float, float | None] | None = None
        matched: list[int] = []
        by_hash = earliest_by_hash.get(row["content_hash"]) if row["content_hash"] else None
        if by_hash:
            match = (by_hash[0], "content_hash", 1.0, 1.0)
            cluster_of.setdefault(by_hash[0], by_hash[1])
        elif (own := sigs[article_id]) is not None:
            best: tuple[float, int, float] | None = None
            for other in sorted(candidates.get(article_id, ())):
                other_sig = old_sigs.get(other) or sigs.get(other)
                if other == article_id or other_sig is None or other > article_id:
                    continue
                ok, similarity, contained = neardup.is_near_duplicate(own, other_sig)
                if not ok:
                    continue
                matched.append(other)
                if best is None or max(similarity, contained) > best[0]:
                    best = (max(similarity, contained), other, contained)
                    match = (other, "near_duplicate", similarity, contained)
        if match is None:
            cluster_of[article_id] = article_id
        else:
            # An article that matches several stories joins them into one: the cluster of
            # the earliest, so cluster_id stays the earliest article of the story.
            clusters = {cluster_of.get(m, m) for m in [match[0], *matched]}
            target = min(clusters)
            merged = clusters - {target}
            if merged:
                merges.append((target, merged))
                for known_id, cluster_id in list(cluster_of.items()):
                    if cluster_id in merged:
                        cluster_of[known_id] = target
                for earlier in rows:
                    if earlier.get("cluster_id") in merged:
                        earlier["cluster_id"] = target
            cluster_of[article_id] = target
            duplicate_rows.append(
                {
                    "article_id": article_id,
                    "duplicate_of": match[0],
                    "method": match[1],
                    "similarity": match[2],
                    "containment": match[3],
                    "detected_at": now,
                }
            )
        row["cluster_id"] = cluster_of[article_id]
        if row["content_hash"]:
            earliest_by_hash.setdefault(row["content_hash"], (article_id, row["cluster_id"]))
    for target, merged in merges:
        db.con.execute(
            "UPDATE articles SET cluster_id = ? WHERE cluster_id IN (SELECT unnest(?))",
            [target, sorted(merged)],
        )
    store_signatures(db, sigs, band_rows)
    remember_hashes(db, {h: a for h, (a, _) in earliest_by_hash.items()}, known_hashes)
    if duplicate_rows:
        db.load("article_duplicates", duplicate_rows, DUPLICATE_SCHEMA)
    return len(duplicate_rows)


def store_signatures(
    db: WarehouseConnection,
    sigs: dict[int, neardup.Signature | None],
    band_rows: list[dict[str, Any]],
) -> None:
    sig_rows = [
        {
            "article_id": article_id,
            "signature": sig.values,
            "shingles": sig.shingles,
            "version": neardup.SIGNATURE_VERSION,
        }
        for article_id, sig in sigs.items()
        if sig is not None
    ]
    if sig_rows:
        db.load("article_signatures", sig_rows, SIGNATURE_SCHEMA)
    if band_rows:
        (batch,) = db.allocate("band_batch", 1)
        db.load("article_bands", [{**r, "batch": batch} for r in band_rows], BAND_SCHEMA)


def remember_hashes(db: WarehouseConnection, first: dict[str, int], known: set[str]) -> None:
    """Index each text hash not `known` yet under the first article that had it. A plain
    insert of what the lookup missed: ON CONFLICT costs 4x as much on a big index."""
    rows = [{"content_hash": h, "article_id": a} for h, a in first.items() if h not in known]
    if rows:
        db.load("content_hashes", rows, HASH_SCHEMA)


def signature_bands(sigs: dict[int, neardup.Signature | None]) -> list[dict[str, Any]]:
    """The LSH band rows of signed articles (none for texts too short to sign)."""
    return [
        {"band": band, "band_hash": value, "article_id": article_id}
        for article_id, sig in sigs.items()
        if sig is not None
        for band, value in enumerate(neardup.band_hashes(sig))
    ]


def indexed_hashes(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> dict[str, int]:
    """The hashes of `hashes` already in content_hashes, with the first article that had each.
    A parameter list, so the lookup probes the key's index (see lookup_keys)."""
    rows = con.execute(
        f"SELECT content_hash, article_id FROM content_hashes"
        f" WHERE content_hash IN ({marks(hashes)})",
        hashes,
    ).fetchall()
    return {h: int(a) for h, a in rows}


def first_articles_of_hashes(
    con: duckdb.DuckDBPyConnection, hashes: list[str]
) -> tuple[dict[str, tuple[int, int]], set[str]]:
    """For each known text hash: the first article that had it, and that article's cluster;
    and every hash of `hashes` already indexed."""
    first = indexed_hashes(con, hashes)
    if not first:
        return {}, set()
    ids = sorted(set(first.values()))
    cluster_of = dict(
        con.execute(
            f"SELECT article_id, cluster_id FROM articles WHERE article_id IN ({marks(ids)})", ids
        ).fetchall()
    )
    earliest = {h: (a, int(cluster_of[a])) for h, a in first.items() if a in cluster_of}
    return earliest, set(first)


def refresh_band_index(db: WarehouseConnection, force: bool = False) -> bool:
    """Rebuild the band index files once enough band rows are newer than them (or, with
    `force`, whenever any are). Outside any transaction: the files hold committed rows."""
    stale = db.bands.stale_rows(db.con)
    if not stale or not (force or db.bands.due(stale)):
        return False
    try:
        db.bands.rebuild(db.con)
    except (OSError, duckdb.Error) as exc:
        # The files are a cache: without them probes scan DuckDB, slower but complete.
        if force:
            raise WarehouseError(f"cannot rebuild the band index {db.bands.folder}: {exc}") from exc
        return False
    return True


def rebuild_band_index(db: WarehouseConnection) -> int:
    """Rewrite the band index files from every committed band row; returns the rows."""
    return db.bands.rebuild(db.con)


def stale_band_rows(db: WarehouseConnection) -> int:
    """Band rows newer than the band index files (read from DuckDB by every probe)."""
    return db.bands.stale_rows(db.con)


def band_candidates(
    db: WarehouseConnection, probe_rows: list[dict[str, Any]]
) -> dict[int, set[int]]:
    """For each probing article (band rows as signature_bands() makes them), the stored articles
    sharing one of its bands."""
    return db.bands.candidates(db.con, probe_rows)
