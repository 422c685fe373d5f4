"""Full-text search at scale (issue 15): index build time and size, query times, and what
freshness costs, on warehouses from scripts/warehouse_scale.py (10k, 100k, 1M articles).

For each warehouse given:
- the nightly rebuild: seconds, index size, postings;
- query times (cold = first after opening, warm = median) for a few one- and two-word queries,
  with and without filters and --collapse-clusters;
- the same queries with K articles "arrived since the build" (their rows taken out of a copy
  of the index, as if it had been built before they came): what scanning what arrived costs;
- the other way, an ingest run folding what it stored into the index (refresh_index: copy,
  fold, swap) for 100, 1,000 and 10,000 new articles, then the queries on the refreshed index.

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
from datetime import timedelta
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
REFRESH_COUNTS = (100, 1_000, 10_000)


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


def timed_refresh(db: Path, index: Path, arrived: int) -> tuple[float, float]:
    """Seconds an ingest run takes to fold `arrived` new articles into the index
    (pipeline.search.refresh_index: copy, fold, swap), and of that the copy alone."""
    with Warehouse(db, read_only=True) as wh:
        top = int(wh.sql("SELECT max(article_id) FROM articles")[0][0])
    make_stale(index, top - arrived + 1)
    began = time.perf_counter()
    shutil.copyfile(index, index.with_name("copy-timing"))
    copy_s = time.perf_counter() - began
    index.with_name("copy-timing").unlink()
    with Warehouse(db) as wh:
        stats = search.refresh_index(wh, margin=timedelta(0))
    assert stats is not None and stats.articles == arrived, stats
    return stats.seconds, copy_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouses", nargs="+", type=Path, help="DuckDB warehouse files")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per query (median)")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the copies and their indexes in --work"
    )
    parser.add_argument(
        "--fresh-only",
        action="store_true",
        help="time the rebuild and the queries on the fresh index only (no arrivals, no refresh)",
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
        if args.fresh_only:
            continue
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
        for arrived in REFRESH_COUNTS:
            if arrived >= n:
                continue
            shutil.copy(pristine, index)
            seconds, copy_s = timed_refresh(db, index, arrived)
            print(
                f"  an ingest run folding {arrived:,} new articles into the index instead:"
                f" {seconds:.2f} s ({copy_s:.2f} s of it copying the index)",
                flush=True,
            )
        queries(db, args.repeat, "after a refresh")
        shutil.copy(pristine, index)
        pristine.unlink()
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
