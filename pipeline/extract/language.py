"""The article's language: declared by the page, or detected on its text."""

from __future__ import annotations

import re

from pipeline.extract.rules import (
    DETECT_CHARS,
    MIN_DETECT_TEXT,
    MIN_OVERRIDE_TEXT,
    PRECEDENCE,
    TEMPLATE_LANGUAGE,
)
from pipeline.metadata import Candidates

_SUBTAG_SEPARATOR = re.compile(r"[-_]")


def language_code(value: str | None) -> str | None:
    """The primary subtag of a language tag ("de-AT", "pt_BR" -> "de", "pt"), lower-cased;
    None unless it is 2-3 letters."""
    if not value:
        return None
    primary = _SUBTAG_SEPARATOR.split(value.strip())[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def choose_language(
    sources: dict[str, Candidates], text: str
) -> tuple[str | None, str]:
    """The declared language (html lang, JSON-LD inLanguage, og:locale...); detection on the
    text when none is declared, or when "en" is (the default of CMS templates, left on pages in
    every language) and a long text clearly says otherwise."""
    declared, source = None, ""
    for name in PRECEDENCE["language"]:
        cand = sources.get(name)
        value = language_code(cand.language) if cand is not None else None
        if value:
            declared, source = value, name
            break
    if declared not in (None, TEMPLATE_LANGUAGE):
        return declared, source
    detected = detect_language(text)
    if detected is None:
        return declared, source
    if declared is None:
        return detected, "detected"
    if len(text) >= MIN_OVERRIDE_TEXT and detected != declared:
        return detected, "detected"
    return declared, source


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (py3langid), or None for short or missing text."""
    if len(text) < MIN_DETECT_TEXT:
        return None
    try:
        import py3langid  # noqa: PLC0415  # imported on first use: loading the model takes ~0.5 s
    except ImportError:
        return None
    try:
        code, _ = py3langid.classify(text[:DETECT_CHARS])
    except Exception:  # the classifier must never lose an article
        return None
    return code if isinstance(code, str) and code.isalpha() else None
