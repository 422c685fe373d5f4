"""The DuckDB warehouse: migrations, the feed registry, and Arrow batch loads."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipeline.records import Article, Entry, FeedState, Fetch, ParsedFeed
from pipeline.urls import canonicalize, url_key

MAX_PAGE_ATTEMPTS = 3  # an entry whose page failed this often (with no fallback) is left alone
MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
TS = pa.timestamp("us", tz="UTC")


class WarehouseError(Exception):
    """The warehouse cannot be used; the message says why and what to do."""


@dataclass
class FeedResult:
    """A feed's fetch and what its bytes parsed to."""

    feed: FeedState
    fetch: Fetch
    parsed: ParsedFeed | None = None
    error: str | None = None  # fetch or parse error, one line

    @property
    def entries(self) -> list[Entry]:
        return self.parsed.entries if self.parsed else []


@dataclass
class PendingPage:
    """An article page to fetch, with every feed entry that links to it."""

    url: str
    link_key: str
    entry: Entry  # the first-seen entry: its metadata joins the page's, its text is the fallback
    entry_refs: list[tuple[int, str]] = field(default_factory=list)  # (feed_id, guid)


@dataclass
class PageResult:
    """A page's fetch and the article extracted from it (or from its entry)."""

    page: PendingPage
    fetch: Fetch
    article: Article | None = None
    error: str | None = None


def name_key(name: str) -> str:
    """The normalised key of a category or tag: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


class Warehouse:
    """One DuckDB file. Open it read-write in exactly one process (DuckDB's rule)."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise WarehouseError(
                f"no warehouse at {self.path}: run `news-ingest run` or `news-ingest demo` first"
            )
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            if _is_lock_error(exc):
                raise WarehouseError(
                    f"warehouse {self.path} is in use by another news-ingest process;"
                    " wait for it to finish (DuckDB allows one writer per file)"
                ) from None
            raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            self.migrate()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- schema ---------------------------------------------------------------------------------

    @staticmethod
    def migrations() -> list[tuple[int, str, str]]:
        folder = resources.files("warehouse").joinpath("migrations")
        found = []
        for item in folder.iterdir():
            match = MIGRATION_NAME.match(item.name)
            if match:
                found.append((int(match.group(1)), match.group(2), item.read_text("utf-8")))
        return sorted(found)

    def migrate(self) -> list[int]:
        """Apply the migrations not yet recorded, all in one transaction; recreate the views."""
        with self.transaction() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
            )
            done = {
                row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()
            }
            applied = []
            for version, name, sql in self.migrations():
                if version in done:
                    continue
                con.execute(sql)
                con.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name]
                )
                applied.append(version)
            con.execute(resources.files("warehouse").joinpath("views.sql").read_text("utf-8"))
        return applied

    # -- feed registry --------------------------------------------------------------------------

    def add_feeds(self, urls: Sequence[str], titles: Sequence[str | None] | None = None) -> int:
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
        with self.transaction() as con:
            before = _scalar(con, "SELECT count(*) FROM feeds")
            con.register("new_feeds", table)
            con.execute(
                "INSERT INTO feeds (url, title) SELECT url, title FROM new_feeds"
                " ON CONFLICT (url) DO NOTHING"
            )
            con.unregister("new_feeds")
            after = _scalar(con, "SELECT count(*) FROM feeds")
        return int(after - before)

    def feed_states(self, urls: Sequence[str] | None = None) -> list[FeedState]:
        """The feeds to poll: the given URLs (registered first), or every active feed."""
        if urls:
            self.add_feeds(urls)
            rows = self.con.execute(
                "SELECT feed_id, url, etag, last_modified FROM feeds WHERE url IN"
                " (SELECT unnest(?)) ORDER BY feed_id",
                [[u.strip() for u in urls]],  # as add_feeds stored them
            ).fetchall()
        else:
            rows = self.con.execute(
                "SELECT feed_id, url, etag, last_modified FROM feeds WHERE active ORDER BY feed_id"
            ).fetchall()
        return [FeedState(feed_id=r[0], url=r[1], etag=r[2], last_modified=r[3]) for r in rows]

    def list_feeds(self) -> list[dict[str, Any]]:
        cur = self.con.execute(
            "SELECT feed_id, url, title, site_url, last_status, last_error, consecutive_failures,"
            " last_fetched_at FROM feeds ORDER BY feed_id"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- runs -----------------------------------------------------------------------------------

    def start_run(self) -> int:
        return _scalar(
            self.con,
            "INSERT INTO runs (started_at, status) VALUES (?, 'running') RETURNING run_id",
            [datetime.now(UTC)],
        )

    def finish_run(
        self,
        run_id: int,
        counts: dict[str, int],
        status: str = "completed",
        error: str | None = None,
    ) -> None:
        columns = [c for c in counts if c in RUN_COUNTS]
        assignments = ", ".join(f"{c} = ?" for c in columns)
        self.con.execute(
            f"UPDATE runs SET finished_at = ?, status = ?, error = ?{', ' if columns else ''}"
            f"{assignments} WHERE run_id = ?",
            [datetime.now(UTC), status, error, *[counts[c] for c in columns], run_id],
        )

    # -- loads ----------------------------------------------------------------------------------

    def _allocate(self, sequence: str, n: int) -> list[int]:
        if n == 0:
            return []
        rows = self.con.execute(f"SELECT nextval('{sequence}') FROM range(?)", [n]).fetchall()
        return [int(r[0]) for r in rows]

    def _insert_fetches(self, run_id: int, fetches: list[Fetch]) -> list[int]:
        """Insert fetch rows (one per redirect hop, then the final answer); return final ids."""
        rows: list[dict[str, Any]] = []
        final_positions = []
        for f in fetches:
            hop_from = f.url
            for status, target in f.redirects:
                rows.append(_fetch_row(f, hop_from, target, "redirect", status, None, 0))
                hop_from = target
            final_positions.append(len(rows))
            rows.append(
                _fetch_row(f, hop_from, f.final_url, f.kind, f.status, f.error, len(f.body))
            )
        ids = self._allocate("fetch_id_seq", len(rows))
        for row, fetch_id in zip(rows, ids, strict=True):
            row["fetch_id"] = fetch_id
            row["run_id"] = run_id
        if rows:
            self._load("fetches", rows, FETCH_SCHEMA)
        return [ids[p] for p in final_positions]

    def _load(
        self, table: str, rows: list[dict[str, Any]], schema: pa.Schema, conflict: str = ""
    ) -> None:
        data = pa.Table.from_pylist(rows, schema=schema)
        view = f"_batch_{table}"
        self.con.register(view, data)
        try:
            cols = ", ".join(schema.names)
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view} {conflict}")
        finally:
            self.con.unregister(view)

    def record_feed_results(self, run_id: int, results: list[FeedResult]) -> dict[str, int]:
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
        entry_rows: dict[tuple[int, str], dict[str, Any]] = {}
        state_rows = []
        for r in results:
            f = r.fetch
            failed = r.error is not None
            if failed:
                counts["feeds_failed"] += 1
            elif f.status == 304:
                counts["feeds_not_modified"] += 1
            else:
                counts["feeds_fetched"] += 1
            moved_to = _moved_to(f)
            state_rows.append(
                {
                    "feed_id": r.feed.feed_id,
                    "title": r.parsed.title if r.parsed else None,
                    "site_url": r.parsed.site_url if r.parsed else None,
                    "etag": f.headers.get("etag") if f.ok and not failed else None,
                    "last_modified": f.headers.get("last-modified")
                    if f.ok and not failed
                    else None,
                    "keep_validators": f.status == 304 or failed,
                    "last_status": f.status,
                    "last_error": r.error,
                    "failed": failed,
                    "format": r.parsed.format if r.parsed else None,
                    "ttl_minutes": r.parsed.ttl_minutes if r.parsed else None,
                    "parse_warning": r.parsed.warning if r.parsed else None,
                    "moved_to": moved_to,
                }
            )
            for e in r.entries:
                counts["entries_seen"] += 1
                entry_rows.setdefault(
                    (r.feed.feed_id, e.guid), _entry_row(r.feed.feed_id, e, now, run_id)
                )
        with self.transaction() as con:
            self._insert_fetches(run_id, [r.fetch for r in results])
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
            if entry_rows:
                data = pa.Table.from_pylist(list(entry_rows.values()), schema=ENTRY_SCHEMA)
                con.register("_entries", data)
                counts["entries_new"] = _scalar(
                    con,
                    "SELECT count(*) FROM _entries b ANTI JOIN feed_entries e"
                    " ON e.feed_id = b.feed_id AND e.guid = b.guid",
                )
                cols = ", ".join(ENTRY_SCHEMA.names)
                con.execute(
                    f"INSERT INTO feed_entries ({cols}) SELECT {cols} FROM _entries"
                    " ON CONFLICT (feed_id, guid) DO NOTHING"
                )
                con.unregister("_entries")
                # Entries whose link names an article already stored point to it: no new fetch.
                counts["articles_linked"] = _scalar(
                    con,
                    """
                    UPDATE feed_entries SET article_id = u.article_id FROM article_urls u
                    WHERE feed_entries.article_id IS NULL AND feed_entries.link_key = u.url_key
                    """,
                )
        return counts

    def pending_pages(self, limit: int | None = None) -> list[PendingPage]:
        """Entries still without an article, one page per link key, oldest first."""
        sql = f"""
            WITH pending AS (
                SELECT *, row_number() OVER w AS rn,
                       list(struct_pack(feed_id, guid)) OVER (PARTITION BY link_key) AS refs
                FROM feed_entries
                WHERE article_id IS NULL AND link_key IS NOT NULL
                  AND page_attempts < {MAX_PAGE_ATTEMPTS}
                WINDOW w AS (PARTITION BY link_key ORDER BY first_seen_at, feed_id, guid)
            )
            SELECT link, link_key, guid, title, summary, content, published_at, updated_at,
                   authors, categories, tags, image, refs
            FROM pending WHERE rn = 1 ORDER BY first_seen_at, feed_id, guid
            {"LIMIT " + str(int(limit)) if limit else ""}
        """
        pages = []
        for row in self.con.execute(sql).fetchall():
            entry = Entry(
                guid=row[2],
                link=row[0],
                title=row[3],
                summary=row[4],
                content=row[5],
                published_at=row[6],
                updated_at=row[7],
                authors=list(row[8] or []),
                categories=list(row[9] or []),
                tags=list(row[10] or []),
                image=row[11],
            )
            refs = [(int(r["feed_id"]), str(r["guid"])) for r in row[12]]
            pages.append(PendingPage(url=row[0], link_key=row[1], entry=entry, entry_refs=refs))
        return pages

    def record_page_results(self, run_id: int, results: list[PageResult]) -> dict[str, int]:
        """Store a batch of pages: fetch rows, new articles with their authors, categories and
        tags, URL aliases, and the entries' links to their article. One transaction."""
        now = datetime.now(UTC)
        counts = {
            "pages_fetched": 0,
            "pages_failed": 0,
            "articles_new": 0,
            "articles_linked": 0,
            "fallbacks": 0,
        }
        with self.transaction() as con:
            fetch_ids = self._insert_fetches(run_id, [r.fetch for r in results])
            for r in results:
                counts["pages_fetched" if r.fetch.ok else "pages_failed"] += 1
            with_article = [
                (r, fid) for r, fid in zip(results, fetch_ids, strict=True) if r.article
            ]
            # Keys this batch can resolve: the article's own key and every URL that led to it.
            known = _known_keys(con, {r.article.url_key for r, _ in with_article if r.article})
            new_rows: list[dict[str, Any]] = []
            new_articles: list[Article] = []
            for r, fetch_id in with_article:
                art = r.article
                assert art is not None
                if art.url_key in known:
                    counts["articles_linked"] += 1
                    continue
                article_id = self._allocate("article_id_seq", 1)[0]
                known[art.url_key] = article_id
                new_articles.append(art)
                new_rows.append(_article_row(art, article_id, fetch_id, now, run_id))
                counts["articles_new"] += 1
                if art.source == "feed":
                    counts["fallbacks"] += 1
            if new_rows:
                self._load("articles", new_rows, ARTICLE_SCHEMA)
                self._load_names(new_rows, new_articles)
            alias_rows: dict[str, int] = {}
            link_rows = []
            failed_rows = []
            for r in results:
                if r.article is None:
                    for feed_id, guid in r.page.entry_refs:
                        failed_rows.append({"feed_id": feed_id, "guid": guid, "error": r.error})
                    continue
                article_id = known[r.article.url_key]
                for url in (r.page.url, r.fetch.final_url, r.article.url, r.article.canonical_url):
                    if url:
                        alias_rows.setdefault(url_key(url), article_id)
                alias_rows.setdefault(r.page.link_key, article_id)
                for feed_id, guid in r.page.entry_refs:
                    link_rows.append({"feed_id": feed_id, "guid": guid, "article_id": article_id})
            if alias_rows:
                self._load(
                    "article_urls",
                    [{"url_key": k, "article_id": v} for k, v in alias_rows.items()],
                    ALIAS_SCHEMA,
                    "ON CONFLICT (url_key) DO NOTHING",
                )
            if link_rows:
                con.register("_links", pa.Table.from_pylist(link_rows, schema=LINK_SCHEMA))
                con.execute(
                    "UPDATE feed_entries SET article_id = l.article_id FROM _links l"
                    " WHERE feed_entries.feed_id = l.feed_id AND feed_entries.guid = l.guid"
                )
                con.unregister("_links")
            if failed_rows:
                con.register("_failed", pa.Table.from_pylist(failed_rows, schema=FAILED_SCHEMA))
                con.execute(
                    "UPDATE feed_entries SET page_attempts = page_attempts + 1,"
                    " last_page_error = f.error FROM _failed f"
                    " WHERE feed_entries.feed_id = f.feed_id AND feed_entries.guid = f.guid"
                )
                con.unregister("_failed")
        return counts

    def _load_names(self, rows: list[dict[str, Any]], articles: list[Article]) -> None:
        """Authors, categories and tags of new articles: names upserted, then the link rows."""
        for table, id_col, attr, key_fn in (
            ("authors", "author_id", "authors", None),
            ("categories", "category_id", "categories", name_key),
            ("tags", "tag_id", "tags", name_key),
        ):
            links: list[dict[str, Any]] = []
            for row, art in zip(rows, articles, strict=True):
                seen = set()
                for position, name in enumerate(getattr(art, attr)):
                    name = " ".join(name.split())
                    key = key_fn(name) if key_fn else name
                    if not key or key in seen:
                        continue
                    seen.add(key)
                    links.append(
                        {
                            "article_id": row["article_id"],
                            "name": name,
                            "key": key,
                            "position": position,
                            "ord": len(links),
                        }
                    )
            if not links:
                continue
            data = pa.Table.from_pylist(links, schema=NAME_LINK_SCHEMA)
            self.con.register("_names", data)
            link_table = f"article_{table}"
            if key_fn:
                self.con.execute(
                    f"INSERT INTO {table} (name, key) SELECT arg_min(name, ord), key"
                    f" FROM _names GROUP BY key ON CONFLICT (key) DO NOTHING"
                )
                self.con.execute(
                    f"INSERT INTO {link_table} (article_id, {id_col}) SELECT DISTINCT"
                    f" n.article_id, t.{id_col} FROM _names n JOIN {table} t ON t.key = n.key"
                    f" ON CONFLICT DO NOTHING"
                )
            else:
                self.con.execute(
                    "INSERT INTO authors (name) SELECT DISTINCT name FROM _names"
                    " ON CONFLICT (name) DO NOTHING"
                )
                self.con.execute(
                    "INSERT INTO article_authors (article_id, author_id, position)"
                    " SELECT n.article_id, a.author_id, min(n.position) FROM _names n"
                    " JOIN authors a ON a.name = n.name GROUP BY ALL ON CONFLICT DO NOTHING"
                )
            self.con.unregister("_names")

    # -- reading --------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description] if cur.description else []
        return names, cur.fetchall() if cur.description else []

    def counts(self) -> dict[str, int]:
        out = {}
        for table in (
            "feeds",
            "feed_entries",
            "articles",
            "authors",
            "categories",
            "tags",
            "fetches",
            "runs",
        ):
            out[table] = _scalar(self.con, f"SELECT count(*) FROM {table}")
        return out


RUN_COUNTS = frozenset(
    {
        "feeds_total",
        "feeds_fetched",
        "feeds_not_modified",
        "feeds_failed",
        "entries_seen",
        "entries_new",
        "pages_fetched",
        "pages_failed",
        "articles_new",
        "articles_linked",
        "fallbacks",
    }
)

FETCH_SCHEMA = pa.schema(
    [
        ("fetch_id", pa.int64()),
        ("run_id", pa.int64()),
        ("url", pa.string()),
        ("final_url", pa.string()),
        ("feed_id", pa.int64()),
        ("kind", pa.string()),
        ("started_at", TS),
        ("status", pa.int32()),
        ("error", pa.string()),
        ("bytes", pa.int64()),
        ("elapsed_ms", pa.int32()),
        ("content_type", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("warc_file", pa.string()),
        ("warc_offset", pa.int64()),
        ("warc_length", pa.int64()),
    ]
)
FEED_STATE_SCHEMA = pa.schema(
    [
        ("feed_id", pa.int64()),
        ("title", pa.string()),
        ("site_url", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("keep_validators", pa.bool_()),
        ("last_status", pa.int32()),
        ("last_error", pa.string()),
        ("failed", pa.bool_()),
        ("format", pa.string()),
        ("ttl_minutes", pa.int32()),
        ("parse_warning", pa.string()),
        ("moved_to", pa.string()),
    ]
)
ENTRY_SCHEMA = pa.schema(
    [
        ("feed_id", pa.int64()),
        ("guid", pa.string()),
        ("link", pa.string()),
        ("link_key", pa.string()),
        ("title", pa.string()),
        ("summary", pa.string()),
        ("content", pa.string()),
        ("published_at", TS),
        ("updated_at", TS),
        ("authors", pa.list_(pa.string())),
        ("categories", pa.list_(pa.string())),
        ("tags", pa.list_(pa.string())),
        ("image", pa.string()),
        ("first_seen_at", TS),
        ("run_id", pa.int64()),
    ]
)
ARTICLE_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("url_key", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("description", pa.string()),
        ("language", pa.string()),
        ("published_at", TS),
        ("modified_at", TS),
        ("site_name", pa.string()),
        ("image", pa.string()),
        ("content_hash", pa.string()),
        ("cluster_id", pa.int64()),
        ("fetched_at", TS),
        ("fetch_id", pa.int64()),
        ("source", pa.string()),
        ("fallback_reason", pa.string()),
        ("extractor_version", pa.string()),
        ("provenance", pa.string()),
        ("run_id", pa.int64()),
    ]
)
ALIAS_SCHEMA = pa.schema([("url_key", pa.string()), ("article_id", pa.int64())])
LINK_SCHEMA = pa.schema(
    [("feed_id", pa.int64()), ("guid", pa.string()), ("article_id", pa.int64())]
)
FAILED_SCHEMA = pa.schema([("feed_id", pa.int64()), ("guid", pa.string()), ("error", pa.string())])
NAME_LINK_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("name", pa.string()),
        ("key", pa.string()),
        ("position", pa.int32()),
        ("ord", pa.int32()),  # ord: order across the whole batch
    ]
)


def _fetch_row(
    f: Fetch,
    url: str,
    final_url: str | None,
    kind: str,
    status: int | None,
    error: str | None,
    size: int,
) -> dict[str, Any]:
    final = kind != "redirect"
    return {
        "url": url,
        "final_url": final_url,
        "feed_id": f.feed_id,
        "kind": kind,
        "started_at": f.started_at,
        "status": status,
        "error": error,
        "bytes": size,
        "elapsed_ms": f.elapsed_ms if final else 0,
        "content_type": f.headers.get("content-type") if final else None,
        "etag": f.headers.get("etag") if final else None,
        "last_modified": f.headers.get("last-modified") if final else None,
        "warc_file": f.warc_file if final else None,
        "warc_offset": f.warc_offset if final else None,
        "warc_length": f.warc_length if final else None,
    }


def _moved_to(f: Fetch) -> str | None:
    from pipeline.fetch import permanent_redirect_target  # local: fetch imports httpx

    return permanent_redirect_target(f)


def _entry_row(feed_id: int, e: Entry, now: datetime, run_id: int) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "guid": e.guid,
        "link": e.link,
        "link_key": url_key(e.link) if e.link else None,
        "title": e.title,
        "summary": e.summary,
        "content": e.content,
        "published_at": e.published_at,
        "updated_at": e.updated_at,
        "authors": e.authors,
        "categories": e.categories,
        "tags": e.tags,
        "image": e.image,
        "first_seen_at": now,
        "run_id": run_id,
    }


def _article_row(
    a: Article, article_id: int, fetch_id: int, now: datetime, run_id: int
) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "url": a.url,
        "canonical_url": canonicalize(a.canonical_url),
        "url_key": a.url_key,
        "title": a.title,
        "text": a.text,
        "description": a.description,
        "language": a.language,
        "published_at": a.published_at,
        "modified_at": a.modified_at,
        "site_name": a.site_name,
        "image": a.image,
        "content_hash": a.content_hash,
        "cluster_id": article_id,
        "fetched_at": now,
        "fetch_id": fetch_id,
        "source": a.source,
        "fallback_reason": a.fallback_reason,
        "extractor_version": a.extractor_version,
        "provenance": json.dumps(a.provenance, sort_keys=True),
        "run_id": run_id,
    }


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> int:
    """One integer from a query, reading the result to its end (DuckDB 2 refuses new work on a
    connection with a result left half-read)."""
    rows = con.execute(sql, params or []).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _known_keys(con: duckdb.DuckDBPyConnection, keys: set[str]) -> dict[str, int]:
    if not keys:
        return {}
    rows = con.execute(
        "SELECT url_key, article_id FROM article_urls WHERE url_key IN (SELECT unnest(?))"
        " UNION ALL SELECT url_key, article_id FROM articles WHERE url_key IN (SELECT unnest(?))",
        [sorted(keys), sorted(keys)],
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}
