"""Settings are defined once, in pipeline/settings.py: the environment is read from that
definition, docs/settings.md is generated from it, and the CLI's help quotes its defaults."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import build_parser, main, settings_from_args
from pipeline.settings import Settings, SettingsError, env_name, env_names, settings_markdown

ROOT = Path(__file__).resolve().parents[1]
# Options whose help quotes a default: (command, option) -> the Settings field behind it.
OPTION_SETTINGS = {
    ("run", "--warehouse"): "warehouse",
    ("run", "--wait"): "wait",
    ("serve", "--cron"): "cron",
    ("serve", "--maintenance-cron"): "maintenance_cron",
    ("backfill", "--interval"): "backfill_interval",
}
# The arguments each command needs to get past argparse to its settings.
COMMAND_ARGS = {
    "run": [],
    "backfill": ["--since", "2026-01-01", "--until", "2026-01-02"],
    "serve": [],
    "reextract": [],
    "feeds add": ["https://example.com/feed"],
    "feeds list": [],
    "feeds import-opml": ["feeds.opml"],
    "feeds import-starter": [],
    "feeds export-opml": [],
    "feeds health": [],
    "sql": ["SELECT 1"],
    "query": [],
    "warehouse info": [],
    "warehouse copy": ["--to", "copy.duckdb"],
    "warehouse snapshots": [],
    "export": ["out"],
    "import": ["out"],
    "search": ["words"],
    "revisit": [],
    "diff": ["1"],
    "demo": [],
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets the variables it means; none leak in from the caller's environment."""
    import os

    for name in list(os.environ):
        if name.startswith("NEWS_INGEST_"):
            monkeypatch.delenv(name)


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every command's parser, by its name ("feeds add"), commands with actions left out."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = subparsers(sub)
                found.update({f"{name} {k}": v for k, v in inner.items()} if inner else {name: sub})
    return found


def option_help(command: str, option: str) -> str:
    sub = subparsers(build_parser())[command]
    action = next(a for a in sub._actions if option in a.option_strings)
    return " ".join((action.help or "").split())


def test_docs_settings_md_is_generated_from_the_model() -> None:
    documented = (ROOT / "docs" / "settings.md").read_text("utf-8")
    assert documented == settings_markdown(), (
        "docs/settings.md is stale: python -m pipeline.settings --markdown > docs/settings.md"
    )
    rows = [line for line in documented.splitlines() if line.startswith("| `NEWS_INGEST_")]
    assert [row.split("`")[1] for row in rows] == env_names()
    assert all(Settings.model_fields[name].description for name in Settings.model_fields)


def test_markdown_command_prints_the_docs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.settings", "--markdown"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == settings_markdown()


def test_cli_help_quotes_the_model_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {
        "warehouse": "warehouse/news.duckdb",
        "wait": "60",
        "cron": "*/15 * * * *",
        "maintenance_cron": "30 3 * * *",
        "backfill_interval": "1",
    }
    for (command, option), field in OPTION_SETTINGS.items():
        assert f"(default: ${env_name(field)} or {expected[field]})" in option_help(command, option)
    # Taken from the model, not written twice: a changed default shows in the help.
    monkeypatch.setattr(Settings.model_fields["cron"], "default", "0 * * * *")
    monkeypatch.setattr(Settings.model_fields["wait"], "default", 7.5)
    assert "(default: $NEWS_INGEST_CRON or 0 * * * *)" in option_help("serve", "--cron")
    assert "(default: $NEWS_INGEST_WAIT or 7.5)" in option_help("feeds list", "--wait")


def test_options_override_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWS_INGEST_WAIT", "5")
    monkeypatch.setenv("NEWS_INGEST_WAREHOUSE", str(tmp_path / "env.duckdb"))
    args = build_parser().parse_args(["feeds", "list"])
    assert settings_from_args(args).wait == 5.0
    assert settings_from_args(args).warehouse == tmp_path / "env.duckdb"
    args = build_parser().parse_args(["feeds", "list", "--wait", "2", "--warehouse", "x.duckdb"])
    assert settings_from_args(args).wait == 2.0
    assert settings_from_args(args).warehouse == Path("x.duckdb")


def test_a_bad_variable_is_one_line_from_every_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert sorted(subparsers(build_parser())) == sorted(COMMAND_ARGS)
    monkeypatch.chdir(tmp_path)  # nothing is written where the tests run, if it got that far
    monkeypatch.setenv("NEWS_INGEST_PER_HOST", "abc")
    for command, extra in COMMAND_ARGS.items():
        assert main([*command.split(), *extra]) == 2, command
        err = capsys.readouterr().err
        assert err == "news-ingest: error: NEWS_INGEST_PER_HOST must be an integer, got 'abc'\n"
    monkeypatch.delenv("NEWS_INGEST_PER_HOST")
    monkeypatch.setenv("NEWS_INGEST_DEADLINE", "soon")
    assert main(["feeds", "list"]) == 2
    assert capsys.readouterr().err == (
        "news-ingest: error: NEWS_INGEST_DEADLINE must be a number, got 'soon'\n"
    )


def test_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings() == Settings.from_env()
    assert Settings().per_host == 2 and Settings().allow_hosts == ()
    monkeypatch.setenv("NEWS_INGEST_ALLOW_HOSTS", " 127.0.0.1, localhost,,10.0.0.0/8 ")
    monkeypatch.setenv(
        "NEWS_INGEST_MAX_ENTRIES", "7"
    )  # aliased: not NEWS_INGEST_MAX_ENTRIES_PER_FEED
    monkeypatch.setenv("NEWS_INGEST_ARCHIVE", "/data/warc")
    monkeypatch.setenv("NEWS_INGEST_FEED_BATCH", "")  # empty: the default
    monkeypatch.setenv("NEWS_INGEST_PAGE_BATCH", "  ")  # blank number: the default too
    monkeypatch.setenv("NEWS_INGEST_DEADLINE", "1.5")
    settings = Settings.from_env()
    assert settings.allow_hosts == ("127.0.0.1", "localhost", "10.0.0.0/8")
    assert settings.max_entries_per_feed == 7
    assert settings.archive_path == Path("/data/warc")
    assert settings.feed_batch == 125 and settings.page_batch == 100
    assert settings.deadline == 1.5


def test_keywords_beat_the_environment_and_none_means_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWS_INGEST_PER_HOST", "5")
    monkeypatch.setenv("NEWS_INGEST_MAX_ENTRIES", "7")
    assert Settings.from_env(per_host=3).per_host == 3
    assert Settings.from_env(per_host=None).per_host == 5
    assert Settings.from_env(max_entries_per_feed=9).max_entries_per_feed == 9


def test_frozen_and_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(per_host=3)
    with pytest.raises(ValueError, match="frozen"):
        settings.per_host = 4  # type: ignore[misc]
    changed = settings.replace(per_host=4, warehouse=Path("other.duckdb"))
    assert (changed.per_host, changed.warehouse, settings.per_host) == (4, Path("other.duckdb"), 3)
    monkeypatch.setenv("NEWS_INGEST_PER_HOST", "9")  # replace() copies, it reads no variables
    assert settings.replace(deadline=1.0).per_host == 3
    with pytest.raises(SettingsError, match=r"^NEWS_INGEST_PER_HOST must be an integer, got 'x'$"):
        settings.replace(per_host="x")
    with pytest.raises(SettingsError, match="NEWS_INGEST_TASK_RUNNER must be one of threads, dask"):
        settings.replace(task_runner="spark")


def test_errors_name_the_variable_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_INGEST_MAX_ENTRIES", "many")
    monkeypatch.setenv("NEWS_INGEST_READ_TIMEOUT", "slow")
    with pytest.raises(SettingsError) as raised:
        Settings.from_env()
    message = str(raised.value)
    assert "\n" not in message
    assert "NEWS_INGEST_MAX_ENTRIES must be an integer, got 'many'" in message
    assert "NEWS_INGEST_READ_TIMEOUT must be a number, got 'slow'" in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    with pytest.raises(SettingsError, match="unknown setting 'per_hosts'"):
        Settings(per_hosts=3)
