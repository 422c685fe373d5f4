"""A warehouse written by an earlier news-ingest upgrades in place: the fixture is a DuckDB file
at schema 6 (the release before edit tracking, WebSub and access state), with two articles."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from pipeline.store import Warehouse

FIXTURE = Path(__file__).parent / "fixtures" / "warehouse-schema-6.duckdb.gz"


def test_a_schema_6_warehouse_with_rows_upgrades_to_the_latest(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with gzip.open(FIXTURE) as packed, open(db, "wb") as out:
        shutil.copyfileobj(packed, out)
    with Warehouse(db, read_only=True) as old:
        assert old.sql("SELECT max(version) FROM schema_migrations") == [(6,)]
    latest = max(m.version for m in Warehouse.migrations())
    with Warehouse(db) as wh:
        # 008 fills a column of articles that 009 then follows with another: in one
        # transaction DuckDB refused the commit, so each migration commits on its own.
        assert wh.sql("SELECT list(version ORDER BY version) FROM schema_migrations") == [
            (list(range(1, latest + 1)),)
        ]
        assert wh.sql(
            "SELECT title, first_seen_at <= fetched_at, arrived_via, access FROM articles"
            " ORDER BY title"
        ) == [("first", True, "poll", "unknown"), ("second", True, "poll", "unknown")]
        assert wh.sql("SELECT count(*) FROM article_revisits WHERE watched") == [(2,)]
    with Warehouse(db) as again:  # nothing left to apply
        assert again.migrate() == []
