"""The article's text: trafilatura in fast mode, rerun as the full cascade when the fast result
looks short of it; and plain text of feed HTML."""

from __future__ import annotations

import re
from typing import Any

import trafilatura
from lxml import etree
from lxml import html as lxml_html

# trafilatura.bare_extraction options chosen by scripts/evaluate_extraction.py on the corpus.
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "favor_precision": False,
    "deduplicate": False,
}
# What extract_article asks of trafilatura: the text only. Its metadata (16% of its time per
# page) repeats what read_metadata finds in JSON-LD and meta tags; it is computed apart, and only
# for a page whose own sources leave the date or the title unknown (see
# sources.trafilatura_metadata).
TEXT_OPTIONS: dict[str, Any] = {**TRAFILATURA_OPTIONS, "with_metadata": False}
# The text is extracted in fast mode first, and by the full cascade only when the fast result
# looks short of it (see text_extraction). The gate mirrors trafilatura's own rules for
# consulting readability/justext (external.compare_extraction, _prefer_readability); without
# the trafilatura internals it reads, every page gets the full cascade.
FAST_TEXT_OPTIONS: dict[str, Any] = {**TEXT_OPTIONS, "fast": True}
# Readability replaces trafilatura's text when its own is more than this many times longer.
READABILITY_RATIO = 2
try:
    from trafilatura.external import SANITIZED_XPATH
    from trafilatura.settings import DEFAULT_CONFIG

    # Elements trafilatura calls "unclean" in an extracted body (they send it to justext).
    UNCLEAN_XPATH: etree.XPath | None = etree.XPath(SANITIZED_XPATH)
    # Text shorter than this sends trafilatura to readability/justext (250 by default).
    MIN_EXTRACTED_SIZE: int | None = DEFAULT_CONFIG.getint("DEFAULT", "MIN_EXTRACTED_SIZE")
except Exception:  # noqa: BLE001 - an internal moved or renamed: always run the full cascade
    UNCLEAN_XPATH, MIN_EXTRACTED_SIZE = None, None

BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "section",
     "article", "pre", "ul", "ol", "table", "figure", "figcaption"}
)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n\s*\n+")
_TAG = re.compile(r"<[^>]+>")


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment (feed content), one paragraph per block element."""
    if not fragment or not fragment.strip():
        return ""
    if "<" not in fragment:
        return tidy(fragment)
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return tidy(_TAG.sub(" ", fragment))
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in BLOCK_TAGS:
            el.tail = "\n\n" + (el.tail or "")
    return tidy(root.text_content())


def tidy(text: str) -> str:
    lines = [_SPACE.sub(" ", line).strip() for line in text.replace("\xa0", " ").split("\n")]
    return _LINES.sub("\n\n", "\n".join(lines)).strip()


def text_extraction(tree: Any, url: str) -> tuple[Any, str | None]:
    """trafilatura's Document for the page (None when it finds no text), and why the full
    cascade was run (None when the fast pass was kept).

    The full cascade costs ~42 ms CPU per corpus page, fast mode ~30 ms: fast mode skips the
    comparison with readability and justext, which changes the text of 6 pages of 133. The fast
    result is kept unless it shows a sign that the comparison would have replaced it
    (_full_cascade_reason); the second pass then costs what fast mode saved, on 18 pages of 133,
    and the text is the full cascade's on every corpus page.
    Both passes share `tree`: bare_extraction works on a copy of an element it is given."""
    doc: Any = None
    if UNCLEAN_XPATH is None or MIN_EXTRACTED_SIZE is None:
        reason: str | None = "gate-unavailable"
    else:
        # Counted before extraction: the page's <p> text, roughly what readability would find.
        page_paragraphs = sum(len(p.text_content()) for p in tree.iter("p"))
        try:
            doc = trafilatura.bare_extraction(tree, url=url, **FAST_TEXT_OPTIONS)
            reason = _full_cascade_reason(doc, page_paragraphs, UNCLEAN_XPATH, MIN_EXTRACTED_SIZE)
        except Exception:  # trafilatura bugs on odd trees must not lose the page's metadata
            reason = "fast-pass-failed"
        if reason is None:
            return doc, None
    try:
        doc = trafilatura.bare_extraction(tree, url=url, **TEXT_OPTIONS)
    except Exception:  # as above
        doc = None
    return doc, reason


def _full_cascade_reason(
    doc: Any, page_paragraphs: int, unclean: etree.XPath, min_size: int
) -> str | None:
    """Why a fast-mode result may fall short of the full cascade's, or None when it may not.

    "short", "no-paragraphs" and "unclean" are trafilatura's own reasons for trying readability
    or justext (external.compare_extraction, _prefer_readability); "paragraphs-elsewhere" stands
    for its "readability's text is more than twice as long", the page's <p> text standing in for
    readability's. "one-block" is a body that is a single plain paragraph: that is how stage 3
    of the cascade, the baseline rescue of a main extraction that came up short, returns an
    <article>'s text, a JSON-LD articleBody or a dump of the whole page, where the full cascade
    would have tried readability and justext first (on the corpus, the two TimesOfIndia pages:
    boilerplate kept, body F1 0.97 -> 0.92). The main extractor keeps a page's paragraphs
    apart, and a one-paragraph article costs only a rerun."""
    body = getattr(doc, "body", None)
    text = getattr(doc, "text", None)
    if body is None or not isinstance(text, str) or len(text) < min_size:
        return "short"
    paragraphs = body.findall(".//p")
    if not body.xpath(".//p//text()") or len(body.findall(".//table")) > len(paragraphs):
        return "no-paragraphs"
    if unclean(body):
        return "unclean"
    if page_paragraphs > READABILITY_RATIO * len(text):
        return "paragraphs-elsewhere"
    if len(body) == 1 and body[0].tag == "p" and len(body[0]) == 0:
        return "one-block"
    return None
