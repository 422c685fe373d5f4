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

Fresh without rebuilding on every ingest: the nightly maintenance rebuilds the index, and
`bm25` also scores, on the fly, the articles that arrived or changed since it was built
(article_id above the index's, or fetched_at after its build). Figures: docs/operations.md.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
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
        f"""CREATE TABLE {s}.tokens AS
            WITH fields AS (
                SELECT article_id, stemmer, title AS t, {TITLE_WEIGHT} AS weight
                FROM {s}.documents
                UNION ALL
                SELECT article_id, stemmer, text, 1 FROM {s}.documents
            ),
            tokens AS (
                -- words and runs apart: one vectorised stem() call per word, no list lambdas;
                -- accents go after stemming (a query typed without them still matches)
                SELECT article_id, strip_accents(stem(w, stemmer)) AS term, weight
                FROM (SELECT article_id, stemmer, weight, unnest({s}.words(t)) AS w FROM fields)
                UNION ALL
                SELECT article_id, unnest({s}.bigrams(r)), weight
                FROM (SELECT article_id, weight, unnest({s}.runs(t)) AS r FROM fields)
            )
            SELECT term, article_id, sum(weight)::INTEGER AS tf
            FROM tokens GROUP BY term, article_id""",
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


def build_index(wh: Warehouse, now: datetime | None = None) -> IndexStats:
    """(Re)build the index of every article in `wh`, into a new file swapped in when done. On
    a DuckDB file `wh` must be open for writing (DuckDB attaches nothing writable to a
    read-only file); on a lake, read-only will do."""
    path = wh.search_index_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.building-{os.getpid()}")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    began = time.perf_counter()
    built_at = (now or datetime.now(UTC)) - FRESH_MARGIN
    wh.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
    try:
        for statement in build_statements(tmp, built_at):
            wh.execute(statement)
    except BaseException:
        with contextlib.suppress(Exception):
            wh.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
        tmp.unlink(missing_ok=True)
        raise
    replace_index(tmp, path)
    seconds = time.perf_counter() - began
    with duckdb.connect(str(path), read_only=True) as con:
        counts = con.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM terms),"
            " (SELECT count(*) FROM postings)"
        ).fetchall()[0]
    documents, terms, postings = (int(c) for c in counts)
    return IndexStats(path, documents, terms, postings, path.stat().st_size, seconds)


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
