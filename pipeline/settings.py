"""All of news-ingest's settings in one place, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_WAREHOUSE = Path("warehouse") / "news.duckdb"
TASK_RUNNERS = ("threads", "dask")
USER_AGENT = (
    "news-ingest/0.1 (+https://github.com/news-ingest/news-ingest; feed and article fetcher)"
)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Every knob, with the environment variable that sets it."""

    warehouse: Path = DEFAULT_WAREHOUSE  # NEWS_INGEST_WAREHOUSE
    archive_dir: Path | None = None  # NEWS_INGEST_ARCHIVE (default: <warehouse>.archive/ beside it)
    allow_hosts: tuple[str, ...] = ()  # NEWS_INGEST_ALLOW_HOSTS: hosts, IPs or CIDRs let through
    user_agent: str = USER_AGENT  # NEWS_INGEST_USER_AGENT
    connect_timeout: float = 10.0  # NEWS_INGEST_CONNECT_TIMEOUT (seconds)
    read_timeout: float = 20.0  # NEWS_INGEST_READ_TIMEOUT (seconds between bytes)
    deadline: float = 60.0  # NEWS_INGEST_DEADLINE (seconds for a whole response)
    max_bytes: int = 10 * 1024 * 1024  # NEWS_INGEST_MAX_BYTES (after decompression)
    max_redirects: int = 5  # NEWS_INGEST_MAX_REDIRECTS
    per_host: int = 2  # NEWS_INGEST_PER_HOST (concurrent requests to one host)
    fetch_workers: int = 16  # NEWS_INGEST_FETCH_WORKERS (concurrent requests in all)
    extract_workers: int = field(
        default_factory=lambda: os.cpu_count() or 1
    )  # NEWS_INGEST_EXTRACT_WORKERS
    feed_batch: int = 125  # NEWS_INGEST_FEED_BATCH (feeds per Prefect task)
    page_batch: int = 100  # NEWS_INGEST_PAGE_BATCH (pages per Prefect task)
    max_entries_per_feed: int = 200  # NEWS_INGEST_MAX_ENTRIES (newest entries taken per feed)
    # NEWS_INGEST_TASK_RUNNER: where the fetch and extract tasks run, "threads" (this process,
    # extraction in a local process pool) or "dask" (Dask workers; needs the dask extra)
    task_runner: str = "threads"
    # NEWS_INGEST_DASK_ADDRESS: the Dask scheduler, e.g. tcp://10.0.0.5:8786; empty with
    # task_runner "dask" starts a local Dask cluster for each run (extract_workers processes)
    dask_address: str = ""

    def __post_init__(self) -> None:
        if self.task_runner not in TASK_RUNNERS:
            raise ValueError(
                f"NEWS_INGEST_TASK_RUNNER must be one of {', '.join(TASK_RUNNERS)},"
                f" got {self.task_runner!r}"
            )
        if self.dask_address and self.task_runner != "dask":
            raise ValueError(
                "NEWS_INGEST_DASK_ADDRESS is set but NEWS_INGEST_TASK_RUNNER is not dask:"
                " set NEWS_INGEST_TASK_RUNNER=dask to run on that cluster"
            )

    @property
    def archive_path(self) -> Path:
        if self.archive_dir is not None:
            return self.archive_dir
        return self.warehouse.parent / "archive"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "warehouse": Path(env.get("NEWS_INGEST_WAREHOUSE") or DEFAULT_WAREHOUSE),
            "archive_dir": Path(env["NEWS_INGEST_ARCHIVE"])
            if env.get("NEWS_INGEST_ARCHIVE")
            else None,
            "allow_hosts": tuple(
                h.strip() for h in env.get("NEWS_INGEST_ALLOW_HOSTS", "").split(",") if h.strip()
            ),
            "user_agent": env.get("NEWS_INGEST_USER_AGENT") or USER_AGENT,
            "connect_timeout": _env_float("NEWS_INGEST_CONNECT_TIMEOUT", 10.0),
            "read_timeout": _env_float("NEWS_INGEST_READ_TIMEOUT", 20.0),
            "deadline": _env_float("NEWS_INGEST_DEADLINE", 60.0),
            "max_bytes": _env_int("NEWS_INGEST_MAX_BYTES", 10 * 1024 * 1024),
            "max_redirects": _env_int("NEWS_INGEST_MAX_REDIRECTS", 5),
            "per_host": _env_int("NEWS_INGEST_PER_HOST", 2),
            "fetch_workers": _env_int("NEWS_INGEST_FETCH_WORKERS", 16),
            "extract_workers": _env_int("NEWS_INGEST_EXTRACT_WORKERS", os.cpu_count() or 1),
            "feed_batch": _env_int("NEWS_INGEST_FEED_BATCH", 125),
            "page_batch": _env_int("NEWS_INGEST_PAGE_BATCH", 100),
            "max_entries_per_feed": _env_int("NEWS_INGEST_MAX_ENTRIES", 200),
            "task_runner": (env.get("NEWS_INGEST_TASK_RUNNER") or "threads").strip().lower(),
            "dask_address": (env.get("NEWS_INGEST_DASK_ADDRESS") or "").strip(),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
