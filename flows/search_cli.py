"""`news-ingest search`: BM25 full-text search over the articles (pipeline.search)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from flows.args import iso_date
from flows.output import FORMAT_HELP, FORMATS
from flows.reports import format_rows
from pipeline.search import HIT_COLUMNS, SearchFilters, attach_index, build_index, search
from pipeline.settings import Settings
from pipeline.store import Warehouse


def cmd_search(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    query = " ".join(args.query).strip()
    if not query and not args.rebuild:
        # A ValueError: the CLI prints it as one line (flows.cli imports this module).
        raise ValueError("search: give a QUERY (or --rebuild to build the index)")
    if args.rebuild or not _index_exists(settings):
        if not args.rebuild:
            print("search: no index yet, building it (once; nightly maintenance rebuilds it)",
                  file=sys.stderr)  # fmt: skip
        # Building writes the index file from the warehouse's own connection; on a DuckDB file
        # that connection must be writable (it waits for a running ingest like any writer).
        read_only = _is_lake(settings)
        with Warehouse(settings.warehouse, read_only=read_only, wait=settings.wait) as wh:
            stats = build_index(wh)
        print(stats.line(), file=sys.stderr if query else sys.stdout)
    if not query:
        return 0
    filters = SearchFilters(
        since=args.since,
        until=args.until,
        site=args.site,
        lang=args.lang,
        tag=args.tag,
        category=args.category,
        limit=args.limit,
        collapse_clusters=args.collapse_clusters,
    )
    with Warehouse(settings.warehouse, read_only=True, wait=settings.wait) as wh:
        hits = search(wh, query, filters)
    names = list(HIT_COLUMNS)
    rows: list[tuple[Any, ...]] = [tuple(h[n] for n in names) for h in hits]
    if args.format == "table":
        names, rows = _table_view(names, rows)
    print(format_rows(names, rows, args.format))
    return 0


def _table_view(
    names: list[str], rows: list[tuple[Any, ...]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The terminal table: a short date, shortened title and snippet, no internal ids."""
    shown = ["score", "published_at", "site", "title", "cluster_size", "url", "snippet"]
    index = {n: names.index(n) for n in shown}
    out = []
    for row in rows:
        values = {n: row[index[n]] for n in shown}
        when = values["published_at"]
        values["published_at"] = when.strftime("%Y-%m-%d") if when is not None else ""
        values["title"] = _clip(values["title"] or "", 60)
        values["snippet"] = _clip(values["snippet"] or "", 100)
        out.append(tuple(values[n] for n in shown))
    return shown, out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _is_lake(settings: Settings) -> bool:
    from pipeline.lake import parse_warehouse_url

    return parse_warehouse_url(settings.warehouse).is_lake


def _index_exists(settings: Settings) -> bool:
    with Warehouse(settings.warehouse, read_only=True, wait=settings.wait) as wh:
        return wh.search_index_path.exists()


def attach_search_index(wh: Warehouse) -> None:
    """`news-ingest sql`: make `search.bm25(q)` callable when an index exists."""
    attach_index(wh, required=False)


def add_search_commands(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """`search` on the CLI's sub-command set."""
    parser = subparsers.add_parser(
        "search",
        parents=list(parents),
        help="full-text search (BM25 over title and text, in every language ingested)",
    )
    parser.add_argument("query", nargs="*", metavar="QUERY", help="words to search for")
    parser.add_argument("--since", type=iso_date, metavar="DATE", help="published on or after")
    parser.add_argument("--until", type=iso_date, metavar="DATE", help="published before")
    parser.add_argument("--site", metavar="NAME", help="a site name or host (www. ignored)")
    parser.add_argument("--lang", metavar="CODE", help="articles in this language (en, de, ...)")
    parser.add_argument("--tag", metavar="TAG", help="articles with this tag")
    parser.add_argument("--category", metavar="NAME", help="articles in this category")
    parser.add_argument("--limit", type=int, default=20, help="hits to show (default 20)")
    parser.add_argument(
        "--collapse-clusters",
        action="store_true",
        help="one hit per story cluster (its best-scoring copy)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild the search index now (nightly maintenance also does)",
    )
    parser.set_defaults(handler=cmd_search)
