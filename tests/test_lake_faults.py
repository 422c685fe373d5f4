"""A lake that cannot be written is one line from `news-ingest run`, before any fetch: a data
path that is not writable, a catalog that is down, a PostgreSQL lake without an archive folder.
And a commit that conflicts is redone whole, then given up in one line."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.cli import main
from pipeline.errors import WarehouseError
from pipeline.store import Warehouse
from pipeline.store.connection import COMMIT_ATTEMPTS
from tests.chaos import RSS, ChaosServer, item, respond, rss


@pytest.fixture
def feed() -> Iterator[tuple[ChaosServer, str]]:
    with ChaosServer() as server:
        server.add("/feed.xml", respond(rss("F", [item("a", server.url("/a"))]).encode(), RSS))
        yield server, server.url("/feed.xml")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_fails_in_one_line(
    feed: tuple[ChaosServer, str], capsys: pytest.CaptureFixture[str], *args: str
) -> str:
    server, url = feed
    assert main(["run", "--feed", url, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("news-ingest: error: ") and err.count("\n") == 1, err
    assert sum(server.hits.values()) == 0  # nothing was fetched
    return err


def test_an_unwritable_data_path_is_one_line_before_any_fetch(
    feed: tuple[ChaosServer, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NEWS_INGEST_LAKE_DATA", str(blocker / "data"))
    url = f"ducklake:sqlite:{tmp_path}/c.sqlite"
    err = run_fails_in_one_line(feed, capsys, "--warehouse", url)
    assert "not writable" in err and "NEWS_INGEST_LAKE_DATA" in err
    assert not (tmp_path / "c.sqlite").exists()


def test_a_catalog_that_is_down_is_one_line_before_any_fetch(
    feed: tuple[ChaosServer, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("NEWS_INGEST_LAKE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NEWS_INGEST_ARCHIVE", str(tmp_path / "archive"))
    url = f"ducklake:postgres:host=127.0.0.1 port={closed_port()} dbname=news user=news"
    err = run_fails_in_one_line(feed, capsys, "--warehouse", url)
    assert "cannot reach the catalog" in err


def test_a_postgres_lake_without_an_archive_folder_is_one_line(
    feed: tuple[ChaosServer, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("NEWS_INGEST_ARCHIVE", raising=False)
    monkeypatch.setenv("NEWS_INGEST_LAKE_DATA", str(tmp_path / "data"))
    err = run_fails_in_one_line(feed, capsys, "--warehouse", "ducklake:postgres:dbname=news")
    assert "NEWS_INGEST_ARCHIVE" in err


def test_a_conflicting_commit_is_redone_whole_then_one_line(lake_location: Any) -> None:
    with Warehouse(lake_location) as wh:
        tries: list[int] = []
        real = wh.backend.commit_section

        def conflicting() -> Any:
            tries.append(1)
            if len(tries) < 3:
                raise duckdb.TransactionException("Transaction conflict - simulated")
            return real()

        wh.backend.commit_section = conflicting  # type: ignore[method-assign]
        assert wh.add_feeds(["https://a.example/feed"]) == 1  # the third try commits
        assert len(tries) == 3
        tries.clear()

        def always() -> Any:
            tries.append(1)
            raise duckdb.TransactionException("Transaction conflict - simulated")

        wh.backend.commit_section = always  # type: ignore[method-assign]
        with pytest.raises(WarehouseError) as caught:
            wh.add_feeds(["https://b.example/feed"])
        assert len(tries) == COMMIT_ATTEMPTS
        assert "\n" not in str(caught.value) and "simulated" in str(caught.value)
        wh.backend.commit_section = real  # type: ignore[method-assign]
        assert wh.sql("SELECT url FROM feeds") == [("https://a.example/feed",)]
