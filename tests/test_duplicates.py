"""`duplicate_matches`: every dedup layer's catches in one place, through the real write path
into a real DuckDB file. The first sighting of an article is never listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.records import Article
from pipeline.store import PageResult, Warehouse
from pipeline.urls import url_key
from tests.test_store import _story, article, entry, ok_result, page_fetch, scalar

STORY = "https://news.example/2024/story"
COLUMNS = "method, duplicate_of, article_id, feed_id, entry_key, url, matched_key"


@pytest.fixture
def wh(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Warehouse(tmp_path / "wh.duckdb") as warehouse:
        yield warehouse


def _store_pages(wh: Warehouse, run_id: int, found: dict[str, Article]) -> None:
    """Fetch the pending pages whose link is in `found`, each giving that article."""
    pages = [p for p in wh.pending_pages() if p.url in found]
    assert len(pages) == len(found)
    wh.record_page_results(
        run_id,
        [PageResult(page=p, fetch=page_fetch(p.url), article=found[p.url]) for p in pages],
    )


def _text_article(url: str, text: str, content_hash: str, canonical: str | None = None) -> Article:
    art = article(url, canonical)
    art.text, art.content_hash = text, content_hash
    return art


def _article_id(wh: Warehouse, url: str) -> int:
    return int(scalar(wh, "SELECT article_id FROM articles WHERE url = ?", [url]))  # type: ignore[arg-type]


def _matches(wh: Warehouse) -> set[tuple[object, ...]]:
    return set(wh.sql(f"SELECT {COLUMNS} FROM duplicate_matches"))


def test_every_layer_shows_in_duplicate_matches(wh: Warehouse) -> None:
    a, b, c, d = wh.feed_states([f"https://{n}.example/feed" for n in "abcd"])
    run_id = wh.start_run()
    # Feed a lists the story; feed b lists it too, with tracking parameters, in the same batch.
    tracked = STORY + "?utm_source=b&utm_medium=rss"
    wh.record_feed_results(
        run_id,
        [
            ok_result(a, entry("a1", STORY)),
            ok_result(b, entry("b1", tracked)),
        ],
    )
    _store_pages(wh, run_id, {STORY: _text_article(STORY, _story(1), "h-story")})
    story_id = _article_id(wh, STORY)
    # One page for both entries: a's entry is the first sighting, b's the URL-layer duplicate.
    assert _matches(wh) == {
        ("url", story_id, None, b.feed_id, "b1", tracked, url_key(STORY)),
    }

    # A later fetch: a re-lists its item (same guid) under another link; b re-lists its own as
    # it was (not a duplicate: the same listing); c lists the AMP page on the www. host.
    relisted = STORY + "?utm_campaign=tuesday"
    amp = "https://www.news.example/2024/story/amp/"
    counts = wh.record_feed_results(
        run_id,
        [
            ok_result(a, entry("a1", relisted)),
            ok_result(b, entry("b1", tracked)),
            ok_result(c, entry("c1", amp)),
        ],
    )
    assert counts["entries_new"] == 1 and counts["articles_linked"] == 1
    assert wh.pending_pages() == []  # nothing to fetch: every listing was caught

    # Feed d: a partner URL whose page names the story as canonical, an exact copy of the
    # story's text elsewhere, and a lightly edited rewrite of it.
    partner = "https://partner.example/wire/story"
    copy = "https://copy.example/story-copy"
    rewrite = "https://other.example/rewrite"
    edited = _story(1).split()
    for i in (10, 50, 90):
        edited[i] = f"edit{i}"
    wh.record_feed_results(
        run_id,
        [
            ok_result(d, entry("d1", partner), entry("d2", copy), entry("d3", rewrite)),
        ],
    )
    _store_pages(
        wh,
        run_id,
        {
            partner: _text_article(partner, _story(1), "h-story", canonical=STORY),
            copy: _text_article(copy, _story(1), "h-story"),
            rewrite: _text_article(rewrite, " ".join(edited), "h-rewrite"),
        },
    )
    copy_id, rewrite_id = _article_id(wh, copy), _article_id(wh, rewrite)

    assert _matches(wh) == {
        ("url", story_id, None, b.feed_id, "b1", tracked, url_key(STORY)),
        ("guid", story_id, None, a.feed_id, "a1", relisted, "a1"),
        ("url", story_id, None, c.feed_id, "c1", amp, url_key(STORY)),
        ("url", story_id, None, d.feed_id, "d1", partner, url_key(partner)),
        ("content_hash", story_id, copy_id, None, None, copy, None),
        ("near_duplicate", story_id, rewrite_id, None, None, rewrite, None),
    }
    # The first sightings (a's story entry, d's entries of the copy and the rewrite) are not
    # duplicates; every match has a time and the content layers their similarity.
    rows = wh.sql(
        "SELECT method, similarity, containment, detected_at FROM duplicate_matches"
    )
    assert all(r[3] is not None for r in rows)
    by_method = {r[0]: r for r in rows}
    assert by_method["content_hash"][1:3] == (1.0, 1.0)
    assert max(by_method["near_duplicate"][1:3]) >= 0.8
    assert by_method["url"][1] is None and by_method["guid"][1] is None
    assert dict(
        wh.sql("SELECT method, count(*) FROM duplicate_matches GROUP BY method")
    ) == {"url": 3, "guid": 1, "content_hash": 1, "near_duplicate": 1}

    # The same input again adds nothing.
    wh.record_feed_results(
        run_id,
        [
            ok_result(a, entry("a1", relisted)),
            ok_result(b, entry("b1", tracked)),
            ok_result(c, entry("c1", amp)),
        ],
    )
    assert scalar(wh, "SELECT count(*) FROM duplicate_matches") == 6
    assert scalar(wh, "SELECT count(*) FROM entry_matches") == 1


def test_a_single_sighting_is_no_duplicate(wh: Warehouse) -> None:
    (a,) = wh.feed_states(["https://a.example/feed"])
    run_id = wh.start_run()
    for _ in range(2):  # listed twice as it is: one entry, one article, no duplicate
        wh.record_feed_results(run_id, [ok_result(a, entry("a1", STORY))])
    _store_pages(wh, run_id, {STORY: _text_article(STORY, _story(1), "h-story")})
    wh.record_feed_results(run_id, [ok_result(a, entry("a1", STORY))])
    assert scalar(wh, "SELECT count(*) FROM duplicate_matches") == 0
    assert scalar(wh, "SELECT count(*) FROM entry_matches") == 0


def test_link_mode_relisting_is_a_url_match(wh: Warehouse) -> None:
    (a,) = wh.feed_states(["https://a.example/feed"])
    run_id = wh.start_run()
    wh.record_feed_results(run_id, [ok_result(a, entry("g-old", STORY))])
    # The item comes back under a new guid, the old one gone: the feed goes to link mode and
    # the link (with a tracking parameter now) is taken for the stored entry by its URL key.
    relisted = STORY + "?fbclid=zz"
    wh.record_feed_results(run_id, [ok_result(a, entry("g-new", relisted))])
    assert scalar(wh, "SELECT guid_mode FROM feeds") == "link"
    assert wh.sql("SELECT entry_key, link, method FROM entry_matches") == [
        ("g-old", relisted, "url"),
    ]
    # Listed before its page is stored, it shows once the entry has its article.
    assert scalar(wh, "SELECT count(*) FROM duplicate_matches") == 0
    _store_pages(wh, run_id, {STORY: _text_article(STORY, _story(1), "h-story")})
    assert _matches(wh) == {
        ("url", _article_id(wh, STORY), None, a.feed_id, "g-old", relisted, url_key(STORY)),
    }


def test_one_fetch_listing_a_guid_twice_under_two_links(wh: Warehouse) -> None:
    (a,) = wh.feed_states(["https://a.example/feed"])
    run_id = wh.start_run()
    second = STORY + "?utm_medium=social"
    counts = wh.record_feed_results(
        run_id,
        [
            ok_result(a, entry("a1", STORY), entry("a1", second)),
        ],
    )
    assert counts["entries_new"] == 1
    assert scalar(wh, "SELECT guid_mode FROM feeds") == "guid"
    _store_pages(wh, run_id, {STORY: _text_article(STORY, _story(1), "h-story")})
    assert _matches(wh) == {("guid", _article_id(wh, STORY), None, a.feed_id, "a1", second, "a1")}
