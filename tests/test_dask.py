"""NEWS_INGEST_TASK_RUNNER=dask: the real `ingest` and `reextract` flows with their fetch and
extract tasks on a real local Dask cluster (worker processes), a loopback site, a DuckDB file;
the warehouse is still written by the flow's thread alone."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import flows.ingest
from flows.cli import main
from flows.ingest import ingest, reextract
from flows.runners import DASK_MISSING, task_runner_for
from pipeline.archive import read_record
from pipeline.settings import Settings
from pipeline.store import Warehouse

pytest.importorskip(
    "prefect_dask", reason="prefect-dask is not installed: pip install 'news-ingest[dask]'"
)
from distributed import Client, LocalCluster, get_task_stream  # noqa: E402

# What lands, minus ids and times: every article's values and metadata, and which articles
# share a story (which copy heads it follows the order batches complete in, on threads too).
ARTICLES = (
    "SELECT a.url, a.canonical_url, a.title, a.text, a.description, a.language,"
    " a.published_at, a.site_name, a.content_hash, a.source, a.fallback_reason, a.provenance,"
    " a.version, d.authors, d.categories, d.tags"
    " FROM articles a JOIN article_details d USING (article_id) ORDER BY a.url"
)
STORIES = "SELECT list_sort(list(url)) FROM articles GROUP BY cluster_id ORDER BY 1"
ROWS = (
    "SELECT 'entries', count(*) FROM feed_entries UNION ALL"
    " SELECT 'duplicates', count(*) FROM article_duplicates UNION ALL"
    " SELECT 'versions', count(*) FROM article_versions UNION ALL"
    " SELECT 'fetches ' || kind, count(*) FROM fetches GROUP BY kind"
)


def landed(db: Path) -> tuple[list[tuple[Any, ...]], ...]:
    with Warehouse(db, read_only=True) as wh:
        return wh.query(ARTICLES)[1], wh.query(STORIES)[1], sorted(wh.query(ROWS)[1])


def no_local_pool(workers: int) -> None:
    raise AssertionError("a dask run must not start a local extraction pool")


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, Client]]:
    """A local Dask cluster: two single-threaded worker processes, as a scheduler address."""
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        yield local.scheduler_address, client


@pytest.fixture(scope="module")
def runs(prefect_server: str, cluster: tuple[str, Client], tmp_path_factory) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """The sample site ingested once on threads and once on the Dask cluster."""
    from pipeline.loopback import LoopbackSite
    from pipeline.sample_site import build_sample_site

    address, client = cluster
    root = tmp_path_factory.mktemp("dask")
    with LoopbackSite() as site, pytest.MonkeyPatch.context() as env:
        sample = build_sample_site(site.base_url)
        site.load(sample.routes)
        feeds = [sample.url(p) for p in sample.all_feed_paths]
        env.setenv("NEWS_INGEST_ALLOW_HOSTS", "127.0.0.1")
        env.setenv("NEWS_INGEST_EXTRACT_WORKERS", "2")
        env.setenv("NEWS_INGEST_PAGE_BATCH", "5")  # three page tasks for the two workers
        threads_db, dask_db = root / "threads" / "news.duckdb", root / "dask" / "news.duckdb"
        threads = ingest(feed_urls=feeds, warehouse=str(threads_db))
        env.setenv("NEWS_INGEST_TASK_RUNNER", "dask")
        env.setenv("NEWS_INGEST_DASK_ADDRESS", address)
        env.setattr(flows.ingest, "ExtractPool", no_local_pool)
        hits = {p: site.hits[p] for p in sample.article_paths}
        with get_task_stream(client) as stream:
            on_dask = ingest(feed_urls=feeds, warehouse=str(dask_db))
        yield {
            "site": site,
            "sample": sample,
            "feeds": feeds,
            "env": env,
            "threads": (threads_db, threads),
            "dask": (dask_db, on_dask),
            "hits_before": hits,
            "stream": stream.data,
            "worker_pids": client.run(os.getpid),
        }


def test_a_dask_run_lands_what_a_threads_run_lands(runs: dict) -> None:  # type: ignore[type-arg]
    (threads_db, threads), (dask_db, on_dask) = runs["threads"], runs["dask"]
    sample = runs["sample"]
    assert on_dask["articles_new"] == sample.expected_article_count
    assert {k: v for k, v in on_dask.items() if k != "run_id"} == {
        k: v for k, v in threads.items() if k != "run_id"
    }
    articles, stories, rows = landed(dask_db)
    assert len(articles) == sample.expected_article_count
    assert len(stories) == sample.expected_unique_story_count
    assert (articles, stories, rows) == landed(threads_db)
    assert {a[2] for a in articles} == {fact.headline for fact in sample.articles}
    # Every page was fetched once more, by the Dask run, and archived where the flow can read it.
    site = runs["site"]
    assert {p: site.hits[p] - n for p, n in runs["hits_before"].items()} == {
        p: 1 for p in sample.article_paths
    }
    with Warehouse(dask_db, read_only=True) as wh:
        _, archived = wh.query(
            "SELECT a.url, f.warc_file, f.warc_offset"
            " FROM articles a JOIN fetches f USING (fetch_id)"
        )
    assert len(archived) == sample.expected_article_count
    for url, warc_file, offset in archived:
        assert read_record(dask_db.parent / "archive", warc_file, offset)[0] == url


def test_fetch_and_extraction_ran_on_the_dask_workers(runs: dict) -> None:  # type: ignore[type-arg]
    """Dask's own record of what each worker computed: the feed and page tasks (the pages
    extracted inline, no local pool being allowed) ran in the worker processes."""
    pids = runs["worker_pids"]
    assert len(pids) == 2 and os.getpid() not in pids.values()
    computed = [
        (task["key"].split("-")[0], task["worker"])
        for task in runs["stream"]
        if any(s["action"] == "compute" for s in task["startstops"])
    ]
    page_tasks = -(-runs["sample"].expected_article_count // 5)
    assert sorted(name for name, _ in computed) == ["fetch_feeds"] + ["fetch_pages"] * page_tasks
    assert {worker for _, worker in computed} <= set(pids)


def test_a_dask_rerun_gets_304s_and_duplicates_nothing(runs: dict) -> None:  # type: ignore[type-arg]
    site, sample, feeds = runs["site"], runs["sample"], runs["feeds"]
    dask_db, _ = runs["dask"]
    before = landed(dask_db)
    hits = {p: site.hits[p] for p in sample.article_paths}
    again = ingest(feed_urls=feeds, warehouse=str(dask_db))
    assert again["feeds_not_modified"] == len(sample.feed_paths)
    assert again.get("articles_new", 0) == 0 and again.get("entries_new", 0) == 0
    for path in sample.feed_paths:
        assert site.statuses(path)[-1] == 304
    assert {p: site.hits[p] for p in sample.article_paths} == hits
    after = landed(dask_db)
    assert after[:2] == before[:2]
    # Only the rerun's feed fetches are new rows.
    assert dict(after[2]) == {**dict(before[2]), "fetches feed": 2 * len(feeds)}


def test_reextract_on_a_local_cluster_started_for_the_run(runs: dict) -> None:  # type: ignore[type-arg]
    """No address: the run starts its own local cluster (extract_workers processes) and the
    re-extraction tasks read the archive from there; nothing changed, so nothing is rewritten."""
    dask_db, _ = runs["dask"]
    runs["env"].delenv("NEWS_INGEST_DASK_ADDRESS")
    before = landed(dask_db)
    counts = reextract(warehouse=str(dask_db))
    assert counts["pages_reextracted"] == runs["sample"].expected_article_count
    assert counts.get("articles_reextracted", 0) == 0
    assert landed(dask_db) == before


def test_task_runner_setting_is_validated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWS_INGEST_TASK_RUNNER", " Dask ")
    assert Settings.from_env().task_runner == "dask"
    monkeypatch.setenv("NEWS_INGEST_TASK_RUNNER", "processes")
    with pytest.raises(ValueError, match="NEWS_INGEST_TASK_RUNNER must be one of threads, dask"):
        Settings.from_env()
    with pytest.raises(ValueError, match="got 'spark'"):
        Settings(task_runner="spark")
    # A scheduler address without the runner that would use it is a mistake, not a no-op.
    monkeypatch.setenv("NEWS_INGEST_TASK_RUNNER", "threads")
    monkeypatch.setenv("NEWS_INGEST_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    with pytest.raises(ValueError, match="set NEWS_INGEST_TASK_RUNNER=dask"):
        Settings.from_env()
    assert main(["run", "--feed", "http://example.com/feed", "--warehouse", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NEWS_INGEST_DASK_ADDRESS is set" in err


def test_dask_without_prefect_dask_says_how_to_install_it(
    prefect_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "prefect_dask", None)  # import prefect_dask fails
    with pytest.raises(ImportError) as raised:
        task_runner_for(Settings(task_runner="dask"))
    assert str(raised.value) == DASK_MISSING
    monkeypatch.setenv("NEWS_INGEST_TASK_RUNNER", "dask")
    db = tmp_path / "news.duckdb"
    assert main(["run", "--feed", "http://127.0.0.1:9/feed", "--warehouse", str(db)]) == 2
    assert capsys.readouterr().err == f"news-ingest: error: {DASK_MISSING}\n"
    # Started all the same (a deployment), the flow run fails with that reason, writing nothing.
    state = ingest(warehouse=str(db), return_state=True)
    assert state.is_failed() and DASK_MISSING in str(state.message)
    assert not db.exists()
