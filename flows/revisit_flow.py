"""The `revisit` flow: one pass of edit tracking on its own (`news-ingest revisit`, or a
deployment of its own); the scheduled `ingest` runs the same pass after its feeds."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger

from flows.ingest import recorded_run, report, run_fetcher, write_warehouse
from flows.revisits import track_edits
from flows.runners import SettingsTaskRunner, tasks_run_here
from pipeline.settings import Settings


@flow(name="revisit", persist_result=False, task_runner=SettingsTaskRunner())
def revisit(
    warehouse: str | None = None, all_watched: bool = False, now: datetime | None = None
) -> dict[str, int]:
    """Revisit the watched articles the schedule says are due (every watched one with
    `all_watched`), record new versions, their changes and removals. `now`: the clock the
    schedule reads (tests pass a fake one). Returns the run's counts, edits per kind included."""
    logger = get_run_logger()
    settings = Settings.from_env(warehouse=warehouse or None)
    path = settings.warehouse
    here = tasks_run_here()
    with (
        recorded_run(path, "revisit", settings, logger, pool=here) as (run_id, totals, extractor),
        run_fetcher(settings, here) as fetcher,
    ):
        track_edits(
            path, run_id, settings, fetcher, extractor, totals, write_warehouse,
            all_watched=all_watched, now=now,
        )  # fmt: skip
    report(run_id, "revisit", totals, [])
    return {"run_id": run_id, **totals}
