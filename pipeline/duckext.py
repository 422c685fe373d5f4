"""DuckDB extensions loaded offline from their PyPI wheels, and DuckDB connections that never
download one.

Each wheel `duckdb-extension-NAME` holds `extensions/v<duckdb version>/NAME.duckdb_extension`
inside its package `duckdb_extension_NAME`; `LOAD '<that path>'` loads it. DuckDB's own
`INSTALL`/autoload would fetch from the web, which is not reachable where this runs, so
connections made here switch autoinstall and autoload off: a missing extension is a clear error,
never a network wait.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import sys
from pathlib import Path
from typing import Any

import duckdb

from pipeline.errors import ExtensionMissingError, NewerWarehouseFormatError

# The extra that installs the extension wheels this project uses.
LAKE_EXTRA = "news-ingest[lake]"

# The extensions the lake extra installs; others are named by their wheel.
LAKE_EXTENSIONS = frozenset({"ducklake", "postgres_scanner", "sqlite_scanner", "fts"})

# Short names callers may use, to the extension's real name (the wheel's name without the prefix).
_ALIASES = {"postgres": "postgres_scanner", "sqlite": "sqlite_scanner"}

# Settings for every connection: no download of an extension, ever.
OFFLINE_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class AbsentModules:
    """An import finder that fails the import of a module known to be absent at once. DuckDB
    1.5.5 imports pandas for every query parameter it converts; without pandas installed, each
    try searched all of sys.path (a 500-key lookup took 44 ms, 11 ms with this: a tenth of the
    flow process's CPU). `import` raises ModuleNotFoundError as it would have, only sooner.
    It stands aside (answers None, as a finder that knows nothing) for importlib.util.find_spec,
    and looks again whenever sys.path has changed (a folder added since may hold the module).
    sys.modules is untouched (pyarrow reads a None placed there as pandas itself).
    Installed by the command line's process only (fail_fast_on_absent), never on import."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.path = list(sys.path)

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name not in self.names or not _asked_by_an_import():
            return None
        if sys.path != self.path:  # the answer may have changed: asked again, the slow way
            self.path = list(sys.path)
            self.names = frozenset(n for n in self.names if not _installed(n))
            if name not in self.names:
                return None
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def _asked_by_an_import() -> bool:
    """Whether an import (not importlib.util.find_spec or another caller) is asking: frame 0
    is this, 1 the finder, 2 importlib's _find_spec, 3 the import's _find_and_load_unlocked.
    Anything else, or a call chain of another shape, counts as no: the finder stands aside."""
    try:
        return sys._getframe(3).f_code.co_name == "_find_and_load_unlocked"
    except ValueError:
        return False


def fail_fast_on_absent(names: tuple[str, ...] = ("pandas",)) -> None:
    """Install AbsentModules (once) for those of `names` not installed now."""
    if any(isinstance(finder, AbsentModules) for finder in sys.meta_path):
        return
    absent = frozenset(n for n in names if n not in sys.modules and not _installed(n))
    if absent:
        sys.meta_path.insert(0, AbsentModules(absent))


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def extension_name(name: str) -> str:
    """The extension's real name: `postgres` -> `postgres_scanner`, others unchanged."""
    return _ALIASES.get(name, name)


def extension_path(name: str) -> Path:
    """Where the installed wheel keeps the extension built for this DuckDB version."""
    real = extension_name(name)
    package = f"duckdb_extension_{real}"
    wheel = f"duckdb-extension-{real.replace('_', '-')}=={duckdb.__version__}"
    install = f"'{LAKE_EXTRA}'" if real in LAKE_EXTENSIONS else wheel
    hint = f"the {real} extension is not installed: pip install {install}"
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        raise ExtensionMissingError(hint) from None
    built = Path(str(root)) / "extensions" / f"v{duckdb.__version__}" / f"{real}.duckdb_extension"
    if not built.is_file():
        raise ExtensionMissingError(f"{hint}; {built} is absent (built for another DuckDB?)")
    return built


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load an extension from its wheel on this connection (a no-op when already loaded)."""
    real = extension_name(name)
    loaded = con.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = ?", [real]
    ).fetchone()
    if loaded and loaded[0]:
        return
    path = str(extension_path(real)).replace("'", "''")
    con.execute(f"LOAD '{path}'")


def connect(
    database: str | Path = ":memory:",
    *,
    read_only: bool = False,
    config: dict[str, Any] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never downloads an extension. A file written by a newer DuckDB
    raises NewerWarehouseFormatError with the way out, instead of DuckDB's storage-page text."""
    settings = {**OFFLINE_CONFIG, **(config or {})}
    try:
        return duckdb.connect(str(database), read_only=read_only, config=settings)
    except duckdb.IOException as exc:
        newer = newer_format_error(database, exc)
        if newer is None:
            raise
        raise newer from None


def newer_format_error(database: str | Path, exc: Exception) -> NewerWarehouseFormatError | None:
    """The one-line error for a file DuckDB refused as written by a newer version, else None.

    DuckDB 1.5.5 says, for a file written by 2.0: "IO Error: Trying to read a database file
    with version number 999, but we can only read versions between 64 and 68. The database file
    was created with an newer version of DuckDB. ..." (an IOException)."""
    text = str(exc)
    if "created with an newer version of DuckDB" not in text and (
        "Trying to read a database file with version number" not in text
    ):
        return None
    return NewerWarehouseFormatError(
        f"{database} was written by a newer DuckDB than {duckdb.__version__}, which news-ingest"
        " uses; convert it with that newer DuckDB: ATTACH the file AS old; ATTACH 'copy.duckdb'"
        " AS new (STORAGE_VERSION 'v1.5.0'); COPY FROM DATABASE old TO new; then use copy.duckdb"
    )
