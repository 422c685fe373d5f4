"""Memory across consecutive ingest runs in one process, as `serve` would run them: prints RSS."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flows  # noqa: E402,F401 - sets Prefect's offline switches before Prefect loads

RUNS = 20


def rss_mib() -> float:
    """Current resident set size of this process, from /proc (MiB)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs (default {RUNS})")
    args = parser.parse_args()
    os.environ["NEWS_INGEST_ALLOW_HOSTS"] = "127.0.0.1"
    from flows.ingest import ingest
    from pipeline.loopback import LoopbackSite
    from pipeline.sample_site import build_sample_site

    with tempfile.TemporaryDirectory() as tmp, LoopbackSite() as site:
        sample = build_sample_site(site.base_url)
        site.load(sample.routes)
        feeds = [sample.url(p) for p in sample.all_feed_paths]
        db = str(Path(tmp) / "news.duckdb")
        print("the site alternates between its two versions, so every run has work to do")
        print(f"{'run':>4} {'seconds':>8} {'rss MiB':>8} {'new':>4}")
        first = None
        for n in range(1, args.runs + 1):
            # Alternate the site between its two versions so runs do real work, not only 304s.
            site.load(build_sample_site(site.base_url, version=2 if n % 2 == 0 else 1).routes)
            started = time.monotonic()
            counts = ingest(feed_urls=feeds, warehouse=db)
            rss = rss_mib()
            first = first or rss
            print(
                f"{n:>4} {time.monotonic() - started:>8.2f} {rss:>8.1f}"
                f" {counts.get('articles_new', 0):>4}",
                flush=True,
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"RSS after run 1: {first:.1f} MiB, after run {args.runs}: {rss:.1f} MiB,"
            f" growth {rss - first:+.1f} MiB; peak {peak:.1f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
