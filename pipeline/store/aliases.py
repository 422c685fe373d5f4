"""URL keys that name articles: the keys a page result brings, and what article_urls and
articles already hold for them."""

from __future__ import annotations

import duckdb

from pipeline.records import PageResult
from pipeline.store.connection import marks
from pipeline.urls import url_key


def alias_keys(result: PageResult) -> list[str]:
    """Every URL key that led to a page's article: all of them name it from now on."""
    art = result.article
    assert art is not None
    urls = (result.page.url, result.fetch.final_url, art.url, art.canonical_url)
    return [url_key(u) for u in urls if u] + [result.page.link_key]


def lookup_keys(
    con: duckdb.DuckDBPyConnection, aliases: set[str], article_keys: set[str]
) -> tuple[set[str], dict[str, int]]:
    """Which of `aliases` article_urls holds already, and the articles `article_keys` lead to
    (through article_urls, or an article's own key): one query, as each lookup first loads
    part of the key's index from disk. Parameter lists, not `IN (SELECT unnest(?))`: DuckDB
    then probes the keys' indexes instead of scanning the tables (106 → 21 ms at 1M)."""
    probe = sorted(aliases | article_keys)
    own = sorted(article_keys)
    if not probe:
        return set(), {}
    rows = con.execute(
        f"SELECT url_key, article_id, TRUE FROM article_urls WHERE url_key IN ({marks(probe)})"
        f" UNION ALL SELECT url_key, article_id, FALSE FROM articles"
        f" WHERE url_key IN ({marks(own) if own else 'NULL'})",
        probe + own,
    ).fetchall()
    stored = {k for k, _, alias in rows if alias}
    return stored, {k: int(a) for k, a, _ in rows if k in article_keys}
