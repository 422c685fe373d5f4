"""The command line's conventions: every DuckDB type in json, jsonl and csv; a closed pipe;
--version; help text on every option."""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.cli import build_parser, main
from flows.output import iso_duration, jsonable
from pipeline.store import Warehouse

# One column per DuckDB type family, with the text each must come out as (json/jsonl value).
TYPED_COLUMNS: list[tuple[str, str, Any]] = [
    ("i_interval", "INTERVAL 5 MINUTE", "PT5M"),
    ("i_interval_long", "INTERVAL '1 day 2 hours 3.5 seconds'", "P1DT2H3.5S"),
    ("i_interval_negative", "-INTERVAL 90 SECOND", "-PT1M30S"),
    ("t_time", "TIME '10:11:12.5'", "10:11:12.500000"),
    ("t_timetz", "TIMETZ '10:11:12+02'", "10:11:12+02:00"),
    ("t_date", "DATE '2026-12-03'", "2026-12-03"),
    ("t_timestamp", "TIMESTAMP '2026-12-03 10:00:00'", "2026-12-03T10:00:00"),
    ("t_timestamptz", "TIMESTAMPTZ '2026-12-03 10:00:00+00'", "2026-12-03T10:00:00+00:00"),
    (
        "u_uuid",
        "UUID '5b1c8a51-6d4d-4e5c-9ac5-0d9d6d4f8f3e'",
        "5b1c8a51-6d4d-4e5c-9ac5-0d9d6d4f8f3e",
    ),
    ("d_decimal", "1.25::DECIMAL(10,2)", 1.25),
    ("d_decimal_wide", "12345678901234567890.123::DECIMAL(38,3)", "12345678901234567890.123"),
    ("b_blob", "'\\xAA\\xBBab'::BLOB", base64.b64encode(b"\xaa\xbbab").decode()),
    ("h_hugeint", "12345678901234567890123::HUGEINT", 12345678901234567890123),
    ("f_nan", "'nan'::DOUBLE", "NaN"),
    ("f_inf", "'-inf'::DOUBLE", "-Infinity"),
    ("f_double", "0.5::DOUBLE", 0.5),
    ("l_list", "[1, 2, NULL]", [1, 2, None]),
    ("l_nested", "[[1], [2, 3]]", [[1], [2, 3]]),
    ("a_array", "[1, 2]::INTEGER[2]", [1, 2]),
    ("s_struct", "{'a': 1, 'b': 'x,y\"z'}", {"a": 1, "b": 'x,y"z'}),
    ("m_map", "MAP {'k': [1], 'j': []}", {"k": [1], "j": []}),
    ("m_map_int_keys", "MAP {1: 'one'}", {"1": "one"}),
    ("e_enum", "'b'::ENUM('a', 'b')", "b"),
    ("n_null", "NULL", None),
    ("v_text", "'naïve, \"quoted\"\nline'", 'naïve, "quoted"\nline'),
    ("k_bool", "true", True),
    ("bit_bit", "'0101'::BIT", "0101"),
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("out") / "w.duckdb"
    Warehouse(path).close()
    return str(path)


def typed_query() -> str:
    return "SELECT " + ", ".join(f"{sql} AS {name}" for name, sql, _ in TYPED_COLUMNS)


def sql_out(capsys: pytest.CaptureFixture[str], warehouse: str, fmt: str, query: str) -> str:
    assert main(["sql", query, "--format", fmt, "--warehouse", warehouse]) == 0
    return capsys.readouterr().out


def test_every_type_in_json(capsys: pytest.CaptureFixture[str], warehouse: str) -> None:
    (row,) = json.loads(sql_out(capsys, warehouse, "json", typed_query()))
    assert row == {name: expected for name, _, expected in TYPED_COLUMNS}


def test_every_type_in_jsonl(capsys: pytest.CaptureFixture[str], warehouse: str) -> None:
    out = sql_out(capsys, warehouse, "jsonl", typed_query() + " FROM range(3)")
    lines = out.splitlines()
    assert len(lines) == 3
    expected = {name: value for name, _, value in TYPED_COLUMNS}
    assert all(json.loads(line) == expected for line in lines)


def test_every_type_in_csv(capsys: pytest.CaptureFixture[str], warehouse: str) -> None:
    out = sql_out(capsys, warehouse, "csv", typed_query())
    header, row = list(csv.reader(io.StringIO(out)))
    assert header == [name for name, _, _ in TYPED_COLUMNS]
    cells = dict(zip(header, row, strict=True))
    for name, _, expected in TYPED_COLUMNS:
        if expected is None:
            assert cells[name] == ""
        elif isinstance(expected, list | dict):
            assert json.loads(cells[name]) == expected, name  # nested values as JSON
        elif isinstance(expected, bool):
            assert cells[name] == "true"
        else:
            assert cells[name] == str(expected), name


def test_table_format_shows_nested_values_as_json(
    capsys: pytest.CaptureFixture[str], warehouse: str
) -> None:
    out = sql_out(capsys, warehouse, "table", "SELECT [1, 2] AS l, {'a': 'b'} AS s, NULL AS n")
    assert "[1, 2]" in out and '{"a": "b"}' in out and "NULL" in out and "(1 row)" in out


def test_json_of_no_rows_is_an_empty_array(
    capsys: pytest.CaptureFixture[str], warehouse: str
) -> None:
    assert json.loads(sql_out(capsys, warehouse, "json", "SELECT 1 AS x WHERE false")) == []
    assert sql_out(capsys, warehouse, "jsonl", "SELECT 1 AS x WHERE false") == "\n"


def test_values_duckdb_returns_round_trip_through_jsonable() -> None:
    con = duckdb.connect()
    value = con.execute("SELECT INTERVAL '36 hours 0.000001 seconds'").fetchone()
    assert value is not None
    assert jsonable(value[0]) == "P1DT12H0.000001S"
    assert iso_duration(value[0] - value[0]) == "PT0S"


def test_a_closed_pipe_ends_quietly_with_status_0(warehouse: str) -> None:
    query = "SELECT * FROM range(2000000)"
    command = [sys.executable, "-m", "flows.cli", "sql", query, "--format", "jsonl"]
    pipeline = subprocess.Popen(
        [*command, "--warehouse", warehouse], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert pipeline.stdout is not None
    first = pipeline.stdout.readline()
    pipeline.stdout.close()  # what `| head -1` does once it has its line
    _, stderr = pipeline.communicate(timeout=120)
    assert json.loads(first) == {"range": 0}
    assert pipeline.returncode == 0, stderr.decode()
    assert stderr == b""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("news-ingest ") and out.split()[1][0].isdigit()


def every_option(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, argparse.Action]]:
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:  # each command's own help line
                found.append((f"{prefix} {choice.dest}", choice))
            for name, sub in action.choices.items():
                found += every_option(sub, f"{prefix} {name}")
        else:
            found.append((f"{prefix} {'/'.join(action.option_strings) or action.dest}", action))
    return found


def test_every_command_and_option_has_help_text() -> None:
    missing = [
        where
        for where, action in every_option(build_parser(), "news-ingest")
        if not (action.help and action.help.strip()) and action.help != argparse.SUPPRESS
    ]
    assert missing == []


def test_report_json_is_one_object(tmp_path: Path) -> None:
    from flows.output import report_json

    text = report_json({"articles_new": 3, "feeds_failed": 0})
    assert "\n" not in text and json.loads(text) == {"articles_new": 3, "feeds_failed": 0}
