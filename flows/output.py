"""Rows and reports as a person or a program reads them: table, CSV, JSON and JSON Lines.

Every DuckDB type has one text form, the same in json, jsonl and csv:

| DuckDB | Python from duckdb | written as |
|---|---|---|
| DATE, TIME[TZ], TIMESTAMP[TZ] | date, time, datetime | ISO 8601 (`2026-12-03T10:00:00+00:00`) |
| INTERVAL | timedelta | ISO 8601 duration (`P1DT2H30M`, `-PT5S`) |
| UUID | UUID | its canonical text |
| DECIMAL | Decimal | a JSON number when exact as a double, else its exact text |
| BLOB, BIT | bytes | base64 |
| HUGEINT, UHUGEINT | int | a JSON number (CSV: digits) |
| DOUBLE NaN, ±inf | float | the strings `NaN`, `Infinity`, `-Infinity` (JSON has no such numbers) |
| LIST, ARRAY | list | a JSON array (CSV: the array as JSON) |
| STRUCT | dict | a JSON object (CSV: the object as JSON) |
| MAP | dict | a JSON object, keys as text (CSV: as JSON) |
| NULL | None | `null` (CSV: empty) |

jsonl and csv are written row by row (`write_rows`), so memory stays flat on big results.
"""

from __future__ import annotations

import base64
import csv
import json
import math
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TextIO

FORMATS = ("table", "csv", "json", "jsonl")
FORMAT_HELP = "output: an aligned table, csv, json (one array) or jsonl (an object a line)"
MAX_CELL = 60  # table cells are cut here; csv and json carry whole values
# A double holds integers exactly up to 2**53; a decimal with more digits is kept as text.
MAX_EXACT_DIGITS = 15


def iso_duration(value: timedelta) -> str:
    """timedelta → ISO 8601 duration: 'P1DT2H3M4.5S', 'PT0S', '-PT5M'."""
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    micros = abs(value // timedelta(microseconds=1))
    days, micros = divmod(micros, 86_400_000_000)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds = micros / 1_000_000
    clock = ""
    if hours:
        clock += f"{hours}H"
    if minutes:
        clock += f"{minutes}M"
    if seconds or not (days or hours or minutes):
        clock += f"{seconds:.6f}".rstrip("0").rstrip(".") + "S"
    return f"{sign}P{f'{days}D' if days else ''}{'T' + clock if clock else ''}"


def jsonable(value: Any) -> Any:
    """`value` as JSON-serialisable Python, per the table in this module's docstring."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        exact = len(value.as_tuple().digits) <= MAX_EXACT_DIGITS
        return float(value) if exact else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def _key(key: Any) -> str:
    text = jsonable(key)
    return text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)


def csv_cell(value: Any) -> str:
    """One CSV field: nested values as JSON, NULL as empty, scalars as their JSON text form."""
    if value is None:
        return ""
    plain = jsonable(value)
    if isinstance(plain, dict | list):
        return json.dumps(plain, ensure_ascii=False)
    if isinstance(plain, bool):
        return "true" if plain else "false"
    return str(plain)


def write_rows(names: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str, out: TextIO) -> int:
    """Write a result to `out` as csv, json (one array of objects) or jsonl (an object a line),
    row by row; returns the number of rows. The table format needs every row first: use
    format_rows for it."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
            count += 1
        return count
    if fmt == "jsonl":
        for row in rows:
            out.write(_object(names, row, indent=None) + "\n")
            count += 1
        return count
    if fmt == "json":
        out.write("[")
        for row in rows:
            out.write(("," if count else "") + "\n  " + _object(names, row, indent=None))
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def _object(names: Sequence[str], row: Sequence[Any], indent: int | None) -> str:
    record = {name: jsonable(v) for name, v in zip(names, row, strict=True)}
    return json.dumps(record, ensure_ascii=False, indent=indent)


def table_text(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned text table for a terminal, long cells cut, with a row count."""

    def cell(value: Any) -> str:
        if value is None:
            return "NULL"
        text = csv_cell(value)
        text = " ".join(text.split())
        return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    lines = [
        "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def report_json(report: dict[str, Any]) -> str:
    """A run report (counts and the like) as one JSON object."""
    return json.dumps(jsonable(report), ensure_ascii=False, sort_keys=True)
