"""The README stays a short start and the reference in docs/ stays whole: links that lead
somewhere, every column, view and example query described."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.store import Warehouse

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_LINES = 200
DEMO_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/news-ingest demo"
# CI runs this command from the README: it must stay there, word for word.
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
)
# [text](target): the target up to its closing parenthesis (no spaces or nested parentheses).
LINK_RE = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE_RE = re.compile(r"^```.*?^```", re.S | re.M)
HEADING_RE = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.M)


def markdown_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def prose(path: Path) -> str:
    """The file without its fenced code blocks (a `# comment` in one is no heading)."""
    return FENCE_RE.sub("", path.read_text("utf-8"))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_the_readme_is_short_and_keeps_its_two_commands() -> None:
    text = README.read_text("utf-8")
    assert len(text.splitlines()) <= MAX_README_LINES
    assert DEMO_COMMAND in text.splitlines()
    assert TEST_COMMAND in text.splitlines()


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading(path: Path) -> None:
    broken = []
    for target in LINK_RE.findall(prose(path)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif fragment and linked.suffix == ".md":
            anchors = {anchor(h) for h in HEADING_RE.findall(prose(linked))}
            if fragment not in anchors:
                broken.append(f"{target}: no heading #{fragment} in {linked.name}")
    assert not broken, f"broken links in {path.name}: {broken}"


def test_the_links_are_checked_at_all() -> None:
    links = [t for p in markdown_files() for t in LINK_RE.findall(prose(p))]
    assert "docs/cli.md" in links and "settings.md" in links
    assert any("#" in t and not t.startswith("http") for t in links)


def test_anchor_is_the_one_github_makes() -> None:
    assert anchor("Running it again, and crashes") == "running-it-again-and-crashes"
    assert anchor("Backfills and robots.txt") == "backfills-and-robotstxt"
    assert anchor("Past one machine (planned, not built)") == "past-one-machine-planned-not-built"
    assert anchor("`news-ingest` and `prefect.yaml`") == "news-ingest-and-prefectyaml"


def test_every_column_of_every_table_and_view_is_in_the_tables_reference(
    tmp_path: Path,
) -> None:
    reference = (ROOT / "docs" / "tables.md").read_text("utf-8")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _, rows = wh.query(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'main'"
        )
    assert len(rows) > 100
    lines = reference.splitlines()

    def described(table: str, column: str) -> bool:
        """Named on a line that names its table (the table's row, or its sentence)."""
        return any(f"`{table}`" in line and f"`{column}`" in line for line in lines)

    missing = [f"{t}.{c}" for t, c in rows if not described(t, c)]
    assert not missing, f"columns missing from docs/tables.md: {missing}"


def test_every_example_query_is_in_the_tables_reference() -> None:
    reference = (ROOT / "docs" / "tables.md").read_text("utf-8")
    names = sorted(p.stem for p in (ROOT / "warehouse" / "queries").glob("*.sql"))
    assert "articles_per_site_day" in names
    assert not [n for n in names if f"| `{n}` |" not in reference]


def test_every_script_named_in_code_or_docs_exists() -> None:
    """A measurement script named in a docstring or a doc is one a reader can run."""
    named = {
        match
        for path in [*ROOT.glob("pipeline/**/*.py"), *ROOT.glob("flows/**/*.py"),
                     *ROOT.glob("docs/*.md"), ROOT / "README.md"]
        for match in re.findall(r"scripts/\w+\.py", path.read_text(encoding="utf-8"))
    }  # fmt: skip
    assert "scripts/revisit_benchmark.py" in named
    assert sorted(n for n in named if not (ROOT / n).exists()) == []
