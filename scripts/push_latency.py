"""Push-to-row latency of WebSub on loopback, and the poll-to-row delay for comparison.

A loopback site serves an Atom feed naming a loopback hub (tests/websub_hub.py); the WebSub
service (flows/websub.py) subscribes to it as `news-ingest serve` does. Then, --pushes times, a
new story is published and pushed: the push-to-row latency is from the hub's POST to the stored
article row (articles.fetched_at), through the real `websub-push` Prefect flow run. For polling,
--polls times a new story is published and an `ingest` run started at once: that is the
processing part of a poll; a feed polled every --poll-interval seconds adds a wait spread evenly
over the interval, which the printed publish-to-row figures add (p50 half, p90 nine tenths).

    python scripts/push_latency.py [--pushes 20] [--polls 5] [--poll-interval 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q * 100) - 1]


def atom(self_url: str, hub: str, stories: int) -> bytes:
    base = self_url.rsplit("/", 1)[0]
    now = datetime.now(UTC).isoformat()
    entries = "".join(
        f"<entry><id>{base}/a/{n}</id><title>Story {n}</title>"
        f'<link href="{base}/a/{n}.html"/><updated>{now}</updated></entry>'
        for n in range(stories, max(0, stories - 5), -1)
    )
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Latency</title>'
        f'<link rel="self" href="{self_url}"/><link rel="hub" href="{hub}"/>'
        f"<updated>{now}</updated>{entries}</feed>"
    ).encode()


def page(n: int) -> bytes:
    text = f"<p>Story {n}: the harbour council met again and voted on the ferry plans. </p>" * 30
    head = f"<html><head><title>Story {n}</title></head>"
    return f"{head}<body><article>{text}</article></body></html>".encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument(
        "--poll-interval", type=float, default=300.0, help="seconds (5 min: our shortest)"
    )
    args = parser.parse_args()

    from flows.api import TemporaryServer, free_port, prefect_api

    server = TemporaryServer()
    server.start()
    work = Path(tempfile.mkdtemp(prefix="push-latency-"))
    port = free_port()
    os.environ.update(
        {
            "NEWS_INGEST_WAREHOUSE": str(work / "news.duckdb"),
            "NEWS_INGEST_ALLOW_HOSTS": "127.0.0.1",
            "NEWS_INGEST_WEBSUB_CALLBACK_URL": f"http://127.0.0.1:{port}",
            "NEWS_INGEST_WEBSUB_PORT": str(port),
            "NEWS_INGEST_EXTRACT_WORKERS": "1",
        }
    )
    from flows.ingest import ingest
    from flows.websub import WebSubService
    from pipeline.loopback import LoopbackSite
    from pipeline.settings import Settings
    from pipeline.store import Warehouse
    from tests.websub_hub import LoopbackHub

    try:
        with prefect_api(server), LoopbackSite() as site, LoopbackHub() as hub:
            settings = Settings.from_env()
            push_url, poll_url = site.url("/push/feed.xml"), site.url("/poll/feed.xml")
            site.set("/push/feed.xml", atom(push_url, hub.url, 0), "application/atom+xml")
            with Warehouse(settings.warehouse) as wh:
                wh.add_feeds([push_url])
            service = WebSubService(settings).start(timer=False)
            try:
                service.tick()
                service.wait_idle()
                hub.wait_verifications(1)
                service.wait_idle()
                push_ms = []
                for n in range(1, args.pushes + 1):
                    site.set(f"/push/a/{n}.html", page(n), "text/html; charset=utf-8")
                    body = atom(push_url, hub.url, n)
                    sent = datetime.now(UTC)
                    assert hub.publish(push_url, body) == [202]
                    service.wait_idle()
                    with Warehouse(settings.warehouse) as wh:
                        (stored,) = wh.sql(
                            "SELECT fetched_at FROM articles WHERE url = ?",
                            [site.url(f"/push/a/{n}.html")],
                        )[0]
                    push_ms.append((stored - sent).total_seconds() * 1000)
            finally:
                service.stop()

            poll_ms = []
            for n in range(1, args.polls + 1):
                site.set(f"/poll/a/{n}.html", page(n), "text/html; charset=utf-8")
                site.set("/poll/feed.xml", atom(poll_url, hub.url, n), "application/atom+xml")
                published = datetime.now(UTC)
                ingest(feed_urls=[poll_url], warehouse=str(settings.warehouse))
                with Warehouse(settings.warehouse) as wh:
                    (stored,) = wh.sql(
                        "SELECT fetched_at FROM articles WHERE url = ?",
                        [site.url(f"/poll/a/{n}.html")],
                    )[0]
                poll_ms.append((stored - published).total_seconds() * 1000)
    finally:
        server.stop()

    print(f"push-to-row latency on loopback, {len(push_ms)} pushes (hub POST -> article row):")
    print(
        f"  p50 {quantile(push_ms, 0.5):.0f} ms, p90 {quantile(push_ms, 0.9):.0f} ms,"
        f" min {min(push_ms):.0f} ms, max {max(push_ms):.0f} ms"
    )
    print("  each, in order (the first is the process's first flow run): ", end="")
    print(" ".join(f"{ms:.0f}" for ms in push_ms))
    print(f"poll run on loopback, {len(poll_ms)} runs (feed updated, run started at once -> row):")
    print(f"  p50 {quantile(poll_ms, 0.5):.0f} ms, p90 {quantile(poll_ms, 0.9):.0f} ms")
    interval = args.poll_interval
    p50 = interval * 0.5 + quantile(poll_ms, 0.5) / 1000
    p90 = interval * 0.9 + quantile(poll_ms, 0.9) / 1000
    print(f"poll-to-row delay polled every {interval:g} s (wait spread over the interval + run):")
    print(f"  p50 {p50:.1f} s, p90 {p90:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
