"""Edit tracking end to end: real corpus pages on a loopback site, the real `ingest` and
`revisit` flows, a real warehouse (a DuckDB file and a DuckLake), a fake clock for the
revisit schedule. Each kind of edit is caught and classified, and each kind of noise is not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.ingest import ingest
from flows.revisit_flow import revisit
from pipeline.corpus import absent_reason
from pipeline.loopback import LoopbackSite
from pipeline.store import Warehouse
from tests.edit_site import CORRECTION, HTML, UPDATE, EditablePage, editable_pages, rss

pytestmark = pytest.mark.skipif(bool(absent_reason()), reason=absent_reason() or "")

NEW_HEADLINE = "Completely rewritten headline after the story moved on"
SCENARIOS = (
    "headline", "correction", "stealth", "whitespace", "failed", "flipflop", "gone", "pubdate",
    "control",
)  # fmt: skip
T_FEED = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["file", "sqlite"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "file":
        yield str(tmp_path / "news.duckdb")
        return
    from pipeline.store import close_pooled_sessions

    yield f"ducklake:sqlite:{tmp_path}/catalog.sqlite"
    close_pooled_sessions()


def article_ids(
    wh: Warehouse, site: LoopbackSite, pages: dict[str, EditablePage]
) -> dict[str, int]:
    rows = dict(wh.sql("SELECT url, article_id FROM articles"))
    return {name: int(rows[site.url(p.path)]) for name, p in pages.items()}


def changes_of(wh: Warehouse, article_id: int) -> list[tuple[Any, ...]]:
    return wh.sql(
        "SELECT to_version, kind, fields_changed, notice_kind, sentences_added,"
        " sentences_deleted, sentences_edited, modified_moved FROM article_changes"
        " WHERE article_id = ? ORDER BY to_version",
        [article_id],
    )


def test_edits_are_caught_and_classified(
    prefect_server: str, allow_loopback: None, where: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("NEWS_INGEST_ARCHIVE", str(tmp_path / "archive"))
    pages = dict(zip(SCENARIOS, editable_pages(len(SCENARIOS)), strict=True))
    with LoopbackSite() as site:
        for p in pages.values():
            site.set(p.path, p.html.encode(), HTML)
        dates = {p.path: T_FEED for p in pages.values()}
        site.set("/feed.xml", rss(site, list(pages.values()), dates), "application/rss+xml")
        first = ingest(feed_urls=[site.url("/feed.xml")], warehouse=where)
        assert first["articles_new"] == len(SCENARIOS)
        with Warehouse(where, read_only=True) as wh:
            ids = article_ids(wh, site, pages)
            (t0,) = wh.sql("SELECT max(fetched_at) FROM articles")[0]
            assert wh.sql(
                "SELECT count(*) FROM article_revisits WHERE watched AND etag IS NOT NULL"
            )[0][0] == len(SCENARIOS)
        requests_before = len(site.log)

        # Nothing is due 10 minutes after the first fetch (the first tier is 15 minutes).
        early = revisit(warehouse=where, now=t0 + timedelta(minutes=10))
        assert early.get("revisits", 0) == 0 and early["revisits_due"] == 0
        assert len(site.log) == requests_before

        # The publisher edits; 20 minutes on, every article is due.
        site.set(pages["headline"].path, pages["headline"].headline(NEW_HEADLINE), HTML)
        site.set(pages["correction"].path, pages["correction"].appended(CORRECTION), HTML)
        site.set(pages["stealth"].path, pages["stealth"].stealth_edit(), HTML)
        site.set(pages["whitespace"].path, pages["whitespace"].whitespace_only(), HTML)
        site.set(pages["failed"].path, pages["failed"].cut_short(), HTML)
        site.set(pages["flipflop"].path, pages["flipflop"].stealth_edit(), HTML)
        site.fail(pages["gone"].path, 410)
        second = revisit(warehouse=where, now=t0 + timedelta(minutes=20))
        assert second["revisits"] == len(SCENARIOS)
        assert second["articles_updated"] == 4  # headline, correction, stealth, flip-flop's B
        assert second["articles_removed"] == 1
        assert second["edits_headline"] == 1 and second["edits_correction"] == 1
        assert second["edits_stealth"] == 2
        # Unchanged pages (pubdate, control) answered 304 to the first revisit's conditional GET.
        assert second["revisits_unchanged"] == 2

        # The flip-flop page goes back to its first text; the cut-short one recovers.
        site.set(pages["flipflop"].path, pages["flipflop"].html.encode(), HTML)
        site.set(pages["failed"].path, pages["failed"].html.encode(), HTML)
        third = revisit(warehouse=where, now=t0 + timedelta(minutes=40))
        assert third["revisits"] == len(SCENARIOS) - 1  # the removed page is no longer watched
        assert third.get("articles_updated", 0) == 0
        # 304 for the six pages whose bytes did not change since the last revisit (all but
        # the flip-flop and the recovered one).
        assert third["revisits_unchanged"] == 6

        # A later pubDate for a known guid, with a changed page: a new version from the feed.
        site.set(pages["pubdate"].path, pages["pubdate"].appended(UPDATE), HTML)
        dates[pages["pubdate"].path] = T_FEED + timedelta(hours=5)
        site.set("/feed.xml", rss(site, list(pages.values()), dates), "application/rss+xml")
        fourth = ingest(feed_urls=[site.url("/feed.xml")], warehouse=where)
        assert fourth["entries_changed"] == 1 and fourth["articles_updated"] == 1
        assert fourth["edits_update"] == 1
        # The same feed again changes nothing.
        fifth = ingest(feed_urls=[site.url("/feed.xml")], warehouse=where)
        assert fifth.get("entries_changed", 0) == 0 and fifth.get("articles_updated", 0) == 0

        # `news-ingest revisit --all-watched --format json`: every watched page, due or not.
        cli = subprocess.run(
            [sys.executable, "-m", "flows.cli", "revisit", "--warehouse", where,
             "--all-watched", "--format", "json"],
            capture_output=True, text=True, check=False, timeout=300,
            env={**os.environ, "PREFECT_API_URL": prefect_server},
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        report = json.loads(cli.stdout)
        assert report["revisits"] == len(SCENARIOS) - 1 and report["articles_updated"] == 0
        # Every page answers 304, the one the feed's signal fetched again too (its
        # validators were refreshed by that fetch).
        assert report["revisits_unchanged"] == len(SCENARIOS) - 1
        # Piped, the progress bar is left out; NEWS_INGEST_PROGRESS=always prints its lines.
        assert "pages/s" not in cli.stderr
        always = subprocess.run(
            [sys.executable, "-m", "flows.cli", "revisit", "--warehouse", where,
             "--all-watched"],
            capture_output=True, text=True, check=False, timeout=300,
            env={**os.environ, "PREFECT_API_URL": prefect_server,
                 "NEWS_INGEST_PROGRESS": "always"},
        )  # fmt: skip
        assert always.returncode == 0, always.stderr
        assert f"{len(SCENARIOS) - 1}/{len(SCENARIOS) - 1} pages" in always.stderr

        revisit_log = site.log[requests_before:]
        page_paths = {p.path for p in pages.values()}
        answered = [r.status for r in revisit_log if r.path in page_paths]
        print(
            f"\nrevisits answered 304 on the loopback site: {answered.count(304)}/{len(answered)}"
        )

    with Warehouse(where, read_only=True) as wh:
        assert changes_of(wh, ids["headline"]) == [
            (2, "headline", ["headline"], None, 0, 0, 0, False)
        ]
        ((version, kind, fields, notice, added, deleted, edited, _),) = changes_of(
            wh, ids["correction"]
        )
        assert (kind, notice, added, deleted, edited) == ("correction", "correction", 1, 0, 0)
        assert "body" in fields
        (notice_text,) = wh.sql(
            "SELECT notice_text FROM corrections WHERE article_id = ?", [ids["correction"]]
        )[0]
        assert "wrong date for the vote" in notice_text
        ((_, kind, fields, notice, added, deleted, edited, moved),) = changes_of(wh, ids["stealth"])
        assert (kind, notice, added, deleted, edited, moved) == ("stealth", None, 0, 0, 1, False)
        assert changes_of(wh, ids["whitespace"]) == []
        assert changes_of(wh, ids["failed"]) == []
        assert len(changes_of(wh, ids["flipflop"])) == 1  # A→B kept, B→A suppressed
        ((_, kind, *_rest),) = changes_of(wh, ids["pubdate"])
        assert kind == "update"
        assert changes_of(wh, ids["control"]) == []
        versions = dict(wh.sql("SELECT article_id, version FROM articles"))
        assert [versions[ids[n]] for n in SCENARIOS] == [2, 2, 2, 1, 1, 2, 1, 2, 1]
        # Taken down: kept, marked, no longer watched.
        assert wh.sql(
            "SELECT removal_reason, removed_at IS NOT NULL, length(text) > 1000 FROM articles"
            " WHERE article_id = ?",
            [ids["gone"]],
        ) == [("gone-410", True, True)]
        assert wh.sql(
            "SELECT watched FROM article_revisits WHERE article_id = ?", [ids["gone"]]
        ) == [(False,)]
        assert wh.sql("SELECT new_title FROM headline_changes") == [(NEW_HEADLINE,)]
        assert sorted(r[0] for r in wh.sql("SELECT notice_kind FROM corrections")) == [
            "correction",
            "update",
        ]

    # `news-ingest diff` shows the stealth edit word by word, plain when piped.
    diff = subprocess.run(
        [sys.executable, "-m", "flows.cli", "diff", "--warehouse", where, str(ids["stealth"])],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert diff.returncode == 0, diff.stderr
    assert "{+Zwischenfall+}" in diff.stdout and "[-" in diff.stdout and "\x1b[" not in diff.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "flows.cli", "diff", "--warehouse", where,
         str(ids["stealth"]), "1", "7"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"news-ingest: error: article {ids['stealth']} has no version 7 (it has 1, 2)"
    )
