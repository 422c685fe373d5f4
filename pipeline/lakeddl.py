"""The warehouse's migrations in the form a DuckLake accepts, and applying them to a lake.

DuckLake refuses PRIMARY KEY, UNIQUE, FOREIGN KEY and CHECK constraints, sequences, indexes and
ON CONFLICT. The numbered migrations (warehouse/migrations/*.sql) are written for a DuckDB file
and keep those. On a lake each statement is rewritten: constraints, indexes and sequences go
(uniqueness is kept by key claims, pipeline/lakeclaims.py; ids come from there too, so
`DEFAULT nextval(...)` goes), NOT NULL and literal defaults stay. A statement whose meaning would
change (an ON CONFLICT, a nextval outside a column default) is refused, not guessed at.

The store applies the migrations (pipeline/store/migrate.py, one implementation for both
backends): it reads the files through `migration_scripts`, and a lake's backend runs each in
the form `lake_migration` gives.
"""

from __future__ import annotations

import re
from importlib import resources

from pipeline.errors import LakeMigrationError

# Statements with no lake form that are dropped whole: the lake has no sequences nor indexes.
_DROPPED = re.compile(
    r"^(CREATE\s+(UNIQUE\s+)?INDEX|DROP\s+INDEX|CREATE\s+SEQUENCE|DROP\s+SEQUENCE|ALTER\s+SEQUENCE)\b",
    re.IGNORECASE,
)
_CREATE_TABLE = re.compile(r"^CREATE\s+(OR\s+REPLACE\s+)?TABLE\s", re.IGNORECASE)
_ADD_COLUMN = re.compile(
    r"^(ALTER\s+TABLE\s+\S+\s+ADD\s+)(COLUMN\s+)?(.*)$", re.IGNORECASE | re.DOTALL
)
_ADD_CONSTRAINT = re.compile(
    r"^ALTER\s+TABLE\s+\S+\s+ADD\s+(CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|CHECK)\b", re.IGNORECASE
)
_TABLE_CONSTRAINT = re.compile(r"^(PRIMARY|UNIQUE|FOREIGN|CHECK|CONSTRAINT)\b", re.IGNORECASE)
_REFUSED = re.compile(
    r"\bON\s+CONFLICT\b|\bINSERT\s+OR\s+(REPLACE|IGNORE)\b|\bRETURNING\b", re.IGNORECASE
)
_NEXTVAL = re.compile(r"\bnextval\s*\(", re.IGNORECASE)


def strip_comments(sql: str) -> str:
    """The script without `--` and `/* */` comments (quoted text left alone)."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif sql[i] in "'\"":
            j = _quoted_end(sql, i)
            out.append(sql[i:j])
            i = j
        else:
            out.append(sql[i])
            i += 1
    return "".join(out)


def _quoted_end(sql: str, i: int) -> int:
    """The index just past the quoted string or identifier opening at i ('' or "" inside)."""
    quote, j = sql[i], i + 1
    while j < len(sql):
        if sql[j] == quote:
            if sql.startswith(quote * 2, j):
                j += 2
                continue
            return j + 1
        j += 1
    return j


def _tokens(sql: str) -> list[str]:
    """Comment-free SQL as words, quoted strings, balanced parenthesised groups, one space for a
    whitespace run, and single characters."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            while i < n and sql[i].isspace():
                i += 1
            out.append(" ")
        elif c in "'\"":
            j = _quoted_end(sql, i)
            out.append(sql[i:j])
            i = j
        elif c == "(":
            depth, j = 0, i
            while j < n:
                if sql[j] in "'\"":
                    j = _quoted_end(sql, j)
                    continue
                depth += {"(": 1, ")": -1}.get(sql[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append(sql[i:j])
            i = j
        elif c.isalnum() or c == "_":
            j = i
            while j < n and (sql[j].isalnum() or sql[j] in "_.$"):
                j += 1
            out.append(sql[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return out


def _split(sql: str, separator: str) -> list[str]:
    """Pieces of comment-free SQL between separators outside parentheses and quotes."""
    pieces: list[str] = [""]
    for token in _tokens(sql):
        if token == separator:
            pieces.append("")
        else:
            pieces[-1] += token
    return [piece.strip() for piece in pieces if piece.strip()]


def split_statements(sql: str) -> list[str]:
    """The statements of a script, comments removed, without their semicolons."""
    return _split(strip_comments(sql), ";")


def _split_top_level(body: str) -> list[str]:
    """A parenthesised list's items, split on commas outside nested parentheses and quotes."""
    return _split(body, ",")


def _column_definition(definition: str, key_columns: frozenset[str] = frozenset()) -> str:
    """A column definition without PRIMARY KEY, UNIQUE, REFERENCES, CHECK, CONSTRAINT names and
    sequence defaults; its type, NOT NULL and other defaults kept. A key column (PRIMARY KEY
    here, or in the table's key) stays NOT NULL, as the key made it."""
    tokens = _tokens(definition.strip())
    words = [i for i, t in enumerate(tokens) if t != " "]  # positions of the non-space tokens
    upper = [tokens[i].upper() for i in words]
    dropped: set[int] = set()  # indexes into words
    is_key = bool(upper) and tokens[words[0]].strip('"').lower() in key_columns
    k = 0
    while k < len(words):
        span = 1
        if upper[k] == "PRIMARY" and upper[k + 1 : k + 2] == ["KEY"]:
            span, is_key = 2, True
        elif upper[k] == "UNIQUE":
            span = 1
        elif upper[k] in ("CONSTRAINT", "CHECK"):
            span = 2  # CONSTRAINT name (its constraint follows) / CHECK (...)
        elif upper[k] == "REFERENCES":
            span = 2  # REFERENCES table [(columns)] [ON DELETE|UPDATE action]...
            if k + span < len(words) and tokens[words[k + span]].startswith("("):
                span += 1
            while upper[k + span : k + span + 2] in (["ON", "DELETE"], ["ON", "UPDATE"]):
                span += 2
                span += 2 if upper[k + span : k + span + 1] in (["SET"], ["NO"]) else 1
        elif upper[k] == "DEFAULT" and upper[k + 1 : k + 2] == ["NEXTVAL"]:
            span = 3  # DEFAULT nextval ('seq')
        else:
            k += 1
            continue
        dropped.update(range(k, k + span))
        k += span
    kept = [tokens[words[k]] for k in range(len(words)) if k not in dropped]
    text = " ".join(kept)
    text = re.sub(r"\s+\[", "[", re.sub(r"\[\s+\]", "[]", text))
    if is_key and not re.search(r"\bNOT\s+NULL\b", text, re.IGNORECASE):
        text += " NOT NULL"
    return text


def _key_columns(constraint: str) -> frozenset[str]:
    """The columns a table-level PRIMARY KEY (a, b) names; none for other constraints."""
    match = re.match(
        r"^(CONSTRAINT\s+\S+\s+)?PRIMARY\s+KEY\s*\((.*)\)$", constraint, re.IGNORECASE | re.DOTALL
    )
    if not match:
        return frozenset()
    return frozenset(c.strip().strip('"').lower() for c in match.group(2).split(","))


def lake_statement(statement: str) -> str | None:
    """One migration statement in its lake form, or None when it has none to run."""
    text = "".join(_tokens(strip_comments(statement))).strip()
    if not text:
        return None
    if _DROPPED.match(text) or _ADD_CONSTRAINT.match(text):
        return None
    if _REFUSED.search(text):
        raise LakeMigrationError(f"no lake form for (ON CONFLICT / RETURNING): {text[:120]}")
    if _CREATE_TABLE.match(text):
        tokens = _tokens(text)
        for index, token in enumerate(tokens):
            if token.upper() == "AS":
                break  # CREATE TABLE ... AS SELECT: no column list, so no constraints either
            if token.startswith("("):
                head = "".join(tokens[:index]).strip()
                tail = "".join(tokens[index + 1 :]).strip()
                items = _split_top_level(token[1:-1])
                keys = frozenset().union(*(_key_columns(item) for item in items))
                items = [
                    _column_definition(item, keys)
                    for item in items
                    if not _TABLE_CONSTRAINT.match(item)
                ]
                text = (
                    f"{head} (\n    " + ",\n    ".join(items) + "\n)" + (f" {tail}" if tail else "")
                )
                break
    else:
        added = _ADD_COLUMN.match(text)
        if added:
            text = added.group(1) + (added.group(2) or "") + _column_definition(added.group(3))
    if _NEXTVAL.search(text):
        raise LakeMigrationError(
            f"no lake form for a nextval outside a column default: {text[:120]}"
        )
    return text


def lake_migration(sql: str) -> list[str]:
    """A migration script as the statements to run on a lake."""
    translated = (lake_statement(s) for s in split_statements(sql))
    return [s for s in translated if s]


def migration_scripts() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every numbered migration shipped in the warehouse package."""
    folder = resources.files("warehouse").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d+)_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    return sorted(found)


def views_script() -> str:
    return resources.files("warehouse").joinpath("views.sql").read_text("utf-8")
