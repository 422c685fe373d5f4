"""The `news-ingest` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata, resources
from pathlib import Path

from flows.api import ApiError, TemporaryServer, prefect_api
from flows.args import iso_date
from flows.edits_cli import add_edit_commands
from flows.export_cli import add_export_commands
from flows.output import FORMAT_HELP, FORMATS, report_json
from flows.reports import format_rows, quiet_task_logs, reextract_line, summary_line
from flows.search_cli import add_search_commands, attach_search_index
from flows.warehouse_cli import add_warehouse_commands, cmd_sql_at
from pipeline.errors import NewsIngestError
from pipeline.settings import Settings, env_name
from pipeline.store import Warehouse, WarehouseError
from pipeline.websub import push_polling

STARTER_OPML = resources.files("pipeline").joinpath("starter_feeds.opml")
# Options that override a setting: option dest -> Settings field.
SETTING_OPTIONS = {
    "warehouse": "warehouse",
    "wait": "wait",
    "cron": "cron",
    "maintenance_cron": "maintenance_cron",
    "interval": "backfill_interval",
}


class CommandError(NewsIngestError):
    """A one-line reason the command could not run."""


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The environment's settings, overridden by the options given on the command line."""
    given = {field: getattr(args, dest, None) for dest, field in SETTING_OPTIONS.items()}
    return Settings.from_env(**given)


def default_help(field: str, what: str = "") -> str:
    """`(default: $NEWS_INGEST_X or <the model's default>)`, for an option's help."""
    default = Settings.default_of(field)
    shown = f"{default:g}" if isinstance(default, float) else str(default)
    return f"{what} (default: ${env_name(field)} or {shown})".strip()


# -- commands -----------------------------------------------------------------------------------


def check_task_runner(settings: Settings) -> None:
    """NEWS_INGEST_TASK_RUNNER=dask without prefect-dask: one line, before a run starts."""
    from flows.runners import task_runner_for

    try:
        task_runner_for(settings)
    except ImportError as exc:
        raise CommandError(str(exc)) from None


def cmd_run(args: argparse.Namespace) -> int:
    from flows.ingest import ingest

    settings: Settings = args.settings
    quiet_task_logs(settings.progress)
    check_task_runner(settings)
    settings.archive_path  # noqa: B018 - a lake on PostgreSQL without one: one line, now
    # Open once here, so a broken warehouse is one clear line before Prefect starts; a run
    # writing it now is waited for.
    with Warehouse(settings.warehouse, wait=settings.wait) as wh:
        if not args.feed and not wh.feed_states():
            raise CommandError(
                "no feeds registered: add some with `news-ingest feeds add URL`"
                " or pass `--feed URL`"
            )
    mode = "scheduled" if args.due else "manual"
    with prefect_api(args.prefect_server):
        counts = ingest(
            feed_urls=args.feed or None,
            warehouse=str(settings.warehouse),
            mode=mode,
            force=args.force,
        )
    print_report(counts, args.format, summary_line)
    return 0


def print_report(counts: dict[str, int], fmt: str, line: Callable[[dict[str, int]], str]) -> None:
    """A finished run's report: one line for a person, or one JSON object (--format json)."""
    print(report_json(counts) if fmt == "json" else line(counts))


def cmd_reextract(args: argparse.Namespace) -> int:
    from flows.ingest import reextract

    settings: Settings = args.settings
    quiet_task_logs(settings.progress)
    check_task_runner(settings)
    Warehouse(settings.warehouse, read_only=True, wait=settings.wait).close()
    with prefect_api(args.prefect_server):
        counts = reextract(
            warehouse=str(settings.warehouse), since=args.since, until=args.until, site=args.site
        )
    print_report(counts, args.format, reextract_line)
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from flows.ingest import backfill

    if not (args.sitemap or args.feed or args.urls):
        raise CommandError("nothing to backfill from: give --sitemap, --feed or --urls")
    if args.since >= args.until:
        raise CommandError("--since must be before --until")
    for name in args.urls or []:
        if not Path(name).is_file():
            raise CommandError(f"no such URL list: {name}")
    settings: Settings = args.settings
    quiet_task_logs(settings.progress)
    settings.archive_path  # noqa: B018 - a lake on PostgreSQL without one: one line, now
    Warehouse(settings.warehouse, wait=settings.wait).close()
    with prefect_api(args.prefect_server):
        counts = backfill(
            since=args.since,
            until=args.until,
            sitemaps=args.sitemap,
            feeds=args.feed,
            url_files=[str(Path(n).resolve()) for n in args.urls or []],
            warehouse=str(settings.warehouse),
            interval=settings.backfill_interval,
            include_undated=args.include_undated,
        )
    print_report(counts, args.format, summary_line)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from flows.serve import ServeError, serve

    settings: Settings = args.settings
    check_task_runner(settings)
    try:
        serve(settings, settings.cron, settings.maintenance_cron)
    except ServeError as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_feeds_health(args: argparse.Namespace) -> int:
    with Warehouse(args.settings.warehouse, read_only=True, wait=args.settings.wait) as wh:
        health = wh.feed_health(push_polling(args.settings).silent_after)
    names = list(health[0]) if health else ["feed_id", "url", "state"]
    print(format_rows(names, [tuple(h.values()) for h in health], args.format))
    return 0


def cmd_feeds_add(args: argparse.Namespace) -> int:
    for url in args.url:
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"not an http(s) URL: {url!r}")
    with Warehouse(args.settings.warehouse, wait=args.settings.wait) as wh:
        added = wh.add_feeds(args.url)
    print(f"{added} feed(s) added, {len(set(args.url)) - added} already registered")
    return 0


def cmd_feeds_list(args: argparse.Namespace) -> int:
    with Warehouse(args.settings.warehouse, wait=args.settings.wait) as wh:
        names, rows = wh.query(
            "SELECT feed_id, url, title, last_status, last_error, consecutive_failures,"
            " last_fetched_at FROM feeds ORDER BY feed_id"
        )
    print(format_rows(names, rows, args.format))
    return 0


def _import_opml(data: bytes, args: argparse.Namespace) -> int:
    from pipeline.opml import read_opml

    try:
        feeds = read_opml(data)
    except ValueError as exc:
        raise CommandError(f"cannot read OPML: {exc}") from None
    with Warehouse(args.settings.warehouse, wait=args.settings.wait) as wh:
        added = wh.add_feeds([f.url for f in feeds], [f.title for f in feeds])
    print(f"{len(feeds)} feed(s) in the OPML, {added} newly registered")
    return 0


def cmd_feeds_import_opml(args: argparse.Namespace) -> int:
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}") from None
    return _import_opml(data, args)


def cmd_feeds_import_starter(args: argparse.Namespace) -> int:
    return _import_opml(STARTER_OPML.read_bytes(), args)


def cmd_feeds_export_opml(args: argparse.Namespace) -> int:
    from pipeline.opml import OpmlFeed, write_opml

    with Warehouse(args.settings.warehouse, wait=args.settings.wait) as wh:
        feeds = [
            OpmlFeed(url=f["url"], title=f["title"], site_url=f["site_url"])
            for f in wh.list_feeds()
        ]
    data = write_opml(feeds, "news-ingest feeds")
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"{len(feeds)} feed(s) written to {args.output}")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    if getattr(args, "at", None) is not None:  # `query` shares this handler, without --at
        return cmd_sql_at(args)
    with Warehouse(args.settings.warehouse, read_only=True, wait=args.settings.wait) as wh:
        attach_search_index(wh)  # search.bm25('words') in the user's SQL
        try:
            names, rows = wh.query(args.query)
        except duckdb.Error as exc:
            raise CommandError(str(exc).splitlines()[0]) from None
    print(format_rows(names, rows, args.format))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from flows.demo import example_queries

    queries = example_queries()
    if not args.name:
        for name, sql in queries.items():
            print(f"{name}: {sql.splitlines()[0].lstrip('- ')}")
        return 0
    if args.name not in queries:
        raise CommandError(f"no example query {args.name!r}; `news-ingest query` lists them")
    args.query = queries[args.name]
    return cmd_sql(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from flows.demo import run_demo

    return run_demo(args.settings, args.prefect_server)


# -- parser -------------------------------------------------------------------------------------


REPORT_FORMATS = ("text", "json")
REPORT_FORMAT_HELP = "the run's report: a line of text, or one JSON object on stdout"


def package_version() -> str:
    try:
        return metadata.version("news-ingest")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="news-ingest",
        description="Ingest news feeds and their articles into a DuckDB warehouse.",
    )
    parser.add_argument("--version", action="version", version=f"news-ingest {package_version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--warehouse",
        metavar="PATH|URL",
        help=default_help("warehouse", "DuckDB file, or ducklake:postgres:... ducklake:sqlite:..."),
    )
    common.add_argument(
        "--wait",
        metavar="SECONDS",
        type=float,
        help=default_help("wait", "how long to wait while a run holds the warehouse"),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run one ingest now")
    run.add_argument(
        "--feed",
        action="append",
        metavar="URL",
        help="feed to ingest (repeatable; registered if new); default: all feeds",
    )
    run.add_argument(
        "--due",
        action="store_true",
        help="only the feeds whose next fetch time has come (what `serve` runs)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="fetch feeds whose server's Retry-After has not passed too (skipped otherwise)",
    )
    run.add_argument("--format", choices=REPORT_FORMATS, default="text", help=REPORT_FORMAT_HELP)
    run.set_defaults(handler=cmd_run, runs_flows=True)

    back = sub.add_parser(
        "backfill", parents=[common], help="ingest the articles of a past window, politely"
    )
    back.add_argument(
        "--since", type=iso_date, metavar="DATE", required=True, help="window start (ISO 8601)"
    )
    back.add_argument(
        "--until", type=iso_date, metavar="DATE", required=True, help="window end, exclusive"
    )
    back.add_argument("--sitemap", action="append", metavar="URL", help="sitemap or index")
    back.add_argument("--feed", action="append", metavar="URL", help="paged feed (?paged=N)")
    back.add_argument("--urls", action="append", metavar="FILE", help="file of URLs [date]")
    back.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help=default_help("backfill_interval", "seconds between requests to one host")
        + "; robots.txt may ask more",
    )
    back.add_argument(
        "--include-undated", action="store_true", help="also take sitemap URLs with no date"
    )
    back.add_argument("--format", choices=REPORT_FORMATS, default="text", help=REPORT_FORMAT_HELP)
    back.set_defaults(handler=cmd_backfill, runs_flows=True)

    serve = sub.add_parser(
        "serve", parents=[common], help="serve the scheduled ingest and nightly maintenance"
    )
    serve.add_argument("--cron", help=default_help("cron", "ingest schedule"))
    serve.add_argument(
        "--maintenance-cron", help=default_help("maintenance_cron", "maintenance schedule, UTC")
    )
    serve.set_defaults(handler=cmd_serve)

    reex = sub.add_parser(
        "reextract", parents=[common], help="extract stored pages again from the archive, offline"
    )
    reex.add_argument("--since", type=iso_date, metavar="DATE", help="published on or after")
    reex.add_argument("--until", type=iso_date, metavar="DATE", help="published before")
    reex.add_argument("--site", metavar="NAME", help="site name or host")
    reex.add_argument("--format", choices=REPORT_FORMATS, default="text", help=REPORT_FORMAT_HELP)
    reex.set_defaults(handler=cmd_reextract, runs_flows=True)

    feeds = sub.add_parser("feeds", help="manage the feed registry")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    add = feeds_sub.add_parser("add", parents=[common], help="register feeds")
    add.add_argument("url", nargs="+", metavar="URL", help="feed URLs (RSS, Atom, JSON Feed)")
    add.set_defaults(handler=cmd_feeds_add)
    lst = feeds_sub.add_parser("list", parents=[common], help="list feeds and their state")
    lst.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    lst.set_defaults(handler=cmd_feeds_list)
    imp = feeds_sub.add_parser("import-opml", parents=[common], help="register feeds from OPML")
    imp.add_argument("file", metavar="FILE", help="an OPML file to read")
    imp.set_defaults(handler=cmd_feeds_import_opml)
    starter = feeds_sub.add_parser(
        "import-starter",
        parents=[common],
        help="register the shipped starter list of public news feeds",
    )
    starter.set_defaults(handler=cmd_feeds_import_starter)
    exp = feeds_sub.add_parser("export-opml", parents=[common], help="write the feeds as OPML")
    exp.add_argument("--output", "-o", metavar="FILE", help="file to write (default: stdout)")
    exp.set_defaults(handler=cmd_feeds_export_opml)
    health = feeds_sub.add_parser(
        "health", parents=[common], help="each feed's polling state, failing feeds first"
    )
    health.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    health.set_defaults(handler=cmd_feeds_health)

    sql = sub.add_parser("sql", parents=[common], help="run a read-only SQL query")
    sql.add_argument("query", metavar="QUERY", help="one SQL statement (read-only)")
    sql.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    sql.add_argument(
        "--at", metavar="VERSION|TIMESTAMP", help="a lake as it was then (time travel)"
    )
    sql.set_defaults(handler=cmd_sql)

    query = sub.add_parser(
        "query", parents=[common], help="run a shipped example query (list them with no NAME)"
    )
    query.add_argument(
        "name", nargs="?", metavar="NAME", help="the example to run; none lists them"
    )
    query.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    query.set_defaults(handler=cmd_query)

    add_warehouse_commands(sub, [common])
    add_export_commands(sub, [common])
    add_search_commands(sub, [common])
    add_edit_commands(sub, [common])

    demo = sub.add_parser(
        "demo", parents=[common], help="serve a generated news site on 127.0.0.1 and ingest it"
    )
    demo.set_defaults(handler=cmd_demo, runs_flows=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.prefect_server = None
    try:  # every command checks the settings first: a bad one is one line, before any work
        args.settings = settings_from_args(args)
    except ValueError as exc:
        print(f"news-ingest: error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "runs_flows", False) and not os.environ.get("PREFECT_API_URL"):
        # Booted now, it starts while the command imports its flows (see flows/api.py).
        args.prefect_server = TemporaryServer()
        args.prefect_server.start()
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        # `news-ingest sql ... | head`: the reader has what it wanted. Quiet, status 0, and
        # stdout pointed at /dev/null so the interpreter's last flush does not complain.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (CommandError, WarehouseError, ApiError, ValueError) as exc:
        print(f"news-ingest: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("news-ingest: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for the user; details in the debug log
        logging.getLogger("news_ingest").debug("unexpected error", exc_info=True)
        print(f"news-ingest: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.prefect_server is not None:
            args.prefect_server.stop()


if __name__ == "__main__":
    sys.exit(main())
