"""Dedup cost per article as the warehouse grows to 1M synthetic articles, against extraction."""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "pages"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from pipeline import neardup  # noqa: E402
from pipeline.corpus import absent_reason, load_pages  # noqa: E402
from pipeline.records import Article, Entry, Fetch, PageResult, PendingPage  # noqa: E402
from pipeline.store import Warehouse  # noqa: E402

SIZES = (1_000, 10_000, 100_000, 1_000_000)
BATCHES = (100, 1_000)
CHUNK = 50_000  # articles generated and inserted per Arrow chunk (x32 band rows)
DUPLICATE_SHARE = 0.1  # of each new batch: near-copies of stored articles (exercise the fetch)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SYNTH_HOST = "synthetic.example"


def band_matrix(sigs: np.ndarray) -> np.ndarray:
    """neardup.band_hashes for a (n, NUM_PERM) uint32 matrix at once: (n, BANDS) int64."""
    rows = sigs.astype(np.uint64).reshape(len(sigs), neardup.BANDS, neardup.ROWS)
    with np.errstate(over="ignore"):
        mixed = (rows * neardup._BAND_MIX).sum(axis=2, dtype=np.uint64)
    return mixed.view(np.int64)


def _content_hashes(ids: np.ndarray, salt: str) -> list[str]:
    return [hashlib.sha256(f"{salt}{i}".encode()).hexdigest() for i in ids.tolist()]


def grow(wh: Warehouse, start: int, stop: int, rng: np.random.Generator) -> None:
    """Insert synthetic articles start+1..stop (ids = their number) with random signatures:
    articles rows (NOT NULL columns filled), article_signatures and article_bands."""
    for lo in range(start, stop, CHUNK):
        hi = min(stop, lo + CHUNK)
        ids = np.arange(lo + 1, hi + 1, dtype=np.int64)
        n = len(ids)
        sigs = rng.integers(0, 2**32, (n, neardup.NUM_PERM), dtype=np.uint64).astype(np.uint32)
        keys = [f"{SYNTH_HOST}/a/{i}" for i in ids.tolist()]
        urls = [f"https://{k}" for k in keys]
        articles = pa.table(
            {
                "article_id": ids,
                "url": urls,
                "canonical_url": urls,
                "url_key": keys,
                "title": [f"Synthetic {i}" for i in ids.tolist()],
                "text": pa.array(["synthetic"] * n),
                "content_hash": _content_hashes(ids, "old"),
                "cluster_id": ids,
                "fetched_at": pa.array([NOW] * n, pa.timestamp("us", tz="UTC")),
                "source": pa.array(["page"] * n),
                "extractor_version": pa.array(["synthetic"] * n),
            }
        )
        signatures = pa.table(
            {
                "article_id": ids,
                "signature": pa.array([row.tobytes() for row in sigs], pa.binary()),
                "shingles": pa.array(rng.integers(200, 2000, n), pa.int32()),
                "version": pa.array([neardup.SIGNATURE_VERSION] * n),
            }
        )
        bands = band_matrix(sigs)
        band_table = pa.table(
            {
                "band": pa.array(np.tile(np.arange(neardup.BANDS, dtype=np.uint8), n)),
                "band_hash": pa.array(bands.reshape(-1)),
                "article_id": pa.array(np.repeat(ids, neardup.BANDS)),
            }
        )
        with wh.transaction():
            for name, table in (
                ("articles", articles),
                ("article_signatures", signatures),
                ("article_bands", band_table),
                ("content_hashes", articles.select(["content_hash", "article_id"])),
            ):
                wh.load_table(name, table)
    # New articles get ids above every synthetic one, as in a real warehouse (ids only grow).
    wh.advance_ids("article_id", stop)


def new_articles(
    wh: Warehouse, n: int, rng: np.random.Generator, tag: str, size: int
) -> list[Article]:
    """n new articles: DUPLICATE_SHARE of them near-copies (10% of values changed) of stored
    ones, the rest random."""
    sigs = rng.integers(0, 2**32, (n, neardup.NUM_PERM), dtype=np.uint64).astype(np.uint32)
    n_dup = int(n * DUPLICATE_SHARE)
    if n_dup:
        picks = rng.choice(np.arange(1, size + 1), n_dup, replace=False).tolist()
        stored = dict(
            wh.sql(
                "SELECT article_id, signature FROM article_signatures"
                " WHERE article_id IN (SELECT unnest(?))",
                [picks],
            )
        )
        for k, article_id in enumerate(picks):
            base = np.frombuffer(bytes(stored[article_id]), dtype=np.uint32).copy()
            changed = rng.choice(neardup.NUM_PERM, neardup.NUM_PERM // 10, replace=False)
            base[changed] = sigs[k, changed]
            sigs[k] = base
    out = []
    for k in range(n):
        key = f"{SYNTH_HOST}/new/{tag}/{k}"
        out.append(
            Article(
                url=f"https://{key}",
                canonical_url=f"https://{key}",
                url_key=key,
                title=f"New {tag} {k}",
                text=f"synthetic new {tag} {k}",
                content_hash=hashlib.sha256(f"new{tag}{k}".encode()).hexdigest(),
                extractor_version="synthetic",
                signature=sigs[k].tobytes(),
                shingles=int(rng.integers(200, 2000)),
            )
        )
    return out


def time_cluster(wh: Warehouse, arts: list[Article]) -> float:
    """Seconds of one `cluster_batch` call (hash layer, band probe, decision, signature/band
    writes) for a batch of new articles, rolled back afterwards."""
    with wh.rolled_back():
        ids = wh.allocate_ids("article_id", len(arts))
        start = time.perf_counter()
        wh.cluster_batch(arts, ids, NOW)
        return time.perf_counter() - start


def time_record(wh: Warehouse, arts: list[Article]) -> float:
    """Seconds of one whole `record_page_results` for a batch of new pages, rolled back."""
    results = []
    for a in arts:
        entry = Entry(guid=a.url, link=a.url, title=a.title)
        page = PendingPage(url=a.url, link_key=a.url_key, entry=entry)
        fetch = Fetch(url=a.url, kind="page", started_at=NOW, final_url=a.url, status=200)
        results.append(PageResult(page=page, fetch=fetch, article=a))
    with wh.rolled_back():
        run_id = wh.start_run()
        start = time.perf_counter()
        wh.record_page_results(run_id, results)
        return time.perf_counter() - start


def measure(wh: Warehouse, size: int, rng: np.random.Generator, repeat: int) -> dict[str, float]:
    """Per-article ms of `cluster_batch` and of `record_page_results` per batch size (medians)."""
    cells: dict[str, float] = {}
    for batch in BATCHES:
        for name, fn in (("cluster", time_cluster), ("record", time_record)):
            runs = [fn(wh, new_articles(wh, batch, rng, name, size)) for _ in range(repeat)]
            cells[f"{name}/{batch}"] = statistics.median(runs) * 1000 / batch
    return cells


def corpus_costs(corpus: Path, sample: int) -> tuple[float, float, float, int]:
    """ms per page of extract_article, of trafilatura alone, and of neardup.signature on the
    extracted text, over up to `sample` corpus pages."""
    import trafilatura

    from pipeline.extract import TRAFILATURA_OPTIONS, extract_article

    pages = [(page.html, page.url) for page in load_pages(corpus)]
    pages = pages[:sample]
    # Page by page, alternating, so a busy machine slows each measurement alike.
    extract_s = trafilatura_s = sign_s = 0.0
    for html, url in pages:
        t0 = time.perf_counter()
        text = extract_article(html, url).text
        t1 = time.perf_counter()
        neardup.signature(text)
        t2 = time.perf_counter()
        trafilatura.bare_extraction(html.decode("utf-8", "replace"), url=url, **TRAFILATURA_OPTIONS)
        t3 = time.perf_counter()
        extract_s, sign_s, trafilatura_s = (
            extract_s + t1 - t0,
            sign_s + t2 - t1,
            trafilatura_s + t3 - t2,
        )
    extract_ms, trafilatura_ms, best = (
        x * 1000 / len(pages) for x in (extract_s, trafilatura_s, sign_s)
    )
    return extract_ms, trafilatura_ms, best, len(pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus pages folder")
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="warehouse sizes, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--sample", type=int, default=133, help="corpus pages for extraction")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="build the warehouse here")
    args = parser.parse_args(argv)
    if (reason := absent_reason(args.corpus)) is not None:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    if args.keep is not None and args.keep.exists():
        print(f"error: {args.keep} exists; --keep needs a new path", file=sys.stderr)
        return 2
    sizes = sorted(int(s) for s in args.sizes.split(","))
    extract_ms, trafilatura_ms, sign_ms, pages = corpus_costs(args.corpus, args.sample)
    print(
        f"corpus ({pages} pages): extract_article {extract_ms:.2f} ms, trafilatura alone"
        f" {trafilatura_ms:.2f} ms, neardup.signature {sign_ms:.3f} ms per article"
    )
    rng = np.random.default_rng(args.seed)
    header = (
        f"{'articles':>10} {'signature':>10} {'cluster/100':>12} {'cluster/1000':>13}"
        f" {'record/100':>11} {'record/1000':>12} {'dedup share':>12} {'build s':>8}"
    )
    print("per-article ms; dedup share = (signature + cluster/100) / extract_article")
    print(header)
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as tmp:
        db = args.keep or Path(tmp) / "bench.duckdb"
        with Warehouse(db) as wh:
            have = 0
            for size in sizes:
                start = time.perf_counter()
                grow(wh, have, size, rng)
                wh.checkpoint()
                wh.refresh_band_index()  # as the next write step would, once enough rows are new
                built = time.perf_counter() - start
                have = size
                cells = measure(wh, size, rng, args.repeat)
                share = (sign_ms + cells["cluster/100"]) / extract_ms
                print(
                    f"{size:>10,} {sign_ms:>10.3f} {cells['cluster/100']:>12.3f}"
                    f" {cells['cluster/1000']:>13.3f} {cells['record/100']:>11.3f}"
                    f" {cells['record/1000']:>12.3f} {share:>12.1%} {built:>8.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
