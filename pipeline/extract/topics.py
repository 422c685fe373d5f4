"""Categories and tags: keyword lists split and cleaned of machine labels, chosen by
PRECEDENCE."""

from __future__ import annotations

from pipeline.extract.rules import (
    CANDIDATE_ATTR,
    CLASSIFICATION_CODE,
    CODE_LIST_SHARE,
    FACET_LABEL,
    MACHINE_LABEL,
    MIN_CODE_LIST,
    MIN_JOINED_WORDS,
    PRECEDENCE,
)
from pipeline.metadata import Candidates
from pipeline.names import clean_text, dedupe, name_key, squeezed


def split_tags(values: list[str] | str | None) -> list[str]:
    """Tags from trafilatura (one comma-joined string, or a list of them): split, trim, unwrap
    facet labels ("Category: Wine" -> "Wine"), drop machine labels (ids, slugs with "_",
    domains, "key: value" pairs), de-dupe by normalised key keeping the first display form."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    parts: list[str] = []
    for value in values:
        if isinstance(value, str):
            parts.extend(value.split(","))
    cleaned: list[str] = []
    for part in parts:
        text = clean_text(part)
        if not text:
            continue
        facet = FACET_LABEL.fullmatch(text)
        if facet:
            text = clean_text(facet.group(1)) or ""
        if text and not MACHINE_LABEL.fullmatch(text):
            cleaned.append(text)
    codes = sum(bool(CLASSIFICATION_CODE.fullmatch(t)) for t in cleaned)
    if len(cleaned) >= MIN_CODE_LIST and codes >= CODE_LIST_SHARE * len(cleaned):
        return []  # a list of internal classification codes, not keywords
    return dedupe(cleaned)


def choose_topics(
    field_name: str, sources: dict[str, Candidates], site_keys: set[str]
) -> tuple[list[str], str]:
    """Categories or tags from the first source offering any, by PRECEDENCE (sources are not
    unioned: each publisher fills several with overlapping, differently curated lists). Items
    naming the site go; a list that is one space-joined string yields to a later source that
    splits the same words."""
    attr = CANDIDATE_ATTR.get(field_name, field_name)
    lists: list[tuple[list[str], str]] = []
    for source in PRECEDENCE[field_name]:
        cand = sources.get(source)
        if cand is None:
            continue
        values = [v for v in split_tags(getattr(cand, attr)) if not _is_site_name(v, site_keys)]
        if values:
            lists.append((values, source))
    if not lists:
        return [], ""
    first, source = lists[0]
    if len(first) == 1 and len(first[0].split()) >= MIN_JOINED_WORDS:
        joined = name_key(first[0])
        for values, other in lists[1:]:
            if len(values) >= 2 and all(name_key(v) in joined for v in values):
                return values, other
    return first, source


def _is_site_name(value: str, site_keys: set[str]) -> bool:
    return value.casefold() in site_keys or squeezed(value) in site_keys
