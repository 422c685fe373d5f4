"""The LSH band index files beside the warehouse: same candidates as a scan, rebuilt when due,
ignored when they do not belong to the warehouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline import lsh
from pipeline.store import PageResult, Warehouse
from tests.test_store import _setup_pending, _story, _texts_article, page_fetch


def _load(wh: Warehouse, texts: dict[str, str]) -> dict[str, int]:
    """Store pages with these texts through the real write path; url -> cluster_id."""
    run_id, _ = _setup_pending(wh, {f"g-{u}": u for u in texts})
    pages = [p for p in wh.pending_pages() if p.url in texts]
    wh.record_page_results(
        run_id,
        [
            PageResult(page=p, fetch=page_fetch(p.url), article=_texts_article(p.url, texts[p.url]))
            for p in pages
        ],
    )
    return dict(wh.sql("SELECT url, cluster_id FROM articles"))


def _edited(seed: int) -> str:
    """Story `seed` with a few words changed: a near-duplicate, not an exact copy."""
    words = _story(seed).split()
    for i in (10, 50, 90):
        words[i] = f"edit{i}"
    return " ".join(words)


def _band_rows(wh: Warehouse, url: str) -> list[dict[str, int]]:
    rows = wh.sql(
        "SELECT band, band_hash FROM article_bands"
        " WHERE article_id = (SELECT article_id FROM articles WHERE url = ?)",
        [url],
    )
    return [{"band": b, "band_hash": h, "article_id": -1} for b, h in rows]


@pytest.fixture
def wh(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Warehouse(tmp_path / "wh.duckdb") as warehouse:
        yield warehouse


def test_files_give_the_same_candidates_as_the_scan(wh: Warehouse) -> None:
    _load(wh, {f"https://a.example/{i}": _story(i) for i in range(6)})
    probe = _band_rows(wh, "https://a.example/3")
    scanned = wh.band_candidates(probe)
    assert wh.rebuild_band_index() == 6 * 32
    assert sorted(f.suffix for f in wh.bands.folder.iterdir()) == [".json", ".npy", ".npy"]
    assert wh.bands.batch >= 1 and wh.stale_band_rows() == 0
    assert wh.band_candidates(probe) == scanned
    article_3 = scalar_id(wh, "https://a.example/3")
    assert scanned == {-1: {article_3}}


def scalar_id(wh: Warehouse, url: str) -> int:
    return int(
        wh.sql("SELECT article_id FROM articles WHERE url = ?", [url])[0][0]
    )


def test_near_duplicates_cluster_through_the_files_and_the_newer_rows(wh: Warehouse) -> None:
    _load(wh, {"https://a.example/1": _story(1), "https://a.example/2": _story(2)})
    wh.rebuild_band_index()
    # Matched through the files: the originals are only there (and in DuckDB, older batches).
    clusters = _load(wh, {"https://b.example/1": _edited(1)})
    assert clusters["https://b.example/1"] == clusters["https://a.example/1"]
    # A story stored after the rebuild is found through DuckDB's newer rows.
    _load(wh, {"https://a.example/3": _story(3)})
    clusters = _load(wh, {"https://b.example/3": _edited(3)})
    assert clusters["https://b.example/3"] == clusters["https://a.example/3"]
    assert len(set(clusters.values())) == 3


def test_a_new_version_is_found_by_its_new_text(wh: Warehouse) -> None:
    _load(wh, {"https://a.example/1": _story(1), "https://a.example/2": _story(2)})
    wh.rebuild_band_index()
    old_id = scalar_id(wh, "https://a.example/1")
    # The article's text is replaced (as a new version or a re-extraction does): its new bands
    # take a new batch number, newer than the files.
    new_text = _story(7)
    art = _texts_article("https://a.example/1", new_text)
    art.content_hash = "hash-v2"
    wh.record_reextraction([(old_id, art)])
    clusters = _load(wh, {"https://b.example/7": _edited(7)})
    assert clusters["https://b.example/7"] == clusters["https://a.example/1"]


def test_exact_copies_of_any_stored_text_share_a_cluster(wh: Warehouse) -> None:
    _load(wh, {"https://a.example/1": _story(1)})
    copy = _texts_article("https://b.example/1", _story(1))
    copy.content_hash = "hash-of-https://a.example/1"
    run_id, _ = _setup_pending(wh, {"g-copy": "https://b.example/1"})
    (page,) = [p for p in wh.pending_pages() if p.url == "https://b.example/1"]
    wh.record_page_results(
        run_id, [PageResult(page=page, fetch=page_fetch(page.url), article=copy)]
    )
    dup = wh.sql("SELECT method FROM article_duplicates")
    assert dup == [("content_hash",)]
    assert wh.sql("SELECT count(*) FROM content_hashes")[0][0] == 1


def test_rebuilt_when_enough_rows_are_newer(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lsh, "REBUILD_MIN_ROWS", 100)
    _load(wh, {f"https://a.example/{i}": _story(i) for i in range(3)})  # 96 band rows
    assert not wh.bands.folder.exists()
    _load(wh, {"https://a.example/9": _story(9)})  # 128 > 100: the write step rebuilds
    assert wh.bands.rows == 128 and wh.stale_band_rows() == 0
    assert not wh.refresh_band_index()  # nothing newer
    _load(wh, {"https://a.example/10": _story(10)})
    assert wh.stale_band_rows() == 32  # 32 < max(100, 0.25 * 128): not yet
    assert wh.refresh_band_index(force=True) and wh.bands.rows == 160


def test_files_reopen_with_the_warehouse(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    with Warehouse(path) as wh:
        _load(wh, {"https://a.example/1": _story(1)})
        wh.rebuild_band_index()
    with Warehouse(path) as wh:
        assert wh.bands.rows == 32 and wh.stale_band_rows() == 0
        clusters = _load(wh, {"https://b.example/1": _edited(1)})
        assert len(set(clusters.values())) == 1


def test_files_of_another_warehouse_are_ignored(tmp_path: Path) -> None:
    with Warehouse(tmp_path / "one.duckdb") as one:
        _load(one, {"https://a.example/1": _story(1)})
        one.rebuild_band_index()
    # A warehouse created afresh under the same name must not trust the old files.
    (tmp_path / "one.duckdb").unlink()
    with Warehouse(tmp_path / "one.duckdb") as fresh:
        assert fresh.bands.rows == 0 and fresh.bands.batch == -1
        clusters = _load(
            fresh, {"https://b.example/1": _edited(1), "https://c.example/2": _story(2)}
        )
        assert len(set(clusters.values())) == 2


def test_files_ahead_of_the_warehouse_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    with Warehouse(path) as wh:
        _load(wh, {"https://a.example/1": _story(1)})
    shutil.copy(path, tmp_path / "backup.duckdb")
    with Warehouse(path) as wh:
        _load(wh, {"https://a.example/2": _story(2)})
        wh.rebuild_band_index()
    # Restore the backup: the files now cover a batch the warehouse never reached.
    shutil.copy(tmp_path / "backup.duckdb", path)
    with Warehouse(path) as wh:
        assert wh.bands.batch == -1
        clusters = _load(wh, {"https://b.example/1": _edited(1)})
        assert clusters["https://b.example/1"] == clusters["https://a.example/1"]


@pytest.mark.parametrize("damage", ["manifest", "keys", "missing"])
def test_damaged_files_are_ignored_and_rebuilt(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "wh.duckdb"
    with Warehouse(path) as wh:
        _load(wh, {"https://a.example/1": _story(1)})
        wh.rebuild_band_index()
        folder = wh.bands.folder
    manifest = json.loads((folder / lsh.MANIFEST).read_text())
    if damage == "manifest":
        (folder / lsh.MANIFEST).write_text("{not json")
    elif damage == "keys":
        (folder / manifest["keys"]).write_bytes(b"garbage")
    else:
        shutil.rmtree(folder)
    with Warehouse(path) as wh:
        assert wh.bands.batch == -1  # everything is read from DuckDB
        clusters = _load(wh, {"https://b.example/1": _edited(1)})
        assert len(set(clusters.values())) == 1
        assert wh.refresh_band_index(force=True) and wh.bands.rows == 64


def test_write_steps_that_skip_migrations_use_the_files(tmp_path: Path) -> None:
    # The flow opens the warehouse once per write step, without migrating (open_step).
    path = tmp_path / "wh.duckdb"
    with Warehouse(path) as wh:
        _load(wh, {"https://a.example/1": _story(1)})
        wh.rebuild_band_index()
    with Warehouse(path, migrate=False) as step:
        assert step.bands.rows == 32 and step.stale_band_rows() == 0
