"""Full-text search at scale (issue 15): index build time and size, query times, and what
freshness costs, on warehouses from scripts/warehouse_scale.py (10k, 100k, 1M articles).

For each warehouse given:
- the nightly rebuild: seconds, index size, postings;
- query times (cold = first after opening, warm = median) for a few one- and two-word queries,
  with and without filters and --collapse-clusters;
- the same queries with K articles "arrived since the build" (their rows taken out of a copy
  of the index, as if it had been built before they came): what scanning what arrived costs;
- the other way, an ingest refreshing the index: appending one 100-article batch's postings
  and updating the term counts, timed on a copy of the index.

    python scripts/warehouse_scale.py --articles 100000 --out wh-100k.duckdb --skip-queries \\
        --skip-ingest
    python scripts/search_benchmark.py wh-10k.duckdb wh-100k.duckdb wh-1m.duckdb
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import duckdb  # noqa: E402

from pipeline import search  # noqa: E402
from pipeline.store import Warehouse  # noqa: E402

QUERIES = (
    ("one word", "election", search.SearchFilters()),
    ("two words", "climate policy", search.SearchFilters()),
    ("rare word", "lighthouse", search.SearchFilters()),
    ("German", "Regierung", search.SearchFilters(lang="de")),
    ("filtered", "market", search.SearchFilters(since=None, tag="politics", limit=10)),
    ("collapsed", "election", search.SearchFilters(collapse_clusters=True)),
)
FRESH_COUNTS = (1_000, 10_000)
BATCH = 100


def timed_query(wh: Warehouse, query: str, filters: search.SearchFilters, repeat: int) -> tuple:
    began = time.perf_counter()
    hits = search.search(wh, query, filters)
    cold = time.perf_counter() - began
    warm = []
    for _ in range(repeat):
        began = time.perf_counter()
        search.search(wh, query, filters)
        warm.append(time.perf_counter() - began)
    return cold, statistics.median(warm), len(hits)


def queries(db: Path, repeat: int, label: str) -> None:
    with Warehouse(db, read_only=True) as wh:
        for name, query, filters in QUERIES:
            cold, warm, n = timed_query(wh, query, filters, repeat)
            flag = "  OVER 1 s" if max(cold, warm) > 1 else ""
            print(
                f"  {label:<18} {name:<12} {query!r:<18} cold {cold * 1000:7.0f} ms"
                f"  warm {warm * 1000:7.0f} ms  hits {n}{flag}",
                flush=True,
            )


def make_stale(index: Path, keep_below: int) -> None:
    """The index as if built before the articles from `keep_below` on arrived."""
    with duckdb.connect(str(index)) as con:
        con.execute("DELETE FROM postings WHERE article_id >= ?", [keep_below])
        con.execute("DELETE FROM documents WHERE article_id >= ?", [keep_below])
        con.execute(
            "CREATE OR REPLACE TABLE terms AS SELECT term, count(*)::INTEGER AS df"
            " FROM postings GROUP BY term ORDER BY term"
        )
        con.execute(
            "UPDATE index_info SET max_article_id = ?, documents = (SELECT count(*) FROM"
            " documents), avg_length = (SELECT avg(length) FROM documents)",
            [keep_below - 1],
        )


def incremental_refresh(db: Path, index: Path, work: Path) -> float:
    """Seconds to fold one batch of BATCH articles into (a copy of) the index, as an ingest
    that refreshed it would: their postings appended, their terms' counts updated."""
    copy = work / "refresh.search"
    shutil.copy(index, copy)
    with Warehouse(db, read_only=True) as wh:
        top = int(wh.sql("SELECT max(article_id) FROM articles")[0][0])
    make_stale(copy, top - BATCH + 1)
    con = duckdb.connect()
    con.execute(search.load_fts_sql())
    con.execute(f"ATTACH '{db}' AS wh (READ_ONLY)")
    con.execute("USE wh")
    con.execute(f"ATTACH '{copy}' AS {search.ALIAS}")
    began = time.perf_counter()
    s = f"{search.ALIAS}.main"
    con.execute("BEGIN")
    con.execute(
        f"""CREATE TEMP TABLE batch AS
        WITH docs AS (
            SELECT article_id, {s}.stemmer(language) AS stemmer, title, text FROM articles
            WHERE article_id > (SELECT max_article_id FROM {s}.index_info)),
        tokens AS (
            SELECT article_id, stemmer, unnest({s}.terms(title, stemmer)) AS term, 2 AS w
            FROM docs
            UNION ALL SELECT article_id, stemmer, unnest({s}.terms(text, stemmer)), 1 FROM docs)
        SELECT term, article_id, stemmer, sum(w)::INTEGER AS tf FROM tokens GROUP BY ALL"""
    )
    con.execute(
        f"INSERT INTO {s}.documents SELECT article_id, any_value(stemmer), sum(tf)"
        " FROM batch GROUP BY article_id"
    )
    con.execute(
        f"INSERT INTO {s}.postings SELECT b.term, d.stemmer, b.article_id, b.tf, d.length"
        f" FROM batch b JOIN {s}.documents d USING (article_id)"
    )
    con.execute(
        f"""MERGE INTO {s}.terms t USING (SELECT term, count(*) AS n FROM batch GROUP BY term) b
        ON t.term = b.term
        WHEN MATCHED THEN UPDATE SET df = t.df + b.n
        WHEN NOT MATCHED THEN INSERT VALUES (b.term, b.n)"""
    )
    con.execute(
        f"UPDATE {s}.index_info SET max_article_id = (SELECT max(article_id) FROM batch),"
        f" documents = (SELECT count(*) FROM {s}.documents)"
    )
    con.execute("COMMIT")
    seconds = time.perf_counter() - began
    con.close()
    copy.unlink()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouses", nargs="+", type=Path, help="DuckDB warehouse files")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per query (median)")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the copies and their indexes in --work"
    )
    args = parser.parse_args(argv)
    import tempfile

    work = args.work or Path(tempfile.mkdtemp(prefix="news-ingest-search-"))
    work.mkdir(parents=True, exist_ok=True)
    for original in args.warehouses:
        if not original.is_file():
            print(f"error: no warehouse at {original}", file=sys.stderr)
            return 2
        # A copy: the index goes beside it, and the original stays as it was.
        db = work / original.name
        print(f"\n== {original}: copying to {db}", flush=True)
        shutil.copy(original, db)
        with Warehouse(db) as wh:
            n = int(wh.sql("SELECT count(*) FROM articles")[0][0])
            chars = int(wh.sql("SELECT sum(length(text)) FROM articles")[0][0])
            stats = search.build_index(wh)
            index = wh.search_index_path
        print(
            f"  {n:,} articles ({chars / n:.0f} characters of text each on average)\n"
            f"  rebuild: {stats.seconds:.1f} s; index {stats.bytes / 2**20:.0f} MiB"
            f" ({stats.bytes / n:.0f} bytes per article), {stats.terms:,} terms,"
            f" {stats.postings:,} postings",
            flush=True,
        )
        queries(db, args.repeat, "index fresh")
        pristine = work / "pristine.search"
        shutil.copy(index, pristine)
        for fresh in FRESH_COUNTS:
            if fresh >= n:
                continue
            shutil.copy(pristine, index)
            with Warehouse(db, read_only=True) as wh:
                top = int(wh.sql("SELECT max(article_id) FROM articles")[0][0])
            make_stale(index, top - fresh + 1)
            queries(db, args.repeat, f"{fresh:,} arrived")
        shutil.copy(pristine, index)
        pristine.unlink()
        refresh = incremental_refresh(db, index, work)
        print(
            f"  an ingest refreshing the index instead: {refresh * 1000:.0f} ms per"
            f" {BATCH}-article batch (postings appended, term counts merged)",
            flush=True,
        )
        if args.keep:
            continue
        db.unlink()
        index.unlink()
        for leftover in db.parent.glob(db.name + "*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
