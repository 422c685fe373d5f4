"""Authors, categories and tags: their normalised keys, and loading them for new articles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from pipeline.names import name_key
from pipeline.records import Article
from pipeline.store.connection import WarehouseConnection
from pipeline.store.schemas import NAME_LINK_SCHEMA


def norm_names(names: Sequence[str], keep_order: bool = False) -> list[str]:
    """Authors as the loader stores them: whitespace collapsed, first of each name kept."""
    seen: dict[str, str] = {}
    for name in names:
        clean = " ".join(name.split())
        if clean:
            seen.setdefault(clean, clean)
    values = list(seen.values())
    return values if keep_order else sorted(values)


def name_keys(names: Sequence[str]) -> list[str]:
    """Categories or tags as the loader tells them apart: by normalised key."""
    return sorted({name_key(n) for n in names if name_key(n)})


def load_names(
    db: WarehouseConnection, rows: list[dict[str, Any]], articles: list[Article]
) -> None:
    """Authors, categories and tags of new articles: names upserted, then the link rows."""
    for table, id_col, attr, key_fn in (
        ("authors", "author_id", "authors", None),
        ("categories", "category_id", "categories", name_key),
        ("tags", "tag_id", "tags", name_key),
    ):
        links: list[dict[str, Any]] = []
        for row, art in zip(rows, articles, strict=True):
            seen = set()
            for position, name in enumerate(getattr(art, attr)):
                name = " ".join(name.split())
                key = key_fn(name) if key_fn else name
                if not key or key in seen:
                    continue
                seen.add(key)
                links.append(
                    {
                        "article_id": row["article_id"],
                        "name": name,
                        "key": key,
                        "position": position,
                        "ord": len(links),
                    }
                )
        if not links:
            continue
        data = pa.Table.from_pylist(links, schema=NAME_LINK_SCHEMA)
        db.con.register("_names", data)
        link_table = f"article_{table}"
        if key_fn:
            db.insert_new(
                table,
                ["name", "key"],
                "SELECT arg_min(name, ord) AS name, key FROM _names GROUP BY key",
                ["key"],
                id_column=id_col,
            )
            db.insert_new(
                link_table,
                ["article_id", id_col],
                f"SELECT DISTINCT n.article_id, t.{id_col} FROM _names n"
                f" JOIN {table} t ON t.key = n.key",
                ["article_id", id_col],
            )
        else:
            db.insert_new(
                "authors",
                ["name"],
                "SELECT DISTINCT name FROM _names",
                ["name"],
                id_column="author_id",
            )
            db.insert_new(
                "article_authors",
                ["article_id", "author_id", "position"],
                "SELECT n.article_id, a.author_id, min(n.position) AS position FROM _names n"
                " JOIN authors a ON a.name = n.name GROUP BY ALL",
                ["article_id", "author_id"],
            )
        db.con.unregister("_names")
