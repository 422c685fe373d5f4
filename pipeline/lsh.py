"""The LSH band index: article_bands sorted into memory-mapped files beside the warehouse, so a
near-duplicate probe is a binary search, not a scan of every band row."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import numpy as np
import pyarrow as pa

FORMAT = 1
MANIFEST = "manifest.json"
# The files cover band rows up to a batch number; rows written since are read from DuckDB
# (article_bands.batch only grows, so its zone maps skip the older row groups). The files are
# rebuilt once those newer rows outnumber both of these:
REBUILD_MIN_ROWS = 1_000_000
REBUILD_SHARE = 0.25  # of the rows in the files
FETCH_ROWS = 1_000_000  # rows per Arrow batch while a rebuild streams the sorted keys to disk
REBUILD_MEMORY = "512MB"  # DuckDB's memory limit while it sorts the band rows


def band_keys(bands: np.ndarray, band_hashes: np.ndarray) -> np.ndarray:
    """One int64 per (band, band hash): the hash with its low 5 bits replaced by the band.
    The 5 lost bits only add candidates, and every candidate is verified on its signature."""
    return (band_hashes.astype(np.int64) & np.int64(-32)) | bands.astype(np.int64)


KEY_SQL = "(band_hash & -32) | band::BIGINT"  # band_keys() in SQL


class BandIndex:
    """Sorted band keys with their article ids in `folder` (two .npy files and a manifest),
    plus DuckDB for the band rows newer than the files. A cache: deleting the folder loses
    nothing, the next write step rebuilds it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.batch = -1  # band rows with batch > this come from DuckDB; -1: no files
        self.rows = 0
        self.keys: np.ndarray | None = None
        self.ids: np.ndarray | None = None

    def open(self, con: duckdb.DuckDBPyConnection) -> None:
        """Map the files if they belong to this warehouse and are not ahead of it."""
        self.batch, self.rows, self.keys, self.ids = -1, 0, None, None
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text("utf-8"))
            if manifest.get("format") != FORMAT or manifest.get("warehouse") != _identity(con):
                return
            if int(manifest["batch"]) > _last_batch(con):  # a warehouse restored from a backup
                return
            keys = np.load(self.folder / manifest["keys"], mmap_mode="r")
            ids = np.load(self.folder / manifest["ids"], mmap_mode="r")
        except (OSError, ValueError, KeyError, TypeError, duckdb.Error):
            return
        if len(keys) != len(ids) or len(keys) != int(manifest["rows"]):
            return
        self.batch, self.rows, self.keys, self.ids = int(manifest["batch"]), len(keys), keys, ids

    def candidates(
        self, con: duckdb.DuckDBPyConnection, probe_rows: list[dict[str, Any]]
    ) -> dict[int, set[int]]:
        """For each probing article, the stored articles sharing one of its bands."""
        found: dict[int, set[int]] = {}
        if not probe_rows:
            return found
        probe_ids = np.array([r["article_id"] for r in probe_rows], dtype=np.int64)
        keys = band_keys(
            np.array([r["band"] for r in probe_rows], dtype=np.int64),
            np.array([r["band_hash"] for r in probe_rows], dtype=np.int64),
        )
        if self.keys is not None and self.ids is not None and self.rows:
            lo = np.searchsorted(self.keys, keys, side="left")
            hi = np.searchsorted(self.keys, keys, side="right")
            for i in np.flatnonzero(hi > lo):
                found.setdefault(int(probe_ids[i]), set()).update(
                    int(x) for x in self.ids[lo[i] : hi[i]]
                )
        con.register("_probe_keys", pa.table({"article_id": probe_ids, "band_key": keys}))
        try:
            rows = con.execute(
                f"SELECT DISTINCT p.article_id, b.article_id FROM _probe_keys p"
                f" JOIN article_bands b ON {KEY_SQL} = p.band_key WHERE b.batch > ?",
                [self.batch],
            ).fetchall()
        finally:
            con.unregister("_probe_keys")
        for article_id, candidate in rows:
            found.setdefault(int(article_id), set()).add(int(candidate))
        return found

    def stale_rows(self, con: duckdb.DuckDBPyConnection) -> int:
        """Band rows not in the files yet."""
        rows = con.execute(
            "SELECT count(*) FROM article_bands WHERE batch > ?", [self.batch]
        ).fetchall()
        return int(rows[0][0])

    def due(self, stale_rows: int) -> bool:
        """Whether that many newer rows call for a rebuild."""
        return stale_rows > max(REBUILD_MIN_ROWS, REBUILD_SHARE * self.rows)

    def rebuild(self, con: duckdb.DuckDBPyConnection) -> int:
        """Write every committed band row, sorted by key, to new files; switch the manifest
        over (atomically), then delete the old files. Returns the rows written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        batch = _last_batch(con)
        total = int(
            con.execute("SELECT count(*) FROM article_bands WHERE batch <= ?", [batch]).fetchall()[
                0
            ][0]
        )
        keys_name, ids_name = f"keys-{batch}.npy", f"ids-{batch}.npy"
        keys_tmp, ids_tmp = self.folder / (keys_name + ".tmp"), self.folder / (ids_name + ".tmp")
        # DuckDB sorts within a bounded memory (spilling to disk if it must); Python streams
        # the result into the files through plain writes, so no mapped pages pile up either.
        con.execute(f"SET memory_limit = '{REBUILD_MEMORY}'")
        try:
            reader = con.sql(
                f"SELECT {KEY_SQL} AS band_key, article_id FROM article_bands WHERE batch <= ?"
                " ORDER BY band_key, article_id",
                params=[batch],
            ).to_arrow_reader(FETCH_ROWS)
            with _npy_writer(keys_tmp, total) as keys_out, _npy_writer(ids_tmp, total) as ids_out:
                at = 0
                for chunk in reader:
                    keys_out.write(chunk.column(0).to_numpy().astype(np.int64).tobytes())
                    ids_out.write(chunk.column(1).to_numpy().astype(np.int64).tobytes())
                    at += chunk.num_rows
        finally:
            con.execute("RESET memory_limit")
        if at != total:  # cannot happen with one writer; never switch to a short file
            raise OSError(f"band index rebuild read {at} rows, expected {total}")
        os.replace(keys_tmp, self.folder / keys_name)
        os.replace(ids_tmp, self.folder / ids_name)
        manifest = {
            "format": FORMAT,
            "warehouse": _identity(con),
            "batch": batch,
            "rows": at,
            "keys": keys_name,
            "ids": ids_name,
        }
        tmp = self.folder / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest), "utf-8")
        os.replace(tmp, self.folder / MANIFEST)
        for old in [*self.folder.glob("*.npy"), *self.folder.glob("*.tmp")]:
            if old.name not in (keys_name, ids_name):  # older files, leftovers of a killed run
                old.unlink(missing_ok=True)
        self.open(con)
        return at


@contextmanager
def _npy_writer(path: Path, rows: int) -> Iterator[BinaryIO]:
    """A file holding an int64 .npy array of `rows`, open after its header for raw writes."""
    np.lib.format.open_memmap(path, mode="w+", dtype=np.int64, shape=(rows,)).flush()
    with path.open("r+b") as out:
        out.seek(path.stat().st_size - rows * 8)
        yield out


def _identity(con: duckdb.DuckDBPyConnection) -> str:
    """When this warehouse was created: tells it from another file of the same name."""
    rows = con.execute("SELECT applied_at FROM schema_migrations WHERE version = 1").fetchall()
    return str(rows[0][0]) if rows else ""


def _last_batch(con: duckdb.DuckDBPyConnection) -> int:
    """The highest band batch number stored so far (0 before the first). Read from the rows, not
    from band_batch_seq: DuckDB 1.5.5's duckdb_sequences() reports, in a freshly opened file,
    the next value instead of the last one handed out, which made files claim a batch whose rows
    came later."""
    rows = con.execute("SELECT max(batch) FROM article_bands").fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0
