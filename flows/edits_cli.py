"""`news-ingest revisit` (a pass of edit tracking now) and `news-ingest diff` (an article's
versions, word by word)."""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from typing import Any

from flows.output import report_json
from flows.reports import quiet_task_logs
from pipeline.settings import Settings
from pipeline.store import Warehouse
from pipeline.urls import url_key

REPORT_FORMATS = ("text", "json")
# On a terminal: deleted words red and struck through, added ones green.
RED, GREEN, STRIKE, RESET = "\x1b[31m", "\x1b[32m", "\x1b[9m", "\x1b[0m"
_WORDS = re.compile(r"\s+|[^\s]+")


class DiffError(ValueError):
    """A diff that cannot be made (no such article or version): one line for the user."""


def revisit_line(counts: dict[str, int]) -> str:
    edits = ", ".join(
        f"{k.removeprefix('edits_')} {v}"
        for k, v in sorted(counts.items())
        if k.startswith("edits_")
    )
    return (
        f"run {counts.get('run_id')}: {counts.get('revisits', 0)} pages revisited"
        f" ({counts.get('revisits_unchanged', 0)} unchanged), {counts.get('articles_updated', 0)}"
        f" new versions, {counts.get('articles_removed', 0)} taken down"
        + (f"; edits: {edits}" if edits else "")
    )


def cmd_revisit(args: argparse.Namespace) -> int:
    from flows.revisit_flow import revisit

    settings: Settings = args.settings
    quiet_task_logs(settings.progress)
    settings.archive_path  # noqa: B018 - a lake on PostgreSQL without one: one line, now
    Warehouse(settings.warehouse, wait=settings.wait).close()
    from flows.api import prefect_api

    with prefect_api(args.prefect_server):
        counts = revisit(warehouse=str(settings.warehouse), all_watched=args.all_watched)
    print(report_json(counts) if args.format == "json" else revisit_line(counts))
    return 0


def word_diff(old: str, new: str, colour: bool) -> str:
    """`new` against `old` word by word (whitespace kept as the new text has it): deleted
    words marked `[-…-]` and added ones `{+…+}`, or coloured for a terminal."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    out: list[str] = []

    def deleted(text: str) -> str:
        return f"{RED}{STRIKE}{text}{RESET}" if colour else f"[-{text}-]"

    def added(text: str) -> str:
        return f"{GREEN}{text}{RESET}" if colour else f"{{+{text}+}}"

    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append("".join(b[j1:j2]))
            continue
        if i2 > i1:
            out.append(deleted("".join(a[i1:i2])))
        if j2 > j1:
            out.append(added("".join(b[j1:j2])))
    return "".join(out)


def article_versions(wh: Warehouse, article: str) -> tuple[int, dict[int, tuple[str | None, str]]]:
    """The article named by an id or a URL, and its versions' (title, text) by number."""
    if article.isdigit():
        article_id = int(article)
    else:
        rows = wh.sql("SELECT article_id FROM article_urls WHERE url_key = ?", [url_key(article)])
        if not rows:
            raise DiffError(f"no article with the URL {article}")
        article_id = int(rows[0][0])
    versions = {
        int(v): (title, text)
        for v, title, text in wh.sql(
            "SELECT version, title, text FROM article_versions WHERE article_id = ?"
            " ORDER BY version",
            [article_id],
        )
    }
    if not versions:
        raise DiffError(f"no article {article_id}")
    return article_id, versions


def cmd_diff(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    with Warehouse(settings.warehouse, read_only=True, wait=settings.wait) as wh:
        article_id, versions = article_versions(wh, args.article)
    numbers = sorted(versions)
    if args.versions:
        if len(args.versions) != 2:
            raise DiffError("give two versions (V1 V2), or none for the last two")
        first, second = args.versions
    elif len(numbers) < 2:
        raise DiffError(f"article {article_id} has one version only: nothing to compare")
    else:
        first, second = numbers[-2], numbers[-1]
    for v in (first, second):
        if v not in versions:
            have = ", ".join(str(n) for n in numbers)
            raise DiffError(f"article {article_id} has no version {v} (it has {have})")
    colour = sys.stdout.isatty()
    (old_title, old_text), (new_title, new_text) = versions[first], versions[second]
    print(f"article {article_id}: version {first} → {second}")
    if (old_title or "") != (new_title or ""):
        print("headline: " + word_diff(old_title or "", new_title or "", colour))
    print()
    print(word_diff(old_text, new_text, colour))
    return 0


def add_edit_commands(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """`revisit` and `diff` on the CLI's sub-command set."""
    rev = subparsers.add_parser(
        "revisit",
        parents=list(parents),
        help="revisit the watched articles that are due now, recording their edits",
    )
    rev.add_argument(
        "--all-watched",
        action="store_true",
        help="take every watched article as due, whatever the schedule says",
    )
    rev.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        default="text",
        help="text: one summary line; json: the report as one JSON object",
    )
    rev.set_defaults(handler=cmd_revisit, runs_flows=True)
    diff = subparsers.add_parser(
        "diff", parents=list(parents), help="print a word-level diff of an article's versions"
    )
    diff.add_argument("article", metavar="ARTICLE", help="an article_id or the article's URL")
    diff.add_argument(
        "versions",
        nargs="*",
        type=int,
        metavar="V",
        help="two version numbers (default: the last two)",
    )
    diff.set_defaults(handler=cmd_diff)
