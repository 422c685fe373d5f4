"""Turn a fetched page (plus its feed entry) into an Article with per-field provenance.

One module per field (titles, authors, dates, topics, language, body), the sources beside the
page's metadata (sources), the rules they apply as data (rules), and the merger (core)."""

from __future__ import annotations

from pipeline.dates import plausible_datetime
from pipeline.errors import ExtractionError
from pipeline.extract.authors import clean_authors, is_organization, looks_like_person
from pipeline.extract.body import (
    FAST_TEXT_OPTIONS,
    TEXT_OPTIONS,
    TRAFILATURA_OPTIONS,
    html_to_text,
    text_extraction,
    tidy,
)
from pipeline.extract.core import (
    EXTRACTOR_VERSION,
    extract_article,
    fallback_article,
)
from pipeline.extract.decoding import MAX_HTML_BYTES, decode_html
from pipeline.extract.language import detect_language
from pipeline.extract.rules import PRECEDENCE
from pipeline.extract.titles import clean_title, headline_text, strip_site_name
from pipeline.extract.topics import split_tags

# The name of a page date's reader before pipeline.dates held the one date parser.
parse_datetime = plausible_datetime

__all__ = [
    "EXTRACTOR_VERSION",
    "FAST_TEXT_OPTIONS",
    "MAX_HTML_BYTES",
    "PRECEDENCE",
    "TEXT_OPTIONS",
    "TRAFILATURA_OPTIONS",
    "ExtractionError",
    "clean_authors",
    "clean_title",
    "decode_html",
    "detect_language",
    "extract_article",
    "fallback_article",
    "headline_text",
    "html_to_text",
    "is_organization",
    "looks_like_person",
    "parse_datetime",
    "split_tags",
    "strip_site_name",
    "text_extraction",
    "tidy",
]
