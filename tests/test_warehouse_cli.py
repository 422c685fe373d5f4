"""`news-ingest warehouse info|copy|snapshots` and `sql --at`, run in-process through main()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.cli import main
from tests.test_lake_ops import build_file_warehouse


@pytest.fixture
def no_lake_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWS_INGEST_LAKE_DATA", raising=False)
    monkeypatch.delenv("NEWS_INGEST_WAREHOUSE", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2
    assert err.startswith("news-ingest: error: ") and err.strip().count("\n") == 0, err
    for word in words:
        assert word in err


@pytest.mark.usefixtures("no_lake_data")
def test_info_of_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts = build_file_warehouse(tmp_path / "w.duckdb")
    code, out, _ = run(capsys, "warehouse", "info", "--warehouse", str(tmp_path / "w.duckdb"))
    assert code == 0
    assert out.splitlines()[0].split() == ["backend", "file"]
    assert "duckdb version  1.5.5" in out and " MiB" in out
    assert f"{sum(counts.values())} rows in {len(counts)} tables" in out
    code, out, _ = run(
        capsys, "warehouse", "info", "--format", "json", "--warehouse", str(tmp_path / "w.duckdb")
    )
    info = json.loads(out)
    assert code == 0 and info["backend"] == "file" and info["tables"] == counts


@pytest.mark.usefixtures("no_lake_data")
def test_copy_into_a_lake_then_snapshots_and_time_travel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    file = str(tmp_path / "w.duckdb")
    counts = build_file_warehouse(tmp_path / "w.duckdb")
    lake_url = f"ducklake:sqlite:{tmp_path}/c.sqlite"
    data = str(tmp_path / "lake-data")
    code, out, err = run(
        capsys, "warehouse", "copy", "--to", lake_url, "--data", data, "--warehouse", file
    )
    assert code == 0, err
    assert out.startswith(f"copied {sum(counts.values())} rows in {len(counts)} tables to")
    assert "row count verified" in out
    assert "  feeds: 3 rows" in err.splitlines()

    monkeypatch.setenv("NEWS_INGEST_LAKE_DATA", data)
    code, out, _ = run(capsys, "warehouse", "info", "--format", "json", "--warehouse", lake_url)
    info = json.loads(out)
    assert info["backend"] == "ducklake on sqlite" and info["tables"] == counts
    assert info["snapshots"] >= 2 and info["ducklake_format"] == "1.0"

    code, out, _ = run(
        capsys, "warehouse", "snapshots", "--format", "json", "--warehouse", lake_url
    )
    snapshots = json.loads(out)
    assert code == 0 and [s["snapshot_id"] for s in snapshots] == list(range(len(snapshots)))
    assert "tables_created" in snapshots[1]["changes"]
    code, out, _ = run(capsys, "warehouse", "snapshots", "--warehouse", lake_url)
    assert code == 0 and "tables_created: main." in out

    # Before the copy's rows were committed, the views and tables were there and empty.
    query = "SELECT (SELECT count(*) FROM feeds) AS feeds, (SELECT count(*) FROM feed_status) AS s"
    # The snapshot that created the tables (and recorded the migrations) comes before the
    # copy's rows; reopening the lake afterwards may add snapshots of its own.
    last, before_rows = snapshots[-1]["snapshot_id"], snapshots[1]["snapshot_id"]
    for at, expected in ((before_rows, [{"feeds": 0, "s": 0}]), (last, [{"feeds": 3, "s": 3}])):
        code, out, err = run(
            capsys, "sql", query, "--at", str(at), "--format", "json", "--warehouse", lake_url
        )
        assert code == 0, err
        assert json.loads(out) == expected
    code, out, _ = run(
        capsys, "sql", query, "--at", snapshots[-1]["snapshot_time"], "--warehouse", lake_url
    )
    assert code == 0 and out.splitlines()[2].split() == ["3", "3"]
    code, _, err = run(capsys, "sql", "SELECT 1", "--at", "9999", "--warehouse", lake_url)
    one_line_error(code, err, "No snapshot found")
    code, _, err = run(capsys, "sql", "SELECT nope", "--at", "1", "--warehouse", lake_url)
    one_line_error(code, err)

    # And back into a new file, which the store then opens as usual.
    code, out, err = run(
        capsys, "warehouse", "copy", "--to", str(tmp_path / "back.duckdb"), "--warehouse", lake_url
    )
    assert code == 0, err
    code, out, _ = run(
        capsys,
        "sql",
        "SELECT count(*) FROM articles",
        "--format",
        "json",
        "--warehouse",
        str(tmp_path / "back.duckdb"),
    )
    assert json.loads(out) == [{"count_star()": counts["articles"]}]


@pytest.mark.usefixtures("no_lake_data")
def test_lake_only_commands_on_a_file_and_bad_copies_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = str(tmp_path / "w.duckdb")
    build_file_warehouse(tmp_path / "w.duckdb")
    code, _, err = run(capsys, "sql", "SELECT 1", "--at", "1", "--warehouse", file)
    one_line_error(code, err, "time travel", "needs a lake")
    code, _, err = run(capsys, "warehouse", "snapshots", "--warehouse", file)
    one_line_error(code, err, "needs a lake")
    code, _, err = run(capsys, "warehouse", "copy", "--to", file, "--warehouse", file)
    one_line_error(code, err, "same warehouse")
    build_file_warehouse(tmp_path / "full.duckdb", sites=1)
    code, _, err = run(
        capsys, "warehouse", "copy", "--to", str(tmp_path / "full.duckdb"), "--warehouse", file
    )
    one_line_error(code, err, "is not empty")
    code, _, err = run(capsys, "warehouse", "info", "--warehouse", str(tmp_path / "none.duckdb"))
    one_line_error(code, err, "no warehouse at")
