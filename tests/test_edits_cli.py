"""flows/edits_cli.py: the word-level diff and the revisit summary line."""

from __future__ import annotations

from flows.edits_cli import GREEN, RED, RESET, STRIKE, revisit_line, word_diff


def test_word_diff_plain_marks_deleted_and_added_words() -> None:
    old = "The council voted on Tuesday to expand the network."
    new = "The council agreed on Tuesday to expand the tram network."
    assert word_diff(old, new, colour=False) == (
        "The council [-voted-]{+agreed+} on Tuesday to expand the {+tram +}network."
    )


def test_word_diff_coloured_for_a_terminal() -> None:
    out = word_diff("a b c", "a x c", colour=True)
    assert out == f"a {RED}{STRIKE}b{RESET}{GREEN}x{RESET} c"


def test_unchanged_text_has_no_marks() -> None:
    assert word_diff("same text", "same text", colour=False) == "same text"


def test_revisit_summary_line() -> None:
    counts = {
        "run_id": 4, "revisits": 9, "revisits_unchanged": 2, "articles_updated": 4,
        "articles_removed": 1, "edits_headline": 1, "edits_stealth": 2,
    }  # fmt: skip
    assert revisit_line(counts) == (
        "run 4: 9 pages revisited (2 unchanged), 4 new versions, 1 taken down;"
        " edits: headline 1, stealth 2"
    )
