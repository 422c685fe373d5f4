"""Whether a reader can read the article: `free`, `metered`, `subscription` or `unknown`, from
the page's JSON-LD (`isAccessibleForFree`, `hasPart` paywalled sections), its meta tags, and a
truncation signal (the text much shorter than the declared articleBody or wordCount, or ending
at a paywall marker)."""

from __future__ import annotations

from typing import Any

from pipeline.extract.rules import (
    ACCESS_CONFIDENCE,
    ACCESS_META,
    PAYWALL_MARKERS,
    PAYWALL_TAIL,
    TRUNCATED_SHARE,
)
from pipeline.metadata import PageMetadata


def read_access(page: PageMetadata | None, text: str) -> tuple[str, float, str]:
    """(state, confidence, what gave it: "jsonld", "meta", "truncated", "marker", or "" when
    unknown)."""
    if page is None:
        return "unknown", 0.0, ""
    declared, source = _declared(page)
    cut = truncated(page.jsonld_article, text)
    marker = ends_at_paywall(text)
    if declared is not None:
        if declared != "free" and cut:
            return declared, ACCESS_CONFIDENCE["declared+truncated"], source
        if declared == "free" and (cut or marker):
            # Declared free yet cut short: a metered page showing its limit.
            return "metered", ACCESS_CONFIDENCE["truncated"], "truncated"
        return declared, ACCESS_CONFIDENCE["declared"], source
    if cut:
        return "subscription", ACCESS_CONFIDENCE["truncated"], "truncated"
    if marker:
        return "subscription", ACCESS_CONFIDENCE["marker"], "marker"
    return "unknown", 0.0, ""


def _declared(page: PageMetadata) -> tuple[str | None, str]:
    article = page.jsonld_article
    free = _boolean(article.get("isAccessibleForFree"))
    parts = article.get("hasPart")
    parts = parts if isinstance(parts, list) else [parts] if isinstance(parts, dict) else []
    paywalled_part = any(
        isinstance(p, dict) and _boolean(p.get("isAccessibleForFree")) is False for p in parts
    )
    meta_state = None
    for key, states in ACCESS_META.items():
        for value in page.meta_tags.get(key, ()):
            meta_state = meta_state or states.get(value.strip().lower())
    if free is False or paywalled_part:
        # The JSON-LD says paywalled; a meta tier may say it is metered.
        return ("metered" if meta_state == "metered" else "subscription"), "jsonld"
    if meta_state is not None:
        return meta_state, "meta"
    if free is True:
        return "free", "jsonld"
    return None, ""


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def truncated(article: dict[str, Any], text: str) -> bool:
    """The page's text is much shorter than the JSON-LD's articleBody or wordCount."""
    body = article.get("articleBody")
    if isinstance(body, str) and len(body) > 2 * PAYWALL_TAIL:
        return len(text) < TRUNCATED_SHARE * len(body)
    words = article.get("wordCount")
    try:
        declared = int(str(words)) if words is not None else 0
    except ValueError:
        declared = 0
    return declared > PAYWALL_TAIL // 3 and len(text.split()) < TRUNCATED_SHARE * declared


def ends_at_paywall(text: str) -> bool:
    """The text's last characters hold a paywall's words ("Subscribe to continue reading")."""
    tail = text[-PAYWALL_TAIL:].casefold()
    return any(marker in tail for marker in PAYWALL_MARKERS)
