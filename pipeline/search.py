"""Full-text search over articles: BM25 over title and text, in every language we ingest.

The index is a DuckDB file of its own beside the warehouse (`Warehouse.search_index_path`),
always attached as `search`:

    search.postings(term, stemmer, article_id, tf, length)
                                            sorted by term: a query reads a few row groups
    search.documents(article_id, stemmer, length)
    search.terms(term, df)
    search.index_info(built_at, max_article_id, documents, avg_length, ...)
    search.bm25(q, lang := NULL)             a table macro: (article_id, score)

Why not `PRAGMA create_fts_index`: one fts index has one stemmer and one tokeniser for every
document, and its default tokeniser drops every letter outside a-z. Here each article is
stemmed by its own language with the fts extension's Snowball `stem()`, letters of every
script are kept, and Chinese, Japanese and Thai (written without spaces) become character
bigrams. A query word is stemmed once per stemmer in the index, and matched only against
documents of that stemmer.

Fresh without waiting: the nightly maintenance rebuilds the index, every run folds the
articles it stored into it when it ends (`refresh_index`), and `bm25` also scores, on the fly,
the articles that arrived or changed since (article_id above the index's, or fetched_at after
its `built_at`). Figures: docs/operations.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.duckext import extension_path
from pipeline.errors import SearchIndexMissing

if TYPE_CHECKING:
    from pipeline.store import Warehouse

ALIAS = "search"
K1, B = 1.2, 0.75
TITLE_WEIGHT = 2  # a title word counts as two of the body's

# ISO 639-1 code -> the fts extension's Snowball stemmer; other languages are not stemmed.
STEMMERS: dict[str, str] = {
    "ar": "arabic", "eu": "basque", "ca": "catalan", "da": "danish", "nl": "dutch",
    "en": "english", "fi": "finnish", "fr": "french", "de": "german", "el": "greek",
    "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian",
    "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "nb": "norwegian",
    "nn": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian",
    "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish",
}  # fmt: skip
# Scripts written without spaces between words: indexed as overlapping character bigrams.
NGRAM_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
WORD_SCRIPTS = (
    r"\p{Latin}\p{Cyrillic}\p{Greek}\p{Arabic}\p{Hebrew}\p{Armenian}\p{Georgian}\p{Hangul}"
    r"\p{Devanagari}\p{Bengali}\p{Gurmukhi}\p{Gujarati}\p{Tamil}\p{Telugu}\p{Kannada}"
    r"\p{Malayalam}\p{Sinhala}\p{Ethiopic}\p{Tibetan}\p{N}\p{M}"
)


def _stemmer_sql(lang: str) -> str:
    cases = " ".join(f"WHEN '{code}' THEN '{name}'" for code, name in sorted(STEMMERS.items()))
    return f"CASE lower(split_part(coalesce({lang}, ''), '-', 1)) {cases} ELSE 'none' END"


def macro_statements() -> list[str]:
    """The tokeniser and the query macro, stored in the index file. Their tables are named
    `search.main.*` (a macro binds names in the caller's catalog), and `articles` is the
    caller's: the warehouse the session has open."""
    s = f"{ALIAS}.main"
    return [
        f"CREATE OR REPLACE MACRO {s}.stemmer(lang) AS {_stemmer_sql('lang')}",
        f"CREATE OR REPLACE MACRO {s}.words(t) AS"
        f" regexp_extract_all(lower(coalesce(t, '')), '[{WORD_SCRIPTS}]+')",
        f"CREATE OR REPLACE MACRO {s}.runs(t) AS"
        f" regexp_extract_all(lower(coalesce(t, '')), '[{NGRAM_SCRIPTS}]+')",
        f"CREATE OR REPLACE MACRO {s}.bigrams(w) AS"
        " [substr(w, i, 2) FOR i IN range(1, greatest(length(w), 2))]",
        f"CREATE OR REPLACE MACRO {s}.terms(t, stemmer) AS list_concat("
        f"[strip_accents(stem(w, stemmer)) FOR w IN {s}.words(t)],"
        f" flatten([{s}.bigrams(r) FOR r IN {s}.runs(t)]))",
        f"""CREATE OR REPLACE MACRO {s}.bm25(q, lang := NULL) AS TABLE
WITH info AS (SELECT * FROM {s}.index_info),
-- Their ids first, from two narrow columns; their texts then, for those ids only.
fresh_ids AS MATERIALIZED (
    SELECT a.article_id FROM articles a, info
    WHERE a.article_id > info.max_article_id OR a.fetched_at > info.built_at
),
fresh AS MATERIALIZED (
    SELECT a.article_id, a.title, a.text, {s}.stemmer(a.language) AS stemmer
    FROM articles a SEMI JOIN fresh_ids f ON f.article_id = a.article_id
),
stemmers AS (
    SELECT DISTINCT stemmer FROM (
        SELECT stemmer FROM {s}.documents UNION ALL SELECT stemmer FROM fresh)
    WHERE lang IS NULL OR stemmer = {s}.stemmer(lang)
),
query_terms AS (
    SELECT DISTINCT stemmers.stemmer, unnest({s}.terms(q, stemmers.stemmer)) AS term
    FROM stemmers
),
fresh_fields AS (
    SELECT article_id, stemmer, title AS t, {TITLE_WEIGHT} AS weight FROM fresh
    UNION ALL
    SELECT article_id, stemmer, text, 1 FROM fresh
),
fresh_terms AS MATERIALIZED (
    -- as the build tokenises: words stemmed one vectorised call each, runs as bigrams
    SELECT article_id, stemmer, strip_accents(stem(w, stemmer)) AS term, weight
    FROM (SELECT article_id, stemmer, weight, unnest({s}.words(t)) AS w FROM fresh_fields)
    UNION ALL
    SELECT article_id, stemmer, unnest({s}.bigrams(r)), weight
    FROM (SELECT article_id, stemmer, weight, unnest({s}.runs(t)) AS r FROM fresh_fields)
),
fresh_lengths AS (
    SELECT article_id, sum(weight) AS length FROM fresh_terms GROUP BY article_id
),
matches AS (
    SELECT p.article_id, p.term, p.tf, p.length, false AS is_fresh
    FROM {s}.postings p
    JOIN query_terms qt ON p.term = qt.term AND p.stemmer = qt.stemmer
    ANTI JOIN fresh_ids f ON f.article_id = p.article_id
    UNION ALL
    SELECT f.article_id, f.term, sum(f.weight), any_value(l.length), true
    FROM fresh_terms f
    JOIN query_terms qt ON f.term = qt.term AND f.stemmer = qt.stemmer
    JOIN fresh_lengths l ON l.article_id = f.article_id
    GROUP BY f.article_id, f.term
),
-- Articles fetched again since the build: the index holds their old text, which the
-- document frequencies and lengths must stop counting.
changed AS (SELECT d.article_id, d.length FROM {s}.documents d JOIN fresh USING (article_id)),
changed_postings AS (
    SELECT p.term, count(*) AS n
    FROM {s}.postings p
    JOIN (SELECT DISTINCT term FROM query_terms) qt USING (term)
    JOIN changed USING (article_id)
    GROUP BY p.term
),
frequencies AS (
    SELECT m.term,
           coalesce(any_value(t.df), 0) - coalesce(any_value(cp.n), 0)
           + count(*) FILTER (WHERE m.is_fresh) AS df
    FROM matches m
    LEFT JOIN {s}.terms t ON t.term = m.term
    LEFT JOIN changed_postings cp ON cp.term = m.term
    GROUP BY m.term
),
corpus AS (
    SELECT n, coalesce(total_length / nullif(n, 0), 1) AS avg_length
    FROM (
        SELECT info.documents - (SELECT count(*) FROM changed)
               + (SELECT count(*) FROM fresh) AS n,
               info.avg_length * info.documents
               - (SELECT coalesce(sum(length), 0) FROM changed)
               + (SELECT coalesce(sum(length), 0) FROM fresh_lengths) AS total_length
        FROM info
    )
)
SELECT m.article_id,
       sum(ln(1 + (c.n - f.df + 0.5) / (f.df + 0.5))
           * m.tf * {K1 + 1} / (m.tf + {K1} * (1 - {B} + {B} * m.length / c.avg_length)))
           AS score
FROM matches m JOIN frequencies f USING (term), corpus c
GROUP BY m.article_id""",
    ]


def load_fts_sql() -> str:
    """The statement that loads the fts extension (its `stem()`) from the installed wheel."""
    return f"LOAD '{extension_path('fts')}'"


def tokens_sql(documents: str) -> str:
    """(term, article_id, tf) of every article in `documents` (article_id, stemmer, title,
    text): the build's and the refresh's one tokeniser. Words and runs apart: one vectorised
    stem() call per word, no list lambdas; accents go after stemming (a query typed without
    them still matches)."""
    s = f"{ALIAS}.main"
    return f"""
        WITH fields AS (
            SELECT article_id, stemmer, title AS t, {TITLE_WEIGHT} AS weight FROM {documents}
            UNION ALL
            SELECT article_id, stemmer, text, 1 FROM {documents}
        ),
        tokens AS (
            SELECT article_id, strip_accents(stem(w, stemmer)) AS term, weight
            FROM (SELECT article_id, stemmer, weight, unnest({s}.words(t)) AS w FROM fields)
            UNION ALL
            SELECT article_id, unnest({s}.bigrams(r)), weight
            FROM (SELECT article_id, weight, unnest({s}.runs(t)) AS r FROM fields)
        )
        SELECT term, article_id, sum(weight)::INTEGER AS tf
        FROM tokens GROUP BY term, article_id"""


def build_statements(tmp_path: Path, built_at: datetime) -> list[str]:
    """Statements run on the warehouse's own connection: a new index file at `tmp_path`."""
    s = f"{ALIAS}.main"
    quoted = str(tmp_path).replace("'", "''")
    return [
        load_fts_sql(),
        f"ATTACH '{quoted}' AS {ALIAS}",
        *[m for m in macro_statements() if ".bm25(" not in m],
        f"""CREATE TABLE {s}.documents AS
            SELECT article_id, {s}.stemmer(language) AS stemmer, title, text
            FROM articles""",
        f"CREATE TABLE {s}.tokens AS {tokens_sql(f'{s}.documents')}",
        f"""CREATE OR REPLACE TABLE {s}.documents AS
            SELECT d.article_id, d.stemmer, coalesce(l.length, 0)::INTEGER AS length
            FROM {s}.documents d
            LEFT JOIN (SELECT article_id, sum(tf) AS length FROM {s}.tokens
                       GROUP BY article_id) l USING (article_id)
            ORDER BY d.article_id""",
        # The document's stemmer and length ride along: a query reads postings alone.
        f"""CREATE TABLE {s}.postings AS
            SELECT t.term, d.stemmer, t.article_id, t.tf, d.length
            FROM {s}.tokens t JOIN {s}.documents d USING (article_id)
            ORDER BY t.term, d.stemmer, t.article_id""",
        f"DROP TABLE {s}.tokens",
        f"""CREATE TABLE {s}.terms AS
            SELECT term, count(*)::INTEGER AS df FROM {s}.postings GROUP BY term ORDER BY term""",
        f"""CREATE TABLE {s}.index_info AS
            SELECT TIMESTAMPTZ '{built_at.isoformat()}' AS built_at,
                   coalesce(max(article_id), 0) AS max_article_id,
                   count(*) AS documents,
                   coalesce(avg(length), 0)::DOUBLE AS avg_length
            FROM {s}.documents""",
        *[m for m in macro_statements() if ".bm25(" in m],
        f"DETACH {ALIAS}",
    ]


def refresh_statements(tmp_path: Path, covered_to: datetime, changed: bool) -> list[str]:
    """Statements that fold the articles stored or fetched again since the index at `tmp_path`
    (a copy) was built or last refreshed into it: their old postings out (`changed`), the new
    in, term counts and statistics updated. Postings go in unsorted; the nightly build sorts."""
    s = f"{ALIAS}.main"
    quoted = str(tmp_path).replace("'", "''")
    old = "article_id IN (SELECT article_id FROM search_fresh)"
    return [
        load_fts_sql(),
        f"ATTACH '{quoted}' AS {ALIAS}",
        "BEGIN",
        f"""CREATE OR REPLACE TEMP TABLE search_fresh AS
            SELECT a.article_id, {s}.stemmer(a.language) AS stemmer, a.title, a.text
            FROM articles a, {s}.index_info i
            WHERE a.article_id > i.max_article_id OR a.fetched_at > i.built_at
               OR a.article_id IN (SELECT article_id FROM search_also)""",
        f"CREATE OR REPLACE TEMP TABLE search_tokens AS {tokens_sql('search_fresh')}",
        *(
            [
                f"""UPDATE {s}.terms t SET df = t.df - c.n
                    FROM (SELECT term, count(*) AS n FROM {s}.postings WHERE {old}
                          GROUP BY term) c
                    WHERE t.term = c.term""",
                f"DELETE FROM {s}.postings WHERE {old}",
                f"DELETE FROM {s}.documents WHERE {old}",
            ]
            if changed
            else []
        ),
        """CREATE OR REPLACE TEMP TABLE search_documents AS
            SELECT f.article_id, f.stemmer, coalesce(l.length, 0)::INTEGER AS length
            FROM search_fresh f
            LEFT JOIN (SELECT article_id, sum(tf) AS length FROM search_tokens
                       GROUP BY article_id) l USING (article_id)""",
        f"INSERT INTO {s}.documents SELECT * FROM search_documents ORDER BY article_id",
        f"""INSERT INTO {s}.postings
            SELECT t.term, d.stemmer, t.article_id, t.tf, d.length
            FROM search_tokens t JOIN search_documents d USING (article_id)
            ORDER BY t.term, d.stemmer, t.article_id""",
        f"""MERGE INTO {s}.terms t
            USING (SELECT term, count(*)::INTEGER AS n FROM search_tokens GROUP BY term) b
            ON t.term = b.term
            WHEN MATCHED THEN UPDATE SET df = t.df + b.n
            WHEN NOT MATCHED THEN INSERT VALUES (b.term, b.n)""",
        f"DELETE FROM {s}.terms WHERE df <= 0",
        f"""UPDATE {s}.index_info SET
                built_at = TIMESTAMPTZ '{covered_to.isoformat()}',
                max_article_id = greatest(max_article_id,
                    (SELECT coalesce(max(article_id), 0) FROM search_fresh)),
                documents = (SELECT count(*) FROM {s}.documents),
                avg_length = (SELECT coalesce(avg(length), 0) FROM {s}.documents)""",
        "COMMIT",
        "DROP TABLE search_fresh",
        "DROP TABLE search_tokens",
        "DROP TABLE search_documents",
        "DROP TABLE search_also",
        f"DETACH {ALIAS}",
    ]


def attach_statements(path: Path) -> list[str]:
    """Statements that make `search.bm25` callable on a warehouse connection."""
    quoted = str(path).replace("'", "''")
    return [load_fts_sql(), f"ATTACH IF NOT EXISTS '{quoted}' AS {ALIAS} (READ_ONLY)"]


def replace_index(tmp_path: Path, path: Path) -> None:
    """Swap the new index in: readers holding the old file keep reading it."""
    os.replace(tmp_path, path)
    wal = tmp_path.with_name(tmp_path.name + ".wal")
    if wal.exists():
        wal.unlink()


# -- hits -----------------------------------------------------------------------------------------


@dataclass
class SearchFilters:
    since: datetime | None = None
    until: datetime | None = None
    site: str | None = None
    lang: str | None = None
    tag: str | None = None
    category: str | None = None
    limit: int = 20
    collapse_clusters: bool = False


HIT_COLUMNS = (
    "title", "site", "published_at", "url", "score", "snippet", "cluster_id", "cluster_size",
    "language", "article_id",
)  # fmt: skip


def hits_sql(query: str, filters: SearchFilters) -> tuple[str, list[Any]]:
    """The ranked hits of `search.bm25(query)` joined with their articles, filtered."""
    where: list[str] = []
    params: list[Any] = []
    when = "coalesce(a.published_at, a.fetched_at)"
    if filters.since is not None:
        where.append(f"{when} >= ?")
        params.append(filters.since)
    if filters.until is not None:
        where.append(f"{when} < ?")
        params.append(filters.until)
    if filters.site:
        where.append(
            "(lower(a.site_name) = lower(?) OR regexp_extract(a.url, '^https?://(?:www\\.)?"
            "([^/:]+)', 1) = regexp_replace(lower(?), '^www\\.', ''))"
        )
        params += [filters.site, filters.site]
    if filters.lang:
        where.append("lower(split_part(coalesce(a.language, ''), '-', 1)) = lower(?)")
        params.append(filters.lang)
    if filters.tag:
        where.append(
            "a.article_id IN (SELECT x.article_id FROM article_tags x JOIN tags t USING (tag_id)"
            " WHERE t.key = lower(?) OR lower(t.name) = lower(?))"
        )
        params += [filters.tag, filters.tag]
    if filters.category:
        where.append(
            "a.article_id IN (SELECT x.article_id FROM article_categories x"
            " JOIN categories c USING (category_id)"
            " WHERE c.key = lower(?) OR lower(c.name) = lower(?))"
        )
        params += [filters.category, filters.category]
    condition = " AND ".join(where) or "true"
    collapse = (
        "QUALIFY row_number() OVER (PARTITION BY a.cluster_id ORDER BY h.score DESC,"
        " h.article_id) = 1"
        if filters.collapse_clusters
        else ""
    )
    # Ranked on the cheap columns first; the text (for the snippet) and the cluster sizes are
    # read for the hits shown only.
    sql = f"""
        WITH hits AS (SELECT * FROM {ALIAS}.bm25(?, lang := ?)),
        ranked AS (
            SELECT h.article_id, h.score, a.cluster_id
            FROM hits h JOIN articles a USING (article_id)
            WHERE {condition}
            {collapse}
            ORDER BY h.score DESC, h.article_id
            LIMIT {int(filters.limit)}
        ),
        sizes AS (
            SELECT cluster_id, count(*) AS cluster_size FROM articles
            WHERE cluster_id IN (SELECT cluster_id FROM ranked) GROUP BY cluster_id
        )
        SELECT a.title, coalesce(a.site_name, regexp_extract(a.url,
                   '^https?://(?:www\\.)?([^/:]+)', 1)) AS site,
               a.published_at, a.url, round(r.score, 4) AS score, a.text, r.cluster_id,
               coalesce(s.cluster_size, 1) AS cluster_size, a.language, a.article_id
        FROM ranked r JOIN articles a USING (article_id)
        LEFT JOIN sizes s ON s.cluster_id = r.cluster_id
        ORDER BY r.score DESC, r.article_id"""
    return sql, [query, filters.lang, *params]


_WORD = re.compile(r"\w+", re.UNICODE)


def snippet(text: str, query: str, width: int = 160) -> str:
    """About `width` characters of `text` around the first place a query word (or its stem's
    leading part) appears; the text's start when none does."""
    flat = " ".join((text or "").split())
    lowered = flat.lower()
    best = -1
    for word in _WORD.findall(query.lower()):
        for probe in dict.fromkeys((word, word[: max(3, len(word) * 2 // 3)])):
            at = lowered.find(probe)
            if at >= 0 and (best < 0 or at < best):
                best = at
                break
    if best < 0:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, best - width // 3)
    if start > 0:
        space = flat.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(flat), start + width)
    return ("…" if start > 0 else "") + flat[start:end] + ("…" if end < len(flat) else "")


# -- building and searching through a Warehouse ----------------------------------------------------

# The index counts as covering articles fetched up to this long before its build began: a step
# committed during the build may hold articles fetched before it (they are searched as fresh).
FRESH_MARGIN = timedelta(hours=1)


@dataclass
class IndexStats:
    path: Path
    documents: int
    terms: int
    postings: int
    bytes: int
    seconds: float

    def line(self) -> str:
        return (
            f"search index: {self.documents} articles, {self.terms} terms, {self.postings}"
            f" postings, {self.bytes / 2**20:.1f} MiB, built in {self.seconds:.1f} s"
        )


@contextlib.contextmanager
def index_lock(path: Path, wait: bool = True) -> Iterator[bool]:
    """One build or refresh of the index at `path` at a time on this machine (its readers
    never take it). Yields False, without waiting, when `wait` is off and another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_into(wh: Warehouse, statements: list[str], tmp: Path) -> None:
    wh.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
    try:
        for statement in statements:
            wh.execute(statement)
    except BaseException:
        with contextlib.suppress(Exception):
            wh.execute("ROLLBACK")
        with contextlib.suppress(Exception):
            wh.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise


def build_index(
    wh: Warehouse, now: datetime | None = None, margin: timedelta = FRESH_MARGIN
) -> IndexStats:
    """(Re)build the index of every article in `wh`, into a new file swapped in when done. On
    a DuckDB file `wh` must be open for writing (DuckDB attaches nothing writable to a
    read-only file); on a lake, read-only will do. `margin` 0 is for callers that hold a
    file warehouse's writer lock: no step can then commit an article fetched before now."""
    path = wh.search_index_path
    tmp = path.with_name(f"{path.name}.building-{os.getpid()}")
    with index_lock(path):
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        began = time.perf_counter()
        built_at = (now or datetime.now(UTC)) - margin
        _run_into(wh, build_statements(tmp, built_at), tmp)
        replace_index(tmp, path)
        seconds = time.perf_counter() - began
    with duckdb.connect(str(path), read_only=True) as con:
        counts = con.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM terms),"
            " (SELECT count(*) FROM postings)"
        ).fetchall()[0]
    documents, terms, postings = (int(c) for c in counts)
    return IndexStats(path, documents, terms, postings, path.stat().st_size, seconds)


@dataclass
class RefreshStats:
    articles: int  # folded in: new, or fetched again (`changed`) since the last build/refresh
    changed: int
    seconds: float

    def line(self) -> str:
        return (
            f"search index refreshed: {self.articles} articles ({self.changed} fetched again)"
            f" in {self.seconds:.1f} s"
        )


def refresh_index(
    wh: Warehouse,
    now: datetime | None = None,
    margin: timedelta = FRESH_MARGIN,
    article_ids: Sequence[int] = (),
) -> RefreshStats | None:
    """Fold the articles that arrived or changed since the index was built (or last
    refreshed) into it, and `article_ids` (rewritten in place, as a reextract does, with no
    new fetch): a copy is updated and swapped in, so searches never wait. Runs call it when
    they end; None when there is no index, nothing arrived, or another process on this
    machine is building or refreshing it. `wh` as for build_index."""
    path = wh.search_index_path
    if not path.exists():
        return None
    with index_lock(path, wait=False) as locked:
        if not locked or not path.exists():
            return None
        began = time.perf_counter()
        with duckdb.connect(str(path), read_only=True) as con:
            row = con.execute("SELECT built_at, max_article_id FROM index_info").fetchone()
        assert row is not None
        built_at, max_article_id = row
        ids = sorted(set(article_ids))
        counted = wh.sql(
            "SELECT count(*), count(*) FILTER (WHERE article_id <= ?) FROM articles"
            " WHERE article_id > ? OR fetched_at > ? OR article_id IN (SELECT unnest(?))",
            [max_article_id, max_article_id, built_at, ids],
        )
        articles, changed = (int(n) for n in counted[0])
        if not articles:
            return None
        tmp = path.with_name(f"{path.name}.refreshing-{os.getpid()}")
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(path, tmp)
        covered_to = (now or datetime.now(UTC)) - margin
        wh.execute(
            "CREATE OR REPLACE TEMP TABLE search_also AS SELECT unnest(?::BIGINT[]) AS article_id",
            [ids],
        )
        _run_into(wh, refresh_statements(tmp, covered_to, changed > 0), tmp)
        replace_index(tmp, path)
        return RefreshStats(articles, changed, time.perf_counter() - began)


def attach_index(wh: Warehouse, required: bool = True) -> bool:
    """Attach the index as `search` (read-only) on `wh`'s connection, with the fts extension
    loaded: `search.bm25(q)` is then callable in its SQL. False (or SearchIndexMissing when
    `required`) when there is no index yet."""
    path = wh.search_index_path
    if not path.exists():
        if required:
            raise SearchIndexMissing(
                f"no search index at {path} yet: run `news-ingest search --rebuild` (the nightly"
                " maintenance rebuilds it too)"
            )
        return False
    for statement in attach_statements(path):
        wh.execute(statement)
    return True


def search(wh: Warehouse, query: str, filters: SearchFilters) -> list[dict[str, Any]]:
    """The ranked hits for `query`, each a dict of HIT_COLUMNS (the snippet in place of the
    text)."""
    attach_index(wh)
    sql, params = hits_sql(query, filters)
    names, rows = wh.query(sql, params)
    hits = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        record["snippet"] = snippet(record.pop("text") or "", query)
        hits.append({name: record[name] for name in HIT_COLUMNS})
    return hits
