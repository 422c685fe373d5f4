"""The throwaway PostgreSQL for the lake tests, and how its absence shows in CI and out of it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pg import BIN_ENV, find_pg_bin, start_cluster

ROOT = Path(__file__).resolve().parents[1]


def test_a_cluster_starts_serves_and_is_removed() -> None:
    import psycopg

    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's binaries are absent in CI")
        pytest.skip("PostgreSQL's binaries are absent")
    cluster = start_cluster(bin_dir)
    try:
        print({name: round(seconds, 2) for name, seconds in cluster.timings.items()})
        with psycopg.connect(cluster.conninfo) as con:
            row = con.execute("SELECT current_user, current_database()").fetchone()
        assert row == ("news", "news")
        if os.geteuid() == 0:
            assert cluster.data_dir.stat().st_uid != 0  # the postgres user's, not root's
    finally:
        cluster.stop()
    assert not cluster.root.exists()


def _run_probe(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """pytest on one test that asks for postgres_conninfo, PostgreSQL's binaries hidden."""
    (tmp_path / "conftest.py").write_text("from tests.conftest import postgres_conninfo  # noqa\n")
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_probe(postgres_conninfo):\n    assert postgres_conninfo\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "NEWS_INGEST_TEST_PG")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(probe)],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT), BIN_ENV: str(tmp_path / "no-such-bin"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_postgresql_the_tests_skip_with_a_reason(tmp_path: Path) -> None:
    done = _run_probe(tmp_path, {})
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "PostgreSQL's server binaries (initdb, pg_ctl) are absent" in done.stdout


def test_in_ci_without_postgresql_the_tests_fail(tmp_path: Path) -> None:
    done = _run_probe(tmp_path, {"CI": "true"})
    assert done.returncode == 1, done.stdout
    assert "1 error" in done.stdout
    assert ".ci/run installs them" in done.stdout
