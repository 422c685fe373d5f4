"""DuckDB extensions from their wheels, offline connections, files from a newer DuckDB."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipeline import duckext


def test_duckdb_is_the_pinned_version() -> None:
    assert duckdb.__version__ == "1.5.5"


@pytest.mark.parametrize("name", ["ducklake", "postgres_scanner", "sqlite_scanner", "fts"])
def test_each_lake_extension_loads_from_its_wheel(name: str) -> None:
    path = duckext.extension_path(name)
    assert path.is_file() and path.parts[-2] == f"v{duckdb.__version__}"
    con = duckext.connect()
    duckext.load_extension(con, name)
    duckext.load_extension(con, name)  # a second load is a no-op
    loaded = con.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = ?", [name]
    ).fetchone()
    assert loaded == (True,)


def test_short_names_name_the_scanner_extensions() -> None:
    assert duckext.extension_path("postgres") == duckext.extension_path("postgres_scanner")
    assert duckext.extension_name("sqlite") == "sqlite_scanner"


def test_an_extension_outside_the_extra_names_its_wheel() -> None:
    with pytest.raises(duckext.ExtensionMissingError) as caught:
        duckext.extension_path("no_such_extension")
    assert str(caught.value) == (
        "the no_such_extension extension is not installed:"
        " pip install duckdb-extension-no-such-extension==1.5.5"
    )


def test_connections_never_autoinstall(tmp_path: Path) -> None:
    con = duckext.connect(tmp_path / "w.duckdb")
    settings = con.execute(
        "SELECT current_setting('autoinstall_known_extensions'),"
        " current_setting('autoload_known_extensions')"
    ).fetchone()
    assert settings == (False, False)
    # httpfs is not loaded: with autoload off, a remote read fails at once instead of a download.
    with pytest.raises(duckdb.Error):
        con.execute("SELECT * FROM read_parquet('s3://bucket/x.parquet')")


def test_extension_missing_in_a_process_without_the_wheels(tmp_path: Path) -> None:
    # A child whose import path hides the extension packages: the same one-line error.
    code = (
        "import sys, importlib.abc\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.startswith('duckdb_extension_'): raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from pipeline import duckext\n"
        "try:\n    duckext.load_extension(duckext.connect(), 'ducklake')\n"
        "except duckext.ExtensionMissingError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.startswith(
        "the ducklake extension is not installed: pip install 'news-ingest[lake]'"
    )


FROM_DUCKDB_2 = Path(__file__).parent / "fixtures" / "written-by-duckdb-2.0.0.duckdb.gz"


def test_a_file_from_a_newer_duckdb_is_a_one_line_error(tmp_path: Path) -> None:
    # A file DuckDB 2.0.0 wrote (one table, checkpointed), gzipped: 1.5.5 cannot read it.
    path = tmp_path / "from-2.0.duckdb"
    path.write_bytes(gzip.decompress(FROM_DUCKDB_2.read_bytes()))
    with pytest.raises(duckdb.IOException, match="version number 999, but we can only read"):
        duckdb.connect(str(path))
    for read_only in (False, True):
        with pytest.raises(duckext.NewerWarehouseFormatError) as caught:
            duckext.connect(path, read_only=read_only)
        message = str(caught.value)
        assert "\n" not in message
        assert f"{path} was written by a newer DuckDB than 1.5.5" in message
        assert "STORAGE_VERSION 'v1.5.0'" in message


def test_other_open_errors_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "not-a-database.duckdb"
    path.write_bytes(b"plain text, not a database" * 200)
    with pytest.raises(duckdb.IOException) as caught:
        duckext.connect(path)
    assert not isinstance(caught.value, duckext.NewerWarehouseFormatError)


class _RecordingFinder:
    """Records the names the import system asks it about; finds nothing."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        self.asked.append(name)


def test_duckdb_parameters_do_not_search_for_an_absent_pandas() -> None:
    import importlib.util

    if sys.modules.get("pandas") is not None:
        pytest.skip("pandas is imported here: DuckDB uses it, nothing to fail fast")
    duckext.fail_fast_on_absent()
    if importlib.util.find_spec("pandas") is not None:
        pytest.skip("pandas is installed here: DuckDB finds it, nothing to fail fast")
    recorder = _RecordingFinder()
    at = next(i for i, f in enumerate(sys.meta_path) if isinstance(f, duckext.AbsentModules))
    sys.meta_path.insert(at + 1, recorder)  # behind ours: sees what ours lets through
    # sys.path changed since the finder began (test runners, `serve` loading flow code do so):
    # it looks again once, then fails fast as before.
    sys.path.append("/nonexistent/news-ingest")
    try:
        con = duckext.connect()
        keys = [f"k{i}" for i in range(50)]
        rows = con.execute(
            f"SELECT count(*) FROM range(10) WHERE 'k' || range IN ({', '.join('?' * 50)})", keys
        ).fetchall()
        con.close()
    finally:
        sys.meta_path.remove(recorder)
        sys.path.remove("/nonexistent/news-ingest")
    assert rows == [(10,)]
    assert recorder.asked.count("pandas") <= 1  # the one look again; not fifty searches
    with pytest.raises(ModuleNotFoundError):
        import pandas  # noqa: F401
    assert importlib.util.find_spec("pandas") is None  # asked, not imported: None as ever
    assert "pandas" not in sys.modules
    table = pa.table({"k": keys})  # pyarrow asks for pandas too, and copes with its absence
    assert table.num_rows == 50


def test_the_absent_module_finder_looks_again_once_sys_path_changes(tmp_path: Path) -> None:
    finder = duckext.AbsentModules(frozenset({"news_ingest_absent_probe"}))
    sys.meta_path.insert(0, finder)
    try:
        with pytest.raises(ModuleNotFoundError):
            import news_ingest_absent_probe  # type: ignore[import-not-found]  # noqa: F401
        (tmp_path / "news_ingest_absent_probe.py").write_text("VALUE = 7\n", "utf-8")
        sys.path.append(str(tmp_path))  # a folder added later (a plugin, a fresh install)
        try:
            import news_ingest_absent_probe  # noqa: F401

            assert news_ingest_absent_probe.VALUE == 7
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("news_ingest_absent_probe", None)
    finally:
        sys.meta_path.remove(finder)
