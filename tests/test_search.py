"""Full-text search: real corpus pages in every script, ingested by the real flow over loopback,
then searched on a DuckDB file and on lakes (SQLite and PostgreSQL catalogs)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from flows.cli import main as cli_main
from flows.ingest import ingest
from pipeline.corpus import CorpusPage, absent_reason, load_pages
from pipeline.errors import SearchIndexMissing
from pipeline.extract import extract_article
from pipeline.loopback import LoopbackSite
from pipeline.search import (
    SearchFilters,
    attach_index,
    build_index,
    refresh_index,
    search,
    snippet,
)
from pipeline.store import Warehouse
from pipeline.warehouse_ops import copy_warehouse

# One real page per script and language the issue names (found by the extractor's language).
WANTED = ("ru", "el", "ar", "de", "fr", "zh", "ja", "ko", "en")


def our_page(title: str, text: str, lang: str, day: int, tags: tuple[str, ...] = ()) -> bytes:
    """A page of our own writing (stemming and filter cases the corpus cannot pin down)."""
    keywords = f'<meta name="keywords" content="{escape(", ".join(tags))}">' if tags else ""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n"))
    return (
        f'<html lang="{lang}"><head><title>{escape(title)}</title>{keywords}'
        f'<meta property="og:title" content="{escape(title)}">'
        f'<meta property="article:published_time" content="2026-11-{day:02d}T08:00:00Z">'
        f"</head><body><article><h1>{escape(title)}</h1>{paragraphs}</article></body></html>"
    ).encode()


OURS = {
    "/ours/wahl.html": our_page(
        "Die Wahlen in Brandenburg",
        "Bei den Wahlen in Brandenburg stimmten viele Bürger ab. Die Wahlbeteiligung stieg"
        " deutlich, und die Parteien werteten das Ergebnis der Abstimmung aus.\n" * 3,
        "de", 10, ("Politik",),
    ),
    "/ours/vybory.html": our_page(
        "Выборы в городском совете",
        "Жители города пришли на выборы в городской совет. Явка на выборах оказалась"
        " выше, чем ожидали наблюдатели и кандидаты.\n" * 3,
        "ru", 12,
    ),
    "/ours/elections.html": our_page(
        "Élections municipales à Lyon",
        "Les élections municipales ont mobilisé les électeurs de Lyon. Les candidats ont"
        " commenté les résultats du scrutin dimanche soir.\n" * 3,
        "fr", 14, ("Politique",),
    ),
    "/ours/harbour.html": our_page(
        "Harbour bridge reopens after repairs",
        "The harbour bridge reopened on Monday after months of repairs. Commuters crossed"
        " the bridge again, and engineers inspected the cables one last time.\n" * 3,
        "en", 16, ("Transport",),
    ),
    # A syndicated copy of the harbour story: the same story cluster.
    "/wire/harbour.html": our_page(
        "Harbour bridge reopens after repairs",
        "The harbour bridge reopened on Monday after months of repairs. Commuters crossed"
        " the bridge again, and engineers inspected the cables one last time.\n" * 3
        + "Reporting by the wire service.",
        "en", 16,
    ),
}  # fmt: skip


def corpus_choice() -> list[tuple[str, CorpusPage]]:
    for name in ("pages", "pages-extra"):
        if (reason := absent_reason(name)) is not None:
            pytest.skip(f"{reason}: the shared corpus sits beside the checkout only in CI")
    chosen: dict[str, CorpusPage] = {}
    for name in ("pages", "pages-extra"):
        for page in load_pages(name):
            try:
                lang = extract_article(page.html, page.url).language
            except Exception:  # noqa: BLE001 - a page the extractor refuses is not a candidate
                continue
            if lang in WANTED and lang not in chosen:
                chosen[lang] = page
    return sorted(chosen.items())


def feed(base: str, paths: list[str]) -> bytes:
    when = format_datetime(datetime(2026, 11, 20, tzinfo=UTC))
    items = "".join(
        f"<item><title>item {i}</title><link>{base}{p}</link><guid>{base}{p}</guid>"
        f"<pubDate>{when}</pubDate></item>"
        for i, p in enumerate(paths)
    )
    return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


@pytest.fixture(scope="module")
def ingested(
    prefect_server: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A DuckDB file holding the chosen corpus pages and our own pages; language -> URL path of
    the corpus page chosen for it."""
    chosen = corpus_choice()
    folder = tmp_path_factory.mktemp("search")
    db = folder / "news.duckdb"
    with pytest.MonkeyPatch.context() as mp, LoopbackSite() as site:
        mp.setenv("NEWS_INGEST_ALLOW_HOSTS", "127.0.0.1")
        mp.setenv("NEWS_INGEST_ARCHIVE", str(folder / "archive"))
        paths = {}
        for lang, page in chosen:
            path = f"/corpus/{lang}/{Path(page.file).name.removesuffix('.gz')}"
            site.set(path, page.html, "text/html; charset=utf-8")
            paths[lang] = path
        for path, body in OURS.items():
            site.set(path, body, "text/html; charset=utf-8")
        site.set("/feed.xml", feed(site.base_url, [*paths.values(), *OURS]), "application/rss+xml")
        counts = ingest(feed_urls=[site.url("/feed.xml")], warehouse=str(db))
    assert counts["articles_new"] == len(paths) + len(OURS)
    return db, paths


@pytest.fixture
def warehouse(ingested: tuple[Path, dict[str, str]], warehouse_at: Any) -> Any:
    """The ingested warehouse on each backend: the file itself, or copied into a new lake."""
    db, _ = ingested
    if isinstance(warehouse_at, Path):
        return db
    from pipeline.lake import parse_warehouse_url

    copy_warehouse(parse_warehouse_url(str(db)), warehouse_at)
    return warehouse_at


def distinctive_word(texts: dict[int, str], article_id: int) -> str:
    """A word (a two-character run in scripts without spaces) of one article that no other
    article holds: derived from the stored texts, so no page's content is written here."""

    def words(text: str) -> Counter[str]:
        tokens = re.findall(r"[^\W\d_]{6,}", text.lower())
        runs = re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]{2,}", text)
        return Counter(tokens + [r[i : i + 2] for r in runs for i in range(len(r) - 1)])

    others: set[str] = set()
    for other, text in texts.items():
        if other != article_id:
            others |= set(words(text))
    for word, _ in words(texts[article_id]).most_common():
        if word not in others:
            return word
    raise AssertionError(f"article {article_id} shares every word")


def test_each_script_finds_its_own_language(
    warehouse: Any, ingested: tuple[Path, dict[str, str]]
) -> None:
    _, paths = ingested
    with Warehouse(warehouse) as wh:
        build_index(wh)
    with Warehouse(warehouse, read_only=True) as wh:
        rows = wh.sql("SELECT article_id, url, language, title || ' ' || text FROM articles")
        texts = {r[0]: r[3] for r in rows}
        checked = []
        for lang, path in paths.items():
            article_id, _, stored_lang, _ = next(r for r in rows if r[1].endswith(path))
            word = distinctive_word(texts, article_id)
            hits = search(wh, word, SearchFilters(limit=3))
            assert hits and hits[0]["article_id"] == article_id, (lang, word, hits[:1])
            assert hits[0]["language"] == stored_lang == lang
            assert hits[0]["score"] > 0
            checked.append(lang)
    assert set(checked) >= {"ru", "el", "ar", "de", "fr", "zh", "ja"}, checked


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("Wahl", "Die Wahlen in Brandenburg"),  # German stem
        ("выборов", "Выборы в городском совете"),  # Russian, another case
        ("élection", "Élections municipales à Lyon"),  # French, singular
        ("ELECTIONS", "Élections municipales à Lyon"),  # case and accents of the query
        ("bridges repaired", "Harbour bridge reopens after repairs"),
    ],
)
def test_inflected_queries_find_their_articles(
    ingested: tuple[Path, dict[str, str]], query: str, title: str
) -> None:
    db, _ = ingested
    with Warehouse(db) as wh:
        build_index(wh)
        hits = search(wh, query, SearchFilters(limit=5))
    assert hits, query
    assert hits[0]["title"] == title, (query, [h["title"] for h in hits])


def test_filters_clusters_and_snippets(ingested: tuple[Path, dict[str, str]]) -> None:
    db, _ = ingested
    with Warehouse(db) as wh:
        build_index(wh)
        both = search(wh, "harbour bridge", SearchFilters(limit=10))
        harbour = [h for h in both if h["title"].startswith("Harbour")]
        assert len(harbour) == 2 and {h["cluster_size"] for h in harbour} == {2}
        assert harbour[0]["cluster_id"] == harbour[1]["cluster_id"]
        collapsed = search(wh, "harbour bridge", SearchFilters(limit=10, collapse_clusters=True))
        assert [h["cluster_id"] for h in collapsed].count(harbour[0]["cluster_id"]) == 1
        assert "bridge" in harbour[0]["snippet"].lower()
        assert search(wh, "harbour", SearchFilters(lang="de")) == []
        assert search(wh, "quetzalcoatlus", SearchFilters()) == []  # in no article
        assert search(wh, "harbour", SearchFilters(tag="transport"))[0]["title"].startswith(
            "Harbour"
        )
        assert search(wh, "wahlen", SearchFilters(tag="politik"))
        assert search(wh, "wahlen", SearchFilters(tag="transport")) == []
        in_window = SearchFilters(since=datetime(2026, 11, 13, tzinfo=UTC),
                                  until=datetime(2026, 11, 15, tzinfo=UTC))  # fmt: skip
        assert [h["title"] for h in search(wh, "élections", in_window)] == [
            "Élections municipales à Lyon"
        ]
        early = SearchFilters(until=datetime(2026, 11, 11, tzinfo=UTC))
        assert search(wh, "élections", early) == []
        host_hits = search(wh, "bridge", SearchFilters(site="127.0.0.1"))
        assert len(host_hits) == 2


def store_articles(wh: Warehouse, items: list[tuple[str, str]]) -> None:
    """Articles through the store's own write path (feed results, then page results)."""
    from pipeline.records import Article, PageResult
    from pipeline.urls import url_key
    from tests.test_store import entry, ok_result, page_fetch

    (state,) = wh.feed_states(["https://news.example/feed.xml"])
    run_id = wh.start_run()
    links = {title: f"https://news.example/{title}" for title, _ in items}
    wh.record_feed_results(run_id, [ok_result(state, *(entry(t, u) for t, u in links.items()))])
    pages = {p.url: p for p in wh.pending_pages()}
    results = []
    for title, text in items:
        page = pages[links[title]]
        art = Article(
            url=page.url, canonical_url=page.url, url_key=url_key(page.url), title=title,
            text=text, content_hash=f"hash-{title}", extractor_version="test-1",
            provenance={"title": "page"}, language="en",
        )  # fmt: skip
        results.append(PageResult(page=page, fetch=page_fetch(page.url), article=art))
    assert wh.record_page_results(run_id, results)["articles_new"] == len(items)


def test_articles_after_the_build_are_found_and_scored_alike(tmp_path: Path) -> None:
    """The index does not hold an article stored after its build; search scores it from the
    warehouse as it would from the index."""
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        store_articles(wh, [("first", "The lighthouse keeper retired after forty years.")])
        build_index(wh, now=datetime(2020, 1, 1, tzinfo=UTC))  # as if built long ago
        store_articles(wh, [("second", "A lighthouse on the coast was restored this spring.")])
        hits = search(wh, "lighthouse", SearchFilters())
        assert sorted(h["title"] for h in hits) == ["first", "second"]
        fresh_scores = {h["title"]: h["score"] for h in hits}
        build_index(wh)
        rebuilt = {h["title"]: h["score"] for h in search(wh, "lighthouse", SearchFilters())}
    assert rebuilt == pytest.approx(fresh_scores, rel=1e-3)


def test_missing_index_is_one_clear_error(tmp_path: Path) -> None:
    with (
        Warehouse(tmp_path / "wh.duckdb") as wh,
        pytest.raises(SearchIndexMissing, match="--rebuild"),
    ):
        search(wh, "anything", SearchFilters())


def test_command_line_search_and_sql_macro(
    ingested: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = ingested
    assert cli_main(["search", "--warehouse", str(db), "--rebuild"]) == 0
    assert "search index:" in capsys.readouterr().out
    assert cli_main(["search", "--warehouse", str(db), "harbour", "--format", "json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert {"title", "site", "published_at", "url", "score", "snippet", "cluster_id"} <= set(
        hits[0]
    )
    assert cli_main(["search", "--warehouse", str(db), "harbour", "--collapse-clusters"]) == 0
    table = capsys.readouterr().out
    assert "Harbour bridge" in table and "(1 row)" in table
    sql = "SELECT count(*) FROM search.bm25('harbour')"
    assert cli_main(["sql", "--warehouse", str(db), sql, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"count_star()": 2}]


def test_snippet_centres_on_the_first_match() -> None:
    text = "Intro words here. " * 20 + "The harbour bridge reopened on Monday. " + "Tail. " * 40
    cut = snippet(text, "bridge", width=80)
    assert "harbour bridge reopened" in cut and cut.startswith("…") and cut.endswith("…")
    assert snippet("Short text.", "absent") == "Short text."


def index_contents(path: Path) -> dict[str, Any]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return {
            "documents": sorted(con.execute("SELECT * FROM documents").fetchall()),
            "terms": sorted(con.execute("SELECT * FROM terms WHERE df > 0").fetchall()),
            "postings": sorted(con.execute("SELECT * FROM postings").fetchall()),
            "info": con.execute(
                "SELECT max_article_id, documents, round(avg_length, 6) FROM index_info"
            ).fetchall(),
        }


def test_a_refresh_leaves_the_index_a_rebuild_would(warehouse_at: Any) -> None:
    """New articles and articles fetched again are folded in: postings, documents, term counts
    and statistics equal a full rebuild's, and nothing is left for search to scan."""
    with Warehouse(warehouse_at) as wh:
        store_articles(
            wh,
            [
                ("first", "The lighthouse keeper retired after forty years."),
                ("second", "Harbour cranes were repaired over the winter."),
            ],
        )
        assert refresh_index(wh) is None  # no index yet: nothing to refresh
        build_index(wh, margin=timedelta(0))
        assert refresh_index(wh, margin=timedelta(0)) is None  # nothing arrived
        store_articles(wh, [("third", "A lighthouse on the coast was restored this spring.")])
        wh.execute(
            "UPDATE articles SET text = 'Harbour cranes were replaced by electric ones.',"
            " fetched_at = now() WHERE title = 'second'"
        )
        stats = refresh_index(wh, margin=timedelta(0))
        assert stats is not None and (stats.articles, stats.changed) == (2, 1)
        refreshed = index_contents(wh.search_index_path)
        build_index(wh, margin=timedelta(0))
        assert index_contents(wh.search_index_path) == refreshed
        assert [h["title"] for h in search(wh, "electric", SearchFilters())] == ["second"]
        assert search(wh, "winter", SearchFilters()) == []  # the old text is gone
        assert wh.sql(
            "SELECT count(*) FROM articles, search.index_info i"
            " WHERE article_id > i.max_article_id OR fetched_at > i.built_at"
        ) == [(0,)]
        # Rewritten in place with no new fetch (as a reextract does): only named ids are seen.
        wh.execute("UPDATE articles SET text = 'A lighthouse museum opened.' WHERE title = 'first'")
        (first_id,) = wh.sql("SELECT article_id FROM articles WHERE title = 'first'")[0]
        assert refresh_index(wh, margin=timedelta(0)) is None
        stats = refresh_index(wh, margin=timedelta(0), article_ids=[first_id])
        assert stats is not None and (stats.articles, stats.changed) == (1, 1)
        refreshed = index_contents(wh.search_index_path)
        build_index(wh, margin=timedelta(0))
        assert index_contents(wh.search_index_path) == refreshed
        assert [h["title"] for h in search(wh, "museum", SearchFilters())] == ["first"]


def test_an_ingest_run_folds_its_articles_into_the_index(
    prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "news.duckdb"
    monkeypatch.setenv("NEWS_INGEST_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("NEWS_INGEST_ARCHIVE", str(tmp_path / "archive"))
    first, second = "/ours/harbour.html", "/ours/wahl.html"
    with LoopbackSite() as site:
        site.set(first, OURS[first], "text/html; charset=utf-8")
        site.set("/feed.xml", feed(site.base_url, [first]), "application/rss+xml")
        ingest(feed_urls=[site.url("/feed.xml")], warehouse=str(db))
        with Warehouse(db) as wh:
            build_index(wh)
        site.set(second, OURS[second], "text/html; charset=utf-8")
        site.set("/feed.xml", feed(site.base_url, [first, second]), "application/rss+xml")
        assert ingest(feed_urls=[site.url("/feed.xml")], warehouse=str(db))["articles_new"] == 1
    with Warehouse(db, read_only=True) as wh:
        attach_index(wh)
        assert wh.sql("SELECT documents, max_article_id FROM search.index_info") == wh.sql(
            "SELECT count(*), max(article_id) FROM articles"
        )
        assert [h["title"] for h in search(wh, "Wahlen", SearchFilters())] == [
            "Die Wahlen in Brandenburg"
        ]
