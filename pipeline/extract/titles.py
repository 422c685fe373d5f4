"""The headline: the chosen title without site-name and section decorations, or the other
source's title that is its undecorated, uncut or displayed form."""

from __future__ import annotations

import re

from pipeline.extract.rules import (
    DECLARED_TITLE_SOURCES,
    DECORATION_SEPARATORS,
    ELLIPSES,
    GLUED_SEPARATORS,
    INVISIBLE,
    MAX_DECORATIONS,
    MAX_GLUED_DECORATION,
    MAX_GLUED_WORDS,
    MIN_HEADLINE_MATCH,
    PRECEDENCE,
    QUOTE_FOLD,
    TAIL_NOTE,
    TAIL_SECTION,
    TITLE_SEPARATORS,
)
from pipeline.metadata import Candidates, PageMetadata
from pipeline.names import clean_text, name_key
from pipeline.urls import registrable_host

_WORDS = re.compile(r"\w+")
MAX_WIDGET_HEADING_WORDS = 3  # "Original text", "Latest news": longer <h1>s are headlines
# Runs of letters of scripts written without spaces between words (CJK, Thai, ...).
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")


def headline_text(value: object) -> str | None:
    """A title candidate with whitespace collapsed and invisible characters dropped."""
    if isinstance(value, str):
        value = INVISIBLE.sub("", value)
    return clean_text(value)


def displayed_headline(h1: str | None, title_tag: str | None) -> str | None:
    """The page's first <h1> as a headline candidate, or None when it is a short heading
    (three words at most) sharing no text with the page's <title>: a widget's or the logo's
    heading ("Original text"), not the article's. A longer <h1> is a headline whatever the
    <title> says (that may name only the site)."""
    if not h1 or not title_tag or not _short_heading(h1):
        return h1
    return h1 if shares_text(h1, title_tag) or name_key(h1) in name_key(title_tag) else None


def _short_heading(text: str) -> bool:
    return len(text.split()) <= MAX_WIDGET_HEADING_WORDS and len(_unspaced_pairs(text)) < 6


def shares_text(a: str, b: str) -> bool:
    """Whether two titles share a word, or (scripts written without spaces, where a "word" is
    a whole clause) two characters in a row."""
    if set(_WORDS.findall(a.casefold())) & set(_WORDS.findall(b.casefold())):
        return True
    return bool(_unspaced_pairs(a) & _unspaced_pairs(b))


def _unspaced_pairs(text: str) -> set[str]:
    return {run[i : i + 2] for run in _UNSPACED.findall(text) for i in range(len(run) - 1)}


def site_names_of(url: str, sources: dict[str, Candidates]) -> list[str]:
    """The names the sources give the site, then the URL's registrable host."""
    return [c.site_name for c in sources.values() if c.site_name] + [registrable_host(url)]


def title_tag_stand_in(title_tag: str | None, site_names: list[str]) -> str | None:
    """The <title> as the headline of a page whose <h1> is no headline: with the site's name
    stripped, and never when what is left is a single word or the site's name ("Home",
    "Ledger"): a page's name, not an article's."""
    if not title_tag:
        return None
    stripped = strip_site_name(title_tag, site_names)
    keys = {name_key(s) for s in site_names if s}
    if not stripped or name_key(stripped) in keys:
        return None
    if len(stripped.split()) < 2 and len(_unspaced_pairs(stripped)) < 3:
        return None
    return stripped


def strip_site_name(title: str, site_names: list[str]) -> str:
    """Drop " | Site" / " - Site" suffixes (or "Site | " prefixes) naming the site, repeatedly:
    "Head - Section | Site" loses "| Site" and then "- Section" when the section is listed."""
    keys = {name_key(s) for s in site_names if s and s.strip()}
    if not keys:
        return title
    for _ in range(MAX_DECORATIONS):
        stripped = _strip_once(title, keys)
        if stripped == title:
            break
        title = stripped
    return title


def _strip_once(title: str, keys: set[str]) -> str:
    for sep in TITLE_SEPARATORS:
        if sep not in title:
            continue
        head, _, tail = title.rpartition(sep)
        if head.strip() and _names_site(tail, keys):
            return head.strip()
        first, _, rest = title.partition(sep)
        if rest.strip() and _names_site(first, keys):
            return rest.strip()
    return title


def _names_site(part: str, keys: set[str]) -> bool:
    folded = name_key(part)
    return bool(folded) and any(
        folded == k or folded.replace(" ", "") == k.replace(" ", "") for k in keys
    )


def _within(title: str, other: str) -> bool:
    """`title` is `other` decorated: `other` plus a site-style separator (not ": ", which
    joins a kicker to its headline) and more on either side, or plus a short tail glued on
    with a separator character ("Headline-Politics")."""
    # Curly and straight quotes compared alike (QUOTE_FOLD maps one character to one).
    title, other = title.translate(QUOTE_FOLD), other.translate(QUOTE_FOLD)
    if len(other) < MIN_HEADLINE_MATCH or len(other) >= len(title) or other not in title:
        return False
    before, _, after = title.partition(other)
    before_ok = not before or any(before.endswith(sep) for sep in DECORATION_SEPARATORS)
    after_ok = (
        not after
        or any(after.startswith(sep) for sep in DECORATION_SEPARATORS)
        or _glued_decoration(after)
        or _short_tail(after)
    )
    return before_ok and after_ok


def _short_tail(tail: str) -> bool:
    """`tail` is a parenthesised note or a spaced-colon section of a few words."""
    match = TAIL_NOTE.fullmatch(tail) or TAIL_SECTION.fullmatch(tail)
    return (
        match is not None
        and len(tail) <= MAX_GLUED_DECORATION
        and len(match.group(match.lastgroup or 0).split()) <= MAX_GLUED_WORDS
    )


def _glued_decoration(tail: str) -> bool:
    """`tail` is a separator character glued to the headline, then a few words."""
    return (
        len(tail) >= 2
        and len(tail) <= MAX_GLUED_DECORATION
        and tail[0] in GLUED_SEPARATORS
        and not tail[1].isspace()
        and len(tail[1:].split()) <= MAX_GLUED_WORDS
    )


def _untruncated(title: str, others: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The full form of a headline cut short with an ellipsis ("Bridge reopens aft…"): the
    first other candidate that starts with the cut text and goes on with more words, as
    (source, text); None when the title is not cut or no candidate completes it."""
    stem = next((title[: -len(e)].rstrip() for e in ELLIPSES if title.endswith(e)), None)
    if stem is None or len(stem) < MIN_HEADLINE_MATCH:
        return None
    folded = stem.casefold()
    for source, other in others:
        if other.endswith(ELLIPSES) or other[: len(stem)].casefold() != folded:
            continue
        if any(ch.isalnum() for ch in other[len(stem):]):
            return source, other
    return None


def _displayed_headline(
    title: str, others: list[tuple[str, str]], title_tag: str | None, site_names: list[str]
) -> tuple[str, str] | None:
    """When `title` is only the page's <title> (the SEO title, which JSON-LD often copies) and
    another declared title is the headline the page displays as its <h1>, that one as
    (source, text); None otherwise. The <h1> alone does not count: on many pages it is a
    section heading, a kicker or the site's logo."""
    h1 = next((text for name, text in others if name == "h1"), None)
    if not h1 or not title_tag:
        return None
    key, shown = _title_key(title), _title_key(h1)
    if shown == key or _title_key(strip_site_name(title_tag, site_names)) != key:
        return None
    site_keys = {name_key(s) for s in site_names if s}
    for name, other in others:
        if (name in DECLARED_TITLE_SOURCES and _title_key(other) == shown
                and not _names_site(other, site_keys)):
            return name, other
    return None


def _title_key(text: str) -> str:
    """What two sources' titles share when they are the same headline: `name_key`, with curly
    quotes folded to straight ones."""
    return name_key(text.translate(QUOTE_FOLD))


def clean_title(
    title: str,
    site_names: list[str],
    others: list[tuple[str, str]],
    source: str = "",
    title_tag: str | None = None,
) -> tuple[str, str]:
    """The headline without site-name and section decorations, and the source whose text it
    is. `others` are the page's title candidates as (source, text), site names already
    stripped. A title that is only the <title> yields to another declared title the page
    displays as its <h1>; a title cut short with an ellipsis yields to the candidate that
    completes it; a title that is another candidate plus a separator and more yields to the
    bare one."""
    title = strip_site_name(title, site_names)
    shown = _displayed_headline(title, others, title_tag, site_names)
    if shown is not None:
        source, title = shown
    full = _untruncated(title, others)
    if full is not None:
        source, title = full
    keys = {name_key(s) for s in site_names if s}
    for name, other in others:
        if other and _within(title, other) and not _names_site(other, keys):
            return other, name
    return title, source


def title_candidates(
    page: PageMetadata | None, sources: dict[str, Candidates]
) -> list[tuple[str, str]]:
    """Every title the page offers as (source, text): its <h1> first (the headline as
    displayed), then the sources' titles in PRECEDENCE order."""
    out: list[tuple[str, str]] = []
    h1 = headline_text(page.h1) if page is not None else None
    if h1:
        out.append(("h1", h1))
    for name in PRECEDENCE["title"]:
        cand = sources.get(name)
        # The <title> is no candidate beside the others: it is their decorated form.
        text = (
            headline_text(cand.title)
            if cand is not None and name not in ("h1", "title-tag")
            else None
        )
        if text:
            out.append((name, text))
    return out


def headline(
    title: str,
    source: str,
    url: str,
    page: PageMetadata | None,
    sources: dict[str, Candidates],
    categories: list[str],
) -> tuple[str, str]:
    """The chosen `title` (from `source`) cleaned by `clean_title` against the site's names
    (the sources' site names, the URL's host, the article's categories) and the page's other
    titles, as (headline, source whose text it is)."""
    sites_only = site_names_of(url, sources)
    site_names = [*sites_only, *categories]
    others = [(name, strip_site_name(t, site_names)) for name, t in title_candidates(page, sources)]
    cleaned, cleaned_source = clean_title(
        title, site_names, others, source,
        headline_text(page.title_tag) if page is not None else None,
    )
    h1 = headline_text(page.h1) if page is not None else None
    if h1 and h1.isupper() and not cleaned.isupper():
        h1 = None  # a heading set in capitals by its style sheet's author, not the headline's case
    if h1 and h1.translate(QUOTE_FOLD) != cleaned.translate(QUOTE_FOLD) and _title_key(h1) in (
        _title_key(cleaned), _title_key(strip_site_name(title, sites_only))
    ):
        # The headline as the page displays it: its case, and a section kicker it shows ("Box
        # Office: ...") kept. Quotes alone change nothing: either form is the same headline.
        return h1, "h1"
    return cleaned, cleaned_source
