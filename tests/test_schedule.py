"""Per-feed polling rules: intervals from publishing rate and hints, backoff, Retry-After, 410."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline import schedule
from pipeline.errors import FailureKind, kind_for_status
from pipeline.records import Fetch
from pipeline.settings import Settings
from pipeline.store import FeedResult, Warehouse

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def fetch(status: int | None, headers: dict[str, str] | None = None) -> Fetch:
    return Fetch(url="https://a.example/feed", kind="feed", started_at=NOW, status=status,
                 headers=headers or {})


def failed(status: int | None, error: str) -> Fetch:
    """A failed fetch, with the kind the fetcher gives it (no status: a read timeout)."""
    result = fetch(status)
    result.error = error
    result.failure_kind = kind_for_status(status) if status else FailureKind.TEMPORARY
    return result


def test_busy_feeds_are_polled_more_often_than_quiet_ones() -> None:
    busy = schedule.success_interval(96, None, None)  # four items an hour
    daily = schedule.success_interval(1, None, None)
    assert schedule.MIN_INTERVAL <= busy < daily <= schedule.MAX_INTERVAL
    assert schedule.success_interval(None, None, None) == schedule.DEFAULT_INTERVAL


def test_server_hints_are_a_floor() -> None:
    assert schedule.success_interval(96, 120, None) == timedelta(minutes=120)  # RSS <ttl>
    fresh = schedule.freshness({"cache-control": "public, max-age=5400"}, NOW)
    assert fresh == timedelta(seconds=5400)
    assert schedule.success_interval(96, None, fresh) == timedelta(seconds=5400)
    expires = schedule.freshness({"expires": "Fri, 27 Nov 2026 14:00:00 GMT"}, NOW)
    assert expires == timedelta(hours=2)


def test_failures_back_off_exponentially_by_kind() -> None:
    temporary = [schedule.failure_delay("temporary", n) for n in range(1, 6)]
    assert temporary == sorted(temporary) and temporary[1] == 2 * temporary[0]
    assert schedule.failure_delay("hard", 1) > schedule.failure_delay("temporary", 1)
    assert schedule.failure_delay("hard", 50) == schedule.MAX_BACKOFF["hard"]
    assert schedule.classify_failure(failed(503, "HTTP 503")) == "temporary"
    assert schedule.classify_failure(failed(None, "read timeout")) == "temporary"
    assert schedule.classify_failure(failed(404, "HTTP 404")) == "hard"
    assert schedule.classify_failure(failed(500, "HTTP 500")) == "soft"


def test_retry_after_is_honoured_in_seconds_and_as_a_date() -> None:
    when, delay, kind = schedule.next_fetch(
        fetch(429, {"retry-after": "7200"}), True, "HTTP 429", 1, None, None, NOW
    )
    assert kind == "temporary" and delay == timedelta(hours=2) and when == NOW + delay
    when, _, _ = schedule.next_fetch(
        fetch(503, {"retry-after": "Sat, 28 Nov 2026 12:00:00 GMT"}), True, "HTTP 503", 1,
        None, None, NOW,
    )
    assert when == NOW + timedelta(days=1)


def test_jitter_keeps_feeds_apart() -> None:
    rng = random.Random(7)
    delays = {schedule.next_fetch(fetch(200), False, None, 0, 24, None, NOW, rng)[1]
              for _ in range(20)}
    assert len(delays) > 15
    base = schedule.success_interval(24, None, None)
    assert all(abs(d - base) <= base * schedule.JITTER for d in delays)


def test_warehouse_schedules_due_feeds_and_retires_gone_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Warehouse(tmp_path / "w.duckdb") as wh:
        ok, limited, gone = wh.feed_states(
            ["https://a.example/ok", "https://a.example/limited", "https://a.example/gone"]
        )
        run_id = wh.start_run()
        assert {f.url for f in wh.feed_states(due=True)} == {ok.url, limited.url, gone.url}
        wh.record_feed_results(run_id, [
            FeedResult(feed=ok, fetch=fetch(304)),
            FeedResult(feed=limited, fetch=fetch(429, {"retry-after": "3600"}), error="HTTP 429"),
            FeedResult(feed=gone, fetch=fetch(410), error="HTTP 410"),
        ])
        assert wh.feed_states(due=True) == []  # nothing is due right after its fetch
        health = {h["url"]: h for h in wh.feed_health(timedelta(days=2))}
        assert health[gone.url]["state"] == "retired"
        assert health[limited.url]["state"] == "failing"
        assert health[limited.url]["failure_kind"] == "temporary"
        assert health[ok.url]["state"] == "ok"
        _, rows = wh.query("SELECT next_fetch_at FROM feeds WHERE url = ?", [limited.url])
        assert rows[0][0] >= datetime.now(UTC) + timedelta(minutes=59)
        _, rows = wh.query("SELECT retry_after FROM fetches WHERE status = 429")
        assert rows == [("3600",)]
        # Time passes: the OK feed comes due, the retired one never again.
        wh.execute("UPDATE feeds SET next_fetch_at = next_fetch_at - INTERVAL 2 DAY")
        assert {f.url for f in wh.feed_states(due=True)} == {ok.url, limited.url}


def test_settings_are_read_from_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEWS_INGEST_PER_HOST", "5")
    assert Settings.from_env().per_host == 5


def test_retry_after_holds_for_manual_runs_until_forced(  # type: ignore[no-untyped-def]
    prefect_server, allow_loopback, monkeypatch, capsys, tmp_path
) -> None:
    """A 429 with Retry-After: 3600, then `news-ingest run` again a moment later: the limited
    feed is not asked (deferred, and the summary says so) while the others are; `--force`
    asks it."""
    from flows.cli import main
    from pipeline.loopback import LoopbackSite

    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Fine</title><item>'
        b"<title>One</title><guid>g1</guid><description>Text.</description></item>"
        b"</channel></rss>"
    )
    db = str(tmp_path / "w.duckdb")
    with LoopbackSite() as site:
        site.set("/limited.xml", b"slow down", "text/plain", 429, {"Retry-After": "3600"})
        site.set("/fine.xml", rss, "application/rss+xml")
        limited, fine = site.url("/limited.xml"), site.url("/fine.xml")
        assert main(["run", "--feed", limited, "--feed", fine, "--warehouse", db]) == 0
        assert site.hits["/limited.xml"] == 1 and site.hits["/fine.xml"] == 1
        capsys.readouterr()

        # A manual run of every feed, and one naming the limited feed: it is not asked.
        assert main(["run", "--warehouse", db]) == 0
        assert "1 deferred by Retry-After" in capsys.readouterr().out
        assert main(["run", "--feed", limited, "--warehouse", db]) == 0
        assert "1 deferred by Retry-After" in capsys.readouterr().out
        assert site.hits["/limited.xml"] == 1 and site.hits["/fine.xml"] == 2

        # --force overrides it.
        assert main(["run", "--force", "--feed", limited, "--warehouse", db]) == 0
        assert "deferred" not in capsys.readouterr().out
        assert site.hits["/limited.xml"] == 2
    with Warehouse(Path(db), read_only=True) as wh:
        _, rows = wh.query(
            "SELECT count(*) FROM fetches x JOIN feeds f USING (feed_id) WHERE f.url = ?",
            [limited],
        )
    assert rows == [(2,)]  # one fetch row per request: none for the deferred runs
