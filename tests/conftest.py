"""Shared fixtures: a real Prefect server per session, a loopback news site, ../shared paths."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import corpus

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = corpus.CORPUS_ROOT


def corpus_dir(name: str) -> Path:
    """A folder of ../shared/corpus, or a skip saying why it is absent."""
    path = corpus.corpus_dir(name)
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the shared corpus sits beside the checkout only in CI")
    return path


def corpus_pages(name: str = "pages") -> list[corpus.CorpusPage]:
    """The pages of a corpus folder's index.jsonl, or a skip saying why they are absent."""
    reason = corpus.absent_reason(name)
    if reason is not None:
        pytest.skip(f"{reason}: the shared corpus sits beside the checkout only in CI")
    return corpus.load_pages(name)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect API server (temporary database) for the whole session."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_INGEST_ALLOW_HOSTS", "127.0.0.1")


@pytest.fixture
def sample_site():  # type: ignore[no-untyped-def]
    """The generated sample site, served on a free loopback port."""
    from pipeline.loopback import LoopbackSite
    from pipeline.sample_site import build_sample_site

    with LoopbackSite() as site:
        sample = build_sample_site(site.base_url)
        site.load(sample.routes)
        yield site, sample


@pytest.fixture(scope="session")
def postgres_conninfo() -> Iterator[str]:
    """A libpq connection string to an empty PostgreSQL database for the session.

    NEWS_INGEST_TEST_PG names a server to use; otherwise a throwaway cluster is started here
    (tests/pg.py) and removed at the end. Without PostgreSQL's binaries the tests skip, except
    in CI (CI=true), where a missing or failing PostgreSQL fails them."""
    given = os.environ.get("NEWS_INGEST_TEST_PG")
    if given:
        yield given
        return
    from tests.pg import find_pg_bin, start_cluster

    in_ci = os.environ.get("CI", "").lower() == "true"
    bin_dir = find_pg_bin()
    if bin_dir is None:
        reason = "PostgreSQL's server binaries (initdb, pg_ctl) are absent"
        if in_ci:
            pytest.fail(f"{reason}: .ci/run installs them (apt-get install postgresql)")
        pytest.skip(f"{reason}; set NEWS_INGEST_TEST_PG or install postgresql")
    try:
        cluster = start_cluster(bin_dir)
    except (RuntimeError, KeyError, OSError, subprocess.SubprocessError) as exc:
        if in_ci:
            pytest.fail(f"PostgreSQL did not start: {exc}")
        pytest.skip(f"PostgreSQL did not start: {exc}")
    try:
        yield cluster.conninfo
    finally:
        cluster.stop()


def _new_lake(request: pytest.FixtureRequest, tmp_path: Path, catalog: str) -> Iterator[Any]:
    """A new lake's location on a SQLite catalog or on the session's PostgreSQL; afterwards the
    pooled sessions are closed and a PostgreSQL catalog is emptied again."""
    from pipeline.lake import parse_warehouse_url
    from pipeline.store import close_pooled_sessions

    data = str(tmp_path / "data")
    if catalog == "sqlite":
        yield parse_warehouse_url(f"ducklake:sqlite:{tmp_path}/catalog.sqlite", data, env={})
        close_pooled_sessions()
        return
    from tests.pg import drop_lake_tables

    conninfo = request.getfixturevalue("postgres_conninfo")
    # A PostgreSQL lake's band index files go to the user's cache folder: here, the test's.
    request.getfixturevalue("monkeypatch").setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield parse_warehouse_url(f"ducklake:postgres:{conninfo}", data, env={})
    close_pooled_sessions()  # the attached lakes this process kept, before their catalog goes
    drop_lake_tables(conninfo)


@pytest.fixture(params=["sqlite", "postgres"])
def lake_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A new, empty DuckLake's location (pipeline.lake.WarehouseLocation), once on a SQLite
    catalog and once on the session's PostgreSQL database (emptied again afterwards)."""
    yield from _new_lake(request, tmp_path, request.param)


@pytest.fixture(params=["file", "sqlite", "postgres"])
def warehouse_at(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Where a new warehouse goes, once per backend: a DuckDB file's path, then a new lake's
    location on a SQLite catalog and on the session's PostgreSQL (emptied afterwards)."""
    if request.param == "file":
        yield tmp_path / "wh.duckdb"
        return
    yield from _new_lake(request, tmp_path, request.param)
