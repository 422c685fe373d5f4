"""The shared page corpus (../shared/corpus beside the checkout): each folder's index.jsonl,
one JSON record per page, and the gzipped HTML it names. Read by the corpus tests and the
evaluation and benchmark scripts, never shipped."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
INDEX = "index.jsonl"


@dataclass(frozen=True)
class CorpusPage:
    """One index record: the labelled facts, and the page they were taken from."""

    folder: Path
    file: str  # the record's "html": the page's file name in `folder`
    url: str
    title: str
    publisher: str
    publishing_date: str | None  # ISO 8601 as labelled; None when the label has none
    body_text: str
    record: dict[str, Any] = field(repr=False)  # the whole record (authors, topics, ...)

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def present(self) -> bool:
        """Whether the page file is there (an index may list pages a copy left out)."""
        return self.path.is_file()

    @property
    def html(self) -> bytes:
        """The page's bytes as served, inflated from its .gz file (read on each access)."""
        raw = self.path.read_bytes()
        return gzip.decompress(raw) if self.file.endswith(".gz") else raw


def corpus_dir(name: str = "pages") -> Path:
    """A folder of the shared corpus ("pages", "pages-extra", "feeds", ...), present or not."""
    return CORPUS_ROOT / name


def _folder(where: str | Path) -> Path:
    return where if isinstance(where, Path) else corpus_dir(where)


def absent_reason(where: str | Path = "pages") -> str | None:
    """Why the pages of `where` (a corpus folder name, or a folder path) cannot be loaded;
    None when its index is there."""
    folder = _folder(where)
    if not (folder / INDEX).is_file():
        return f"no page corpus at {folder} (expected {INDEX} there)"
    return None


def load_pages(where: str | Path = "pages") -> list[CorpusPage]:
    """Every record of the index of `where` (a corpus folder name, or a folder path), in
    index order; FileNotFoundError when there is none (see absent_reason)."""
    folder = _folder(where)
    lines = (folder / INDEX).read_text("utf-8").splitlines()
    return [_page(folder, json.loads(line)) for line in lines if line.strip()]


def _page(folder: Path, record: dict[str, Any]) -> CorpusPage:
    return CorpusPage(
        folder=folder,
        file=str(record["html"]),
        url=str(record.get("url") or ""),
        title=str(record.get("title") or ""),
        publisher=str(record.get("publisher") or ""),
        publishing_date=record.get("publishing_date"),
        body_text=str(record.get("body_text") or ""),
        record=record,
    )
