"""An article's text changing in place: new versions from pages fetched again, and
re-extraction of archived pages (stored_pages in, record_reextraction out)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipeline import changes, neardup
from pipeline.records import Article, Entry, PageResult, StoredPage
from pipeline.store import edits
from pipeline.store.clusters import (
    indexed_hashes,
    remember_hashes,
    signature_bands,
    store_signatures,
)
from pipeline.store.connection import WarehouseConnection
from pipeline.store.names import load_names, name_keys, norm_names
from pipeline.store.rows import article_row, version_row
from pipeline.store.schemas import ARTICLE_SCHEMA, VERSION_SCHEMA

# Article columns re-extraction compares and rewrites.
REEXTRACT_FIELDS = (
    "title",
    "text",
    "description",
    "language",
    "published_at",
    "modified_at",
    "site_name",
    "image",
    "content_hash",
    "access",
)


def store_versions(
    db: WarehouseConnection, refreshed: list[tuple[PageResult, int]], now: datetime, run_id: int
) -> int:
    """Pages fetched again for a known article (its feed announced a change, a revisit found
    new bytes, or it holds the feed text of a page that had failed). pipeline.changes judges
    each against the stored version: a real change becomes the article's next version
    (articles holds the latest) with its `article_changes` row; noise, a short text seen once
    and a flip-flop change nothing. An article built from feed text always takes the page's
    extraction (source 'page'), a new version only if the text differs. Returns how many
    articles changed."""
    candidates = [
        (r, fid) for r, fid in refreshed if r.article is not None and r.article.source == "page"
    ]
    if not candidates:
        return 0
    ids = sorted({r.page.article_id for r, _ in candidates if r.page.article_id})
    current = {
        int(a): (h, int(v or 1), s)
        for a, h, v, s in db.con.execute(
            "SELECT article_id, content_hash, version, source FROM articles"
            " WHERE article_id IN (SELECT unnest(?))",
            [ids],
        ).fetchall()
    }
    snapshots = edits.stored_snapshots(db, ids)
    changed: dict[int, tuple[Article, int, int]] = {}
    upgraded: list[int] = []
    new_versions: set[int] = set()
    change_rows: list[dict[str, Any]] = []
    short_seen: dict[int, str] = {}
    for r, fetch_id in candidates:
        art, article_id = r.article, r.page.article_id
        assert art is not None and article_id is not None
        old = current.get(article_id)
        if old is None or article_id in changed:
            continue
        if old[2] == "feed":
            # Feed text replaced by the page's extraction: no edit of the article's own.
            upgraded.append(article_id)
            same_text = old[0] == art.content_hash
        else:
            stored, earlier, pending_short = snapshots[article_id]
            new = edits.snapshot_of(art)
            verdict = changes.judge(stored, new, earlier=earlier, pending_short=pending_short)
            if verdict.outcome == "short" and verdict.short_fingerprint:
                short_seen[article_id] = verdict.short_fingerprint
            if verdict.outcome != "version" or verdict.change is None:
                continue
            same_text = False
            change_rows.append(
                edits.change_row(
                    article_id, old[1] + 1, verdict.change, stored, new, now, run_id
                )
            )
        if not same_text:
            new_versions.add(article_id)
        changed[article_id] = (art, fetch_id, old[1] + (0 if same_text else 1))
    edits.record_changes(db, change_rows, short_seen, now)
    if not changed:
        return 0
    rows = []
    for article_id, (art, fetch_id, version) in changed.items():
        row = article_row(art, article_id, fetch_id, now, run_id)
        row["version"] = version
        rows.append(row)
    data = pa.Table.from_pylist(rows, schema=ARTICLE_SCHEMA)
    db.con.register("_updated", data)
    db.con.execute(
        """
        UPDATE articles SET title = u.title, text = u.text, description = u.description,
            modified_at = coalesce(u.modified_at, articles.modified_at),
            image = coalesce(u.image, articles.image),
            content_hash = u.content_hash, fetched_at = u.fetched_at, fetch_id = u.fetch_id,
            extractor_version = u.extractor_version, provenance = u.provenance,
            confidence = u.confidence, access = u.access, version = u.version
        FROM _updated u WHERE articles.article_id = u.article_id
        """
    )
    if upgraded:
        # Feed text replaced by the page's extraction: the page's metadata too. The URL
        # columns stay: url_key is the article's identity, and its aliases point to it.
        db.con.execute(
            """
            UPDATE articles SET source = u.source, fallback_reason = u.fallback_reason,
                language = coalesce(u.language, articles.language),
                published_at = coalesce(u.published_at, articles.published_at),
                site_name = coalesce(u.site_name, articles.site_name),
                image = coalesce(u.image, articles.image)
            FROM _updated u WHERE articles.article_id = u.article_id
              AND articles.article_id IN (SELECT unnest(?))
            """,
            [upgraded],
        )
    db.con.unregister("_updated")
    db.load(
        "article_versions",
        [version_row(r, r["version"]) for r in rows if r["article_id"] in new_versions],
        VERSION_SCHEMA,
    )
    replace_content(db, {a: art for a, (art, _, _) in changed.items()}, rows)
    return len(changed)


def stored_pages(
    db: WarehouseConnection,
    since: datetime | None = None,
    until: datetime | None = None,
    site: str | None = None,
) -> list[StoredPage]:
    """Articles extracted from an archived page, with where their raw response is kept:
    the input of re-extraction. Filters on the publication (else fetch) time and site."""
    conditions = ["a.source = 'page'", "f.warc_file IS NOT NULL"]
    params: list[Any] = []
    if since is not None:
        conditions.append("coalesce(a.published_at, a.fetched_at) >= ?")
        params.append(since)
    if until is not None:
        conditions.append("coalesce(a.published_at, a.fetched_at) < ?")
        params.append(until)
    if site:
        conditions.append("(a.site_name ILIKE ? OR a.url ILIKE ?)")
        params += [site, f"%://{site}/%"]
    rows = db.con.execute(
        f"""
        SELECT a.article_id, a.url, f.warc_file, f.warc_offset, e.guid, e.link, e.title,
               e.summary, e.content, e.published_at, e.updated_at, e.authors, e.categories,
               e.tags, e.image
        FROM articles a JOIN fetches f USING (fetch_id)
        LEFT JOIN (
            SELECT * FROM feed_entries WHERE article_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY article_id
                                       ORDER BY first_seen_at, feed_id, entry_key) = 1
        ) e USING (article_id)
        WHERE {" AND ".join(conditions)}
        ORDER BY a.article_id
        """,
        params,
    ).fetchall()
    pages = []
    for row in rows:
        entry = None
        if row[4] is not None:
            entry = Entry(
                guid=row[4],
                link=row[5],
                title=row[6],
                summary=row[7],
                content=row[8],
                published_at=row[9],
                updated_at=row[10],
                authors=list(row[11] or []),
                categories=list(row[12] or []),
                tags=list(row[13] or []),
                image=row[14],
            )
        pages.append(StoredPage(int(row[0]), row[1], row[2], int(row[3]), entry))
    return pages


def record_reextraction(
    db: WarehouseConnection, results: list[tuple[int, Article]]
) -> dict[str, int]:
    """Rewrite the articles whose re-extracted values differ from the stored ones (and only
    those), with their authors, categories and tags. One transaction."""
    counts = {"articles_reextracted": 0, "pages_reextracted": len(results)}
    if not results:
        return counts
    ids = [article_id for article_id, _ in results]
    current = {
        int(r[0]): r[1:]
        for r in db.con.execute(
            f"""
            SELECT a.article_id, {", ".join("a." + c for c in REEXTRACT_FIELDS)},
                (SELECT list(au.name ORDER BY aa.position) FROM article_authors aa
                   JOIN authors au USING (author_id) WHERE aa.article_id = a.article_id),
                (SELECT list(c.name ORDER BY c.name) FROM article_categories ac
                   JOIN categories c USING (category_id) WHERE ac.article_id = a.article_id),
                (SELECT list(t.name ORDER BY t.name) FROM article_tags atg
                   JOIN tags t USING (tag_id) WHERE atg.article_id = a.article_id)
            FROM articles a WHERE a.article_id IN (SELECT unnest(?))
            """,
            [ids],
        ).fetchall()
    }
    changed: list[tuple[int, Article]] = []
    for article_id, art in results:
        old = current.get(article_id)
        if old is None:
            continue
        new = (
            *(getattr(art, c) for c in REEXTRACT_FIELDS),
            norm_names(art.authors, keep_order=True),
            name_keys(art.categories),
            name_keys(art.tags),
        )
        stored = (
            *old[: len(REEXTRACT_FIELDS)],
            list(old[-3] or []),
            name_keys(old[-2] or []),
            name_keys(old[-1] or []),
        )
        if comparable(new) != comparable(stored):
            changed.append((article_id, art))
    if not changed:
        return counts
    now = datetime.now(UTC)
    with db.transaction() as con:
        rows = []
        for article_id, art in changed:
            rows.append(article_row(art, article_id, 0, now, 0))
        con.register("_re", pa.Table.from_pylist(rows, schema=ARTICLE_SCHEMA))
        assignments = ", ".join(f"{c} = r.{c}" for c in REEXTRACT_FIELDS)
        con.execute(
            f"UPDATE articles SET {assignments}, extractor_version = r.extractor_version,"
            " provenance = r.provenance, confidence = r.confidence"
            " FROM _re r WHERE articles.article_id = r.article_id"
        )
        con.unregister("_re")
        replace_content(db, dict(changed), rows)
    counts["articles_reextracted"] = len(changed)
    return counts


def replace_content(
    db: WarehouseConnection, articles: dict[int, Article], rows: list[dict[str, Any]]
) -> None:
    """After an article's text changed in place: its signature and bands, authors,
    categories and tags follow the new text; its cluster stays."""
    ids = list(articles)
    for table in (
        "article_signatures",
        "article_bands",
        "article_authors",
        "article_categories",
        "article_tags",
    ):
        db.con.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT unnest(?))", [ids])
    sigs = {
        article_id: (
            neardup.Signature(art.signature, art.shingles)
            if art.signature is not None
            else neardup.signature(art.text)
        )
        for article_id, art in articles.items()
    }
    store_signatures(db, sigs, signature_bands(sigs))
    first: dict[str, int] = {}
    for row in sorted(rows, key=lambda r: r["article_id"]):
        if row["content_hash"]:
            first.setdefault(row["content_hash"], row["article_id"])
    if first:
        remember_hashes(db, first, set(indexed_hashes(db.con, sorted(first))))
    load_names(db, rows, list(articles.values()))


def comparable(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(v.isoformat() if isinstance(v, datetime) else v for v in values)
