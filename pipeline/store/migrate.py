"""The warehouse schema: numbered migrations, applied once each and recorded in
`schema_migrations`. Most are SQL files (warehouse/migrations/NNN_name.sql); a data migration
is a Python function registered with a number of its own (as sqlite-migrate registers its
steps), so it is recorded, and skipped next time, like the SQL ones."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from pipeline import lakeddl, neardup
from pipeline.store.clusters import signature_bands, store_signatures
from pipeline.store.connection import WarehouseConnection

SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
)

Step = Callable[[WarehouseConnection], None]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Step
    # A data migration that used to run, unnumbered, along with this (SQL) version: a
    # warehouse that recorded that version before already has its effect.
    ran_with: int | None = None


_DATA_MIGRATIONS: list[Migration] = []


def data_migration(version: int, name: str, ran_with: int | None = None) -> Callable[[Step], Step]:
    """Register a function as the data migration `version`."""

    def register(step: Step) -> Step:
        _DATA_MIGRATIONS.append(Migration(version, name, step, ran_with))
        return step

    return register


def sql_migrations() -> list[Migration]:
    """The numbered SQL files (read by pipeline.lakeddl, which also gives their lake form)."""
    return [Migration(v, name, _run_sql(sql)) for v, name, sql in lakeddl.migration_scripts()]


def migrations() -> list[Migration]:
    """Every migration, SQL and data, by version."""
    found = sorted(sql_migrations() + _DATA_MIGRATIONS, key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def migrate(db: WarehouseConnection) -> list[int]:
    """Apply the migrations not yet recorded, then recreate the views (inside the lake's
    commit section, so two processes opening a new lake apply them once). On a DuckDB file
    each migration commits alone with its record, so a crash leaves whole migrations behind
    and the next open goes on: DuckDB fails the commit of a transaction that alters a table
    after updating it (008 fills a column that 009 follows with another). On a lake they
    commit together, as they always did there. Each SQL script runs in the backend's form of
    it (a lake's has no keys nor sequences). Returns the versions applied."""
    # On a lake all of them commit as one snapshot, as lakes always were migrated.
    whole = db.transaction() if db.backend.migrations_in_one_transaction else nullcontext()
    with db.backend.commit_section(), whole:
        with db.transaction() as con:
            for statement in db.backend.migration_statements(SCHEMA_MIGRATIONS):
                con.execute(statement)
            done = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for migration in migrations():
            if migration.version in done:
                continue
            with db.transaction() as con:
                if migration.ran_with is None or migration.ran_with not in done:
                    migration.apply(db)
                con.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                    [migration.version, migration.name],
                )
            done.add(migration.version)
            applied.append(migration.version)
        with db.transaction() as con:
            for statement in db.backend.migration_statements(lakeddl.views_script()):
                con.execute(statement)
    return applied


def _run_sql(sql: str) -> Step:
    def run(db: WarehouseConnection) -> None:
        for statement in db.backend.migration_statements(sql):
            db.con.execute(statement)

    return run


@data_migration(6, "sign_unsigned_articles", ran_with=2)
def sign_unsigned_articles(db: WarehouseConnection) -> None:
    """Signatures and bands for articles stored before near-duplicate detection existed.
    Their clusters stay as they were; later articles can match them."""
    rows = db.con.execute(
        "SELECT article_id, text FROM articles ANTI JOIN article_signatures USING (article_id)"
    ).fetchall()
    sigs = {int(article_id): neardup.signature(text or "") for article_id, text in rows}
    store_signatures(db, sigs, signature_bands(sigs))
