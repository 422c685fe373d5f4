"""Keeping this machine's full-text search index fresh from the flows (pipeline.search): the
refresh a run does when it ends, and the nightly rebuild."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pipeline.search import FRESH_MARGIN, build_index, refresh_index
from pipeline.settings import Settings
from pipeline.store import Warehouse

# Pushes arrive one feed at a time and often: they are scored from the warehouse until the
# next polling run folds them in, rather than copying the index for each.
UNREFRESHED_MODES = frozenset({"push"})
STEP_WAIT = 600.0  # as flows/ingest.py's steps: seconds to wait for a reader to let go


def index_margin(wh: Warehouse) -> timedelta:
    """How far before now the index counts as complete. A file's build or refresh holds the
    writer lock, so every article fetched so far is committed; on a lake another writer may
    still commit pages fetched before now."""
    return FRESH_MARGIN if wh.location.is_lake else timedelta(0)


def refresh_search(
    path: Path | str,
    settings: Settings,
    logger: Any,
    run_id: int,
    mode: str,
    article_ids: Sequence[int] = (),
) -> None:
    """Fold what run `run_id` stored (and `article_ids`, rewritten in place) into this
    machine's search index, when there is one. A failure is one warning line: the articles
    are stored, and search scans them until the next refresh or build."""
    if not settings.search_index or mode in UNREFRESHED_MODES:
        return
    try:
        with Warehouse(path, migrate=False, wait=STEP_WAIT) as wh:
            stats = refresh_index(wh, margin=index_margin(wh), article_ids=article_ids)
    except Exception as exc:  # noqa: BLE001 - one line; the run itself succeeded
        logger.warning("run %d: search index not refreshed: %s", run_id, exc)
        return
    if stats is not None:
        logger.info("run %d: %s", run_id, stats.line())


def rebuild_search(wh: Warehouse) -> str:
    """The nightly rebuild (the caller holds a file's writer lock); its one-line report."""
    return build_index(wh, margin=index_margin(wh)).line()
