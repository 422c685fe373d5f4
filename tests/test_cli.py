"""The `news-ingest` command line: documented, one-line errors, real runs in a subprocess."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.cli import build_parser, main
from pipeline.settings import env_names
from pipeline.store import Warehouse

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "flows.cli"]


def command_names() -> list[str]:
    """Every command and sub-command the parser knows, as `news-ingest feeds add`."""
    names = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    full = f"{prefix} {name}"
                    if not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                        names.append(full)
                    walk(sub, full)

    walk(build_parser(), "news-ingest")
    return names


def test_every_command_is_in_the_cli_reference() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text("utf-8")
    names = command_names()
    assert "news-ingest run" in names and "news-ingest feeds export-opml" in names
    missing = [n for n in names if f"`{n}" not in reference]
    assert not missing, f"commands missing from docs/cli.md: {missing}"


def test_every_setting_is_documented() -> None:
    documented = (ROOT / "docs" / "settings.md").read_text("utf-8")
    variables = set(env_names())
    assert len(variables) > 10
    assert not [v for v in sorted(variables) if v not in documented]


def test_every_table_is_in_the_tables_reference(tmp_path: Path) -> None:
    reference = (ROOT / "docs" / "tables.md").read_text("utf-8")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _, rows = wh.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        )
    assert not [t for (t,) in rows if f"`{t}`" not in reference]


def run_cli(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        CLI + args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_run_without_feeds_is_one_line_error(tmp_path: Path) -> None:
    result = run_cli(["run", "--warehouse", str(tmp_path / "w.duckdb")])
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no feeds registered" in result.stderr and "feeds add" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_sql_on_missing_warehouse_is_one_line_error(tmp_path: Path) -> None:
    result = run_cli(["sql", "SELECT 1", "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.returncode == 2
    assert result.stderr.startswith("news-ingest: error: no warehouse at")
    assert result.stderr.strip().count("\n") == 0


def test_bad_sql_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "w.duckdb"
    Warehouse(db).close()
    assert main(["sql", "SELECT nope FROM nowhere", "--warehouse", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("news-ingest: error:") and err.strip().count("\n") == 0


def test_locked_warehouse_is_one_line_error(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    Warehouse(db).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('open', flush=True);"
            " time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        result = run_cli(["feeds", "list", "--warehouse", str(db), "--wait", "0.5"])
        assert result.returncode == 2
        assert "in use by another" in result.stderr
        assert result.stderr.strip().count("\n") == 0
    finally:
        holder.kill()
        holder.wait()


def test_feed_registry_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.duckdb")
    assert (
        main(["feeds", "add", "https://a.example/feed", "https://b.example/rss", "--warehouse", db])
        == 0
    )
    assert main(["feeds", "add", "https://a.example/feed", "--warehouse", db]) == 0
    assert "0 feed(s) added, 1 already registered" in capsys.readouterr().out
    assert main(["feeds", "add", "not-a-url", "--warehouse", db]) == 2
    capsys.readouterr()
    opml = tmp_path / "out.opml"
    assert main(["feeds", "export-opml", "--output", str(opml), "--warehouse", db]) == 0
    other = str(tmp_path / "other.duckdb")
    assert main(["feeds", "import-opml", str(opml), "--warehouse", other]) == 0
    assert main(["feeds", "list", "--format", "json", "--warehouse", other]) == 0
    out = capsys.readouterr().out
    listed = json.loads(out[out.index("[") :])
    assert [f["url"] for f in listed] == ["https://a.example/feed", "https://b.example/rss"]
    assert main(["feeds", "import-starter", "--warehouse", other]) == 0
    assert (
        main(["sql", "SELECT count(*) AS n FROM feeds", "--format", "csv", "--warehouse", other])
        == 0
    )
    n = int(capsys.readouterr().out.strip().splitlines()[-1])
    assert n > 20


def test_query_lists_and_runs_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.duckdb")
    Warehouse(Path(db)).close()
    assert main(["query", "--warehouse", db]) == 0
    listed = capsys.readouterr().out
    assert "articles_per_site_day" in listed and "authors_per_outlet" in listed
    for line in listed.splitlines():
        assert main(["query", line.split(":")[0], "--warehouse", db]) == 0
    assert main(["query", "nope", "--warehouse", db]) == 2


def test_cli_run_end_to_end(prefect_server: str, sample_site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site, sample = sample_site
    db = tmp_path / "w.duckdb"
    feeds = [arg for p in sample.feed_paths for arg in ("--feed", sample.url(p))]
    env = {"PREFECT_API_URL": prefect_server, "NEWS_INGEST_ALLOW_HOSTS": "127.0.0.1"}
    started = time.monotonic()
    result = run_cli(["run", *feeds, "--warehouse", str(db)], env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    assert "telemetry" not in (result.stderr + result.stdout).lower()
    summary = result.stdout.strip().splitlines()[-1]
    assert f"{sample.expected_article_count} new articles" in summary
    assert time.monotonic() - started < 300
    out = run_cli(
        ["sql", "SELECT count(*) AS n FROM articles", "--format", "json", "--warehouse", str(db)]
    )
    assert json.loads(out.stdout) == [{"n": sample.expected_article_count}]
    # All registered feeds are run when none is given; nothing new the second time.
    again = run_cli(["run", "--warehouse", str(db)], env=env)
    assert again.returncode == 0
    assert "0 new articles" in again.stdout
    # --format json: stdout is the run's report as one JSON object, and nothing else.
    report = run_cli(["run", "--warehouse", str(db), "--format", "json"], env=env)
    assert report.returncode == 0, report.stderr[-2000:]
    counts = json.loads(report.stdout)
    assert counts["feeds_total"] == len(sample.feed_paths)
    assert counts.get("articles_new", 0) == 0
