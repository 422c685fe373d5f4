"""All of news-ingest's settings, defined once: read from NEWS_INGEST_* environment variables,
documented from the same definitions (`python -m pipeline.settings --markdown` writes
docs/settings.md)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pipeline.revisit import DEFAULT_SCHEDULE, Schedule, parse_schedule

ENV_PREFIX = "NEWS_INGEST_"
DEFAULT_WAREHOUSE = Path("warehouse") / "news.duckdb"
LAKE_PREFIX = "ducklake:"  # a warehouse URL naming a DuckLake (pipeline/lake.py)
TASK_RUNNERS = ("threads", "dask")
USER_AGENT = (
    "news-ingest/0.1 (+https://github.com/news-ingest/news-ingest; feed and article fetcher)"
)
DOC_DEFAULT = "doc_default"  # json_schema_extra key: a default that is no constant value


class SettingsError(ValueError):
    """A setting with a bad value; the message is one line naming its environment variable."""


def _cpu_count() -> int:
    return os.cpu_count() or 1


class Settings(BaseSettings):
    """Every knob, each set by its environment variable (NEWS_INGEST_ + the name in capitals,
    unless its alias says otherwise). Keyword arguments override the environment; frozen: use
    `replace()` for a changed copy."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,  # an empty variable means the default
        frozen=True,
        populate_by_name=True,  # aliased fields take their field name as a keyword too
        extra="forbid",
    )

    # A path is a DuckDB file; a `ducklake:` URL is kept as the text it is (a Path would fold
    # the slashes of a libpq string or of `ducklake:sqlite:/x`).
    warehouse: Path | str = Field(
        DEFAULT_WAREHOUSE,
        description="the DuckDB file, or a DuckLake: `ducklake:postgres:<libpq connection"
        " string>`, `ducklake:sqlite:<path>` or `ducklake:<DuckDB catalog path>`, its Parquet"
        " files in `NEWS_INGEST_LAKE_DATA` (a folder or `s3://...`; default for a file catalog:"
        " `<catalog>.files/` beside it)",
    )
    archive_dir: Path | None = Field(
        None,
        validation_alias="NEWS_INGEST_ARCHIVE",
        description="where the WARC files of raw responses go",
        json_schema_extra={
            DOC_DEFAULT: "`archive/` beside the warehouse (a lake's SQLite or DuckDB catalog);"
            " required for a lake on PostgreSQL"
        },
    )
    allow_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="comma-separated host names, IPs or CIDR ranges that may be fetched although"
        " private (loopback, private, link-local, reserved addresses are refused by default,"
        " after DNS resolution and on every redirect hop). Tests and the demo set `127.0.0.1`.",
    )
    user_agent: str = Field(USER_AGENT, description="the User-Agent sent")
    connect_timeout: float = Field(10.0, description="seconds to connect")
    read_timeout: float = Field(20.0, description="seconds of silence allowed while reading")
    deadline: float = Field(60.0, description="seconds for a whole response, however it trickles")
    max_bytes: int = Field(
        10 * 1024 * 1024, description="largest body kept, counted after decompression"
    )
    max_redirects: int = Field(5, description="redirect hops followed")
    per_host: int = Field(2, description="concurrent requests to one host")
    fetch_workers: int = Field(16, description="concurrent requests per batch task")
    extract_workers: int = Field(
        default_factory=_cpu_count,
        description="extraction processes",
        json_schema_extra={DOC_DEFAULT: "number of cores"},
    )
    feed_batch: int = Field(
        125,
        description="feeds per Prefect task (each task run costs Prefect API calls: 500 unchanged"
        " feeds take about 1.2 s less than with 50; results are written 250 feeds at a time)",
    )
    page_batch: int = Field(100, description="pages per Prefect task")
    pages_per_write: int | None = Field(
        None,
        description="pages a write step gathers (whole page batches) before it writes them in one"
        " transaction. On a DuckDB file each step's ~25 statements and commit cost the same for"
        " 100 pages or 300, so 300 by default (the flow's CPU per page fell by a third); on a"
        " lake each batch by default (bigger steps outgrow its inlined rows: the run took 1.8x"
        " as long). Gathered pages' bodies stay in memory until written; a batch arriving 10 s"
        " after the last write is written at once; 1 writes each batch as it completes",
        json_schema_extra={DOC_DEFAULT: "300 on a file, 1 on a lake"},
    )
    max_entries_per_feed: int = Field(
        200,
        validation_alias="NEWS_INGEST_MAX_ENTRIES",
        description="entries taken from one feed per run (the newest)",
    )
    task_runner: str = Field(
        "threads",
        description="where `ingest` and `reextract` run their fetch and extract tasks: `threads`"
        " (this process, extraction in a local process pool) or `dask` (Dask workers; needs"
        " `pip install 'news-ingest[dask]'`)",
    )
    dask_address: str = Field(
        "",
        description="the Dask scheduler for `dask`, such as `tcp://10.0.0.5:8786`; empty starts"
        " a local cluster of `NEWS_INGEST_EXTRACT_WORKERS` processes for each run",
    )
    progress: Literal["auto", "always", "never"] = Field(
        "auto",
        description="`run`, `backfill`, `reextract`, `revisit`: the pages progress bar on"
        " standard error; `auto` draws it in place on a terminal and prints none when piped,"
        " `always` prints a line per batch, `never` none (the run's log in Prefect keeps every"
        " line)",
    )
    wait: float = Field(
        60.0,
        description="seconds a command waits while a run holds the warehouse (`--wait`)",
    )
    cron: str = Field("*/15 * * * *", description="`serve`: the ingest schedule (`--cron`)")
    maintenance_cron: str = Field(
        "30 3 * * *",
        description="`serve`: the nightly maintenance schedule, UTC (`--maintenance-cron`)",
    )
    lake_expire_days: float = Field(
        7.0,
        description="`maintenance` on a lake warehouse: snapshots older than this many days are"
        " expired (time travel reaches back this far), then the files only they needed deleted",
    )
    nightly_export_dir: Path | None = Field(
        None,
        description="`maintenance`: when set, every night the warehouse's tables are exported"
        " here, partitioned by day, as `news-ingest export FOLDER` writes them (a day's files"
        " replaced, so the folder mirrors the warehouse)",
    )
    nightly_export_format: Literal["parquet", "csv", "jsonl"] = Field(
        "parquet", description="`maintenance`: the nightly export's file format"
    )
    search_index: bool = Field(
        True,
        description="keep the full-text search index fresh: `maintenance` rebuilds it every"
        " night, and once it exists every `run`, `backfill` and `reextract` folds its articles"
        " into it (`news-ingest search` also reads what arrived since)",
    )
    revisit_schedule: str = Field(
        DEFAULT_SCHEDULE,
        description="edit tracking: when a published article is fetched again, keyed to the time"
        " since it last changed, as `INTERVAL/UNTIL` tiers (NewsDiffs': every 15 min for 3 h,"
        " hourly to a day, 3-hourly to a week, every 3 days to a month); past the last tier it"
        " is no longer watched, and an edit puts it back on the first tier",
    )
    revisit_budget: int = Field(
        500, description="edit tracking: pages revisited per run at most (the most overdue first)"
    )
    revisit_per_host: int = Field(
        50, description="edit tracking: pages of one host revisited per run at most"
    )
    revisit_in_ingest: bool = Field(
        True,
        description="edit tracking: scheduled ingest runs (`serve`, `run --scheduled`) also"
        " revisit the due articles; `news-ingest revisit` runs a pass on its own",
    )
    backfill_interval: float = Field(
        1.0,
        description="`backfill`: seconds between requests to one host (`--interval`;"
        " robots.txt may ask more)",
    )
    websub_callback_url: str = Field(
        "",
        description="`serve`: the public base URL at which WebSub hubs reach our callback"
        " endpoint (such as `https://ingest.example.org`; callbacks are `<url>/websub/<token>`);"
        " empty turns WebSub off. Behind a reverse proxy: the URL the proxy answers at",
    )
    websub_listen: str = Field(
        "127.0.0.1",
        description="`serve`: the address the WebSub callback endpoint listens on (a reverse"
        " proxy in front forwards to it; `0.0.0.0` to take hubs' requests directly)",
    )
    websub_port: int = Field(8085, description="`serve`: the WebSub callback endpoint's port")
    websub_lease_seconds: int = Field(
        864000, description="the lease asked of hubs (10 days); renewed at half of it"
    )
    websub_poll_interval: float = Field(
        86400.0,
        description="seconds between polls of a feed while its WebSub subscription is healthy"
        " (at most daily by default: pushes bring its news)",
    )
    websub_silent_after: float = Field(
        172800.0,
        description="seconds without a push (or since verification) after which a hub counts as"
        " silent and its feed returns to normal polling",
    )
    websub_max_push_bytes: int = Field(
        5 * 1024 * 1024, description="the largest pushed feed body accepted (413 beyond it)"
    )
    websub_check_interval: float = Field(
        60.0,
        description="`serve`: seconds between looks for feeds to subscribe and leases to renew",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(describe_errors(exc)) from None

    @field_validator("revisit_schedule")
    @classmethod
    def _valid_schedule(cls, value: str) -> str:
        try:
            parse_schedule(value)
        except ValueError as exc:
            raise ValueError(f"{ENV_PREFIX}REVISIT_SCHEDULE: {exc}") from None
        return value

    @property
    def schedule(self) -> Schedule:
        """The revisit schedule, parsed."""
        return parse_schedule(self.revisit_schedule)

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(h.strip() for h in value.split(",") if h.strip())
        return value

    @field_validator("warehouse", mode="before")
    @classmethod
    def _lake_url_or_path(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return text if text.startswith(LAKE_PREFIX) else Path(text)
        return value

    @field_validator("task_runner", "dask_address", mode="before")
    @classmethod
    def _strip(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value.lower() if info.field_name == "task_runner" else value
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _blank_number_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        """A number set to spaces means its default, as an empty variable does."""
        field = cls.model_fields[info.field_name or ""]
        if _number_kind(field.annotation) and isinstance(value, str) and not value.strip():
            return field.get_default(call_default_factory=True)
        return value

    @model_validator(mode="after")
    def _check_task_runner(self) -> Self:
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
        callback = self.websub_callback_url.strip()
        if callback and not callback.lower().startswith(("http://", "https://")):
            raise ValueError(
                "NEWS_INGEST_WEBSUB_CALLBACK_URL must be an http(s) URL such as"
                f" https://ingest.example.org, got {callback!r}"
            )
        return self

    @property
    def is_lake(self) -> bool:
        """Whether the warehouse is a DuckLake (a `ducklake:` URL)."""
        return isinstance(self.warehouse, str)

    @property
    def archive_path(self) -> Path:
        """NEWS_INGEST_ARCHIVE, else `archive/` beside the warehouse file or the lake's file
        catalog; a lake on PostgreSQL has no folder of its own to put it beside."""
        if self.archive_dir is not None:
            return self.archive_dir
        if isinstance(self.warehouse, Path):
            return self.warehouse.parent / "archive"
        rest = self.warehouse[len(LAKE_PREFIX) :]
        if rest.startswith("postgres:"):
            raise SettingsError(
                "NEWS_INGEST_ARCHIVE must be set for a lake on PostgreSQL: the folder (on every"
                " writing machine, shared) where the WARC files of raw responses go"
            )
        catalog = rest.removeprefix("sqlite:").strip()
        return Path(catalog).expanduser().resolve().parent / "archive"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """The environment's settings, with the `overrides` that are not None."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def replace(self, **changes: object) -> Settings:
        """A copy with `changes`, validated as the original was; the environment is not read
        again."""
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise SettingsError(describe_errors(exc)) from None

    @classmethod
    def default_of(cls, name: str) -> Any:
        """A field's default as the model defines it, whatever the environment says."""
        return cls.model_fields[name].get_default(call_default_factory=True)


def env_name(name: str) -> str:
    """The environment variable that sets field `name`."""
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else ENV_PREFIX + name.upper()


def env_names() -> list[str]:
    """Every setting's environment variable, in definition order."""
    return [env_name(name) for name in Settings.model_fields]


def _number_kind(annotation: object) -> str | None:
    """What a number setting must be, in words; None for other settings."""
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a number"
    return None


def describe_errors(exc: ValidationError) -> str:
    """One line for the user: each bad setting's variable, what it must be, what it was."""
    by_key = {key: name for name in Settings.model_fields for key in (name, env_name(name))}
    reasons = []
    for error in exc.errors():
        if error["type"] == "value_error":  # our own checks: their message says it all
            reasons.append(str(error.get("ctx", {}).get("error", error["msg"])))
            continue
        key = str(error["loc"][0]) if error["loc"] else ""
        name = by_key.get(key)
        if name is None:  # a keyword no field has
            reasons.append(f"unknown setting {key!r}")
            continue
        kind = _number_kind(Settings.model_fields[name].annotation)
        must = f"must be {kind}" if kind else error["msg"][:1].lower() + error["msg"][1:]
        reasons.append(f"{env_name(name)} {must}, got {error['input']!r}")
    return "; ".join(reasons)


def _doc_default(name: str, field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and DOC_DEFAULT in extra:
        return str(extra[DOC_DEFAULT])
    default = Settings.default_of(name)
    if default in ((), ""):
        return "empty"
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return f"`{default}`"


def settings_markdown() -> str:
    """docs/settings.md: one row per setting, generated from the model."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated by `python -m pipeline.settings --markdown > docs/settings.md`"
        " from pipeline/settings.py; tests/test_settings.py checks it is current. -->",
        "",
        "Every setting is an environment variable; an empty one means the default. A bad value"
        " stops every command with one line naming the variable. Command-line options, where"
        " there are any, override the environment.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{env_name(name)}` | {_doc_default(name, field)} | {meaning} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["--markdown"]:
        print("usage: python -m pipeline.settings --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(settings_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
