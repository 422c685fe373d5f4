"""Where a flow's tasks run: threads in the flow's process, or Dask workers, as
NEWS_INGEST_TASK_RUNNER says when each flow run starts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, PrefectFutureList
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import Task
from prefect.utilities.annotations import quote

from pipeline.settings import Settings

CONCURRENT_BATCHES = 4  # batch tasks in flight; each fetches with its own thread pool
DASK_MISSING = "NEWS_INGEST_TASK_RUNNER=dask needs prefect-dask: pip install 'news-ingest[dask]'"

AnyRunner = TaskRunner[Any]  # a runner of any future type (TaskRunner is invariant in it)


def thread_runner(max_workers: int = CONCURRENT_BATCHES) -> AnyRunner:
    """`max_workers` threads in this process."""
    return ThreadPoolTaskRunner[Any](max_workers=max_workers)


def task_runner_for(settings: Settings, max_workers: int = CONCURRENT_BATCHES) -> AnyRunner:
    """The task runner `settings` ask for: threads here, a Dask scheduler at dask_address, or a
    local Dask cluster of extract_workers single-threaded processes started for the run."""
    if settings.task_runner != "dask":
        return thread_runner(max_workers)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ImportError(DASK_MISSING) from None
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    workers = max(1, settings.extract_workers)
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True}
    )


class SettingsTaskRunner(TaskRunner[PrefectFuture[Any]]):
    """Runs tasks on the runner NEWS_INGEST_TASK_RUNNER names, chosen as each flow run starts,
    so `news-ingest run`, `serve` and work-pool deployments all honour the setting."""

    def __init__(self, max_workers: int = CONCURRENT_BATCHES) -> None:
        super().__init__()
        self.max_workers = max_workers
        self.chosen: AnyRunner | None = None
        self.problem: Exception | None = None

    def duplicate(self) -> Self:
        return type(self)(self.max_workers)

    def __enter__(self) -> Self:
        try:
            chosen = task_runner_for(Settings.from_env(), self.max_workers)
        except (ImportError, ValueError) as exc:
            # Raised from the flow body instead (tasks_run_here), where Prefect records the
            # run as failed; raised here, the run would be left "Running" for ever.
            self.problem = exc
        else:
            chosen.__enter__()
            self.chosen = chosen
        super().__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            if self.chosen is not None:
                self.chosen.__exit__(*exc_info)
        finally:
            super().__exit__(*exc_info)

    def runner(self) -> AnyRunner:
        if self.problem is not None:
            raise self.problem
        if self.chosen is None:
            raise RuntimeError("The task runner must be started before submitting work.")
        return self.chosen

    def submit(
        self,
        task: Task[Any, Any],
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
        dependencies: dict[str, Any] | None = None,
    ) -> PrefectFuture[Any]:
        return self.runner().submit(task, parameters, wait_for, dependencies)

    def map(
        self,
        task: Task[Any, Any],
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
    ) -> PrefectFutureList[PrefectFuture[Any]]:
        return self.runner().map(task, parameters, wait_for)


def tasks_run_here() -> bool:
    """Whether this flow run's tasks run in its own process (threads), where they can share
    its Fetcher and extraction pool; on Dask workers, each task builds its own."""
    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    if isinstance(runner, SettingsTaskRunner):
        runner = runner.runner()
    return runner is None or isinstance(runner, ThreadPoolTaskRunner)


def batch_arg(batch: list[Any]) -> Any:
    """A batch as a task argument: quoted, so Prefect does not walk it, for tasks run here;
    bare for Dask, whose argument packing turns a quote into a plain tuple (prefect-dask#43)."""
    return quote(batch) if tasks_run_here() else batch


def release(future: PrefectFuture[Any]) -> None:
    """Let the Dask worker holding a written batch's result drop it now rather than when the run
    ends (the futures stay referenced till then); a thread's future has nothing to release."""
    drop = getattr(getattr(future, "wrapped_future", None), "release", None)
    if callable(drop):
        drop()
