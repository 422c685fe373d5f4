"""The authors: bylines split into names, people told apart from organisations, chosen by
PRECEDENCE."""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.extract.rules import (
    ADDRESS_MARKERS,
    ADDRESS_PREFIXES,
    AGENCY_CODE,
    AUTHOR_PREFIX,
    AUTHOR_PREFIX_LOWER,
    AUTHOR_ROLE,
    AUTHOR_SPLIT,
    AUTHOR_SUFFIX,
    DOMAIN_LIKE,
    MAX_AUTHOR_LEN,
    MAX_PERSON_LEN,
    MAX_PERSON_WORDS,
    NAME_PARTICLES,
    NAME_WORD_OPENERS,
    NOT_IN_PERSON_NAMES,
    ORG_WORDS,
    PRECEDENCE,
    UI_WORDS,
)
from pipeline.metadata import Candidates
from pipeline.names import clean_text, dedupe, name_key, squeezed

_PARENTHESES = re.compile(r"\s*\([^)]*\)")


def clean_authors(names: list[str]) -> list[str]:
    """Split joined bylines, strip "By" and roles, drop URLs/emails/non-names, de-duplicate."""
    out: list[str] = []
    for raw in names:
        raw = clean_text(raw) or ""
        # "Jane Doe, Senior Reporter" / "By Jane Doe (AFP)": roles and parentheses go first.
        raw = _PARENTHESES.sub("", raw)
        for part in AUTHOR_SPLIT.split(raw):
            part = AUTHOR_PREFIX_LOWER.sub("", AUTHOR_PREFIX.sub("", part.strip()))
            name = clean_text(AUTHOR_SUFFIX.sub("", part))
            if not name or len(name) > MAX_AUTHOR_LEN or AUTHOR_ROLE.fullmatch(name):
                continue
            if any(m in name for m in ADDRESS_MARKERS) or name.lower().startswith(ADDRESS_PREFIXES):
                continue
            if not any(ch.isalpha() for ch in name):
                continue
            parts = name.split("-")
            if " " not in name and len(parts) > 1 and name.islower() and min(map(len, parts)) > 1:
                name = name.replace("-", " ").title()  # a profile slug such as "jane-doe"
            out.append(name)
    return dedupe(out)


def looks_like_person(name: str) -> bool:
    """A name shaped like a person's: 2-5 words (one in a script without case), no digits or
    sentence punctuation, each word capitalised or a particle such as "van", not a UI word."""
    if (len(name) > MAX_PERSON_LEN or any(ch.isdigit() for ch in name)
            or any(c in name for c in NOT_IN_PERSON_NAMES)):
        return False
    words = name.split()
    if not words or len(words) > MAX_PERSON_WORDS:
        return False
    caseless = all(not ch.isupper() and not ch.islower() for ch in name if ch.isalpha())
    if len(words) == 1 and not caseless:
        return False
    capitalised = 0
    for word in words:
        first = word.lstrip(NAME_WORD_OPENERS)[:1]
        if not first or not first.isalpha() or word.casefold() in UI_WORDS:
            return False
        if first.isupper():
            capitalised += 1
        elif first.islower() and word.lower() not in NAME_PARTICLES:
            return False
    return caseless or capitalised >= 1


def is_organization(name: str, site_keys: set[str], organizations: set[str]) -> bool:
    """An author that is really an organisation: the site itself ("mdr.de", "Lesotho Times"),
    a publisher the page names, a news agency code ("AFP"), or a name with an organisation word
    ("Redaktion", "Staff", "News")."""
    if name_key(name) in organizations or _is_site_like(name, site_keys):
        return True
    if AGENCY_CODE.fullmatch(name):
        return True
    return bool(ORG_WORDS.search(name) or DOMAIN_LIKE.search(name))


def _is_site_like(name: str, site_keys: set[str]) -> bool:
    """An author that is really the publication ("mdr.de", "Lesotho Times")."""
    folded, joined = name.casefold(), squeezed(name)
    return any(k in (folded, joined) or joined.startswith(k) for k in site_keys if k)


def choose_authors(
    sources: dict[str, Candidates],
    site_keys: set[str],
    organizations: set[str],
    bylines: Callable[[], Candidates] | None = None,
) -> tuple[list[str], str]:
    """Authors by PRECEDENCE, people only: organisations (the site, publishers, agencies) are
    dropped from lists that also name people, and a source naming only organisations yields to
    a later source naming people. Byline markup must look like names to count at all; it is
    read (by `bylines`) only when the metadata before it names nobody."""
    fallback: tuple[list[str], str] = ([], "")
    for source in PRECEDENCE["authors"]:
        cand = sources.get(source)
        if cand is None and source == "byline" and bylines is not None:
            cand = sources[source] = bylines()
        if cand is None:
            continue
        if source == "byline":
            people = _byline_people(cand.authors, site_keys, organizations)
            if people:
                return people, source
            continue
        names = clean_authors(cand.authors)
        if not names:
            continue
        people = [n for n in names if not is_organization(n, site_keys, organizations)]
        # trafilatura's byline heuristics misread more than they find: its people do not
        # override an organisation the page's metadata names.
        if people and (source != "trafilatura" or not fallback[0]):
            return people, source
        if not fallback[0]:
            fallback = (names, source)
    return fallback


def _byline_people(
    texts: list[str], site_keys: set[str], organizations: set[str]
) -> list[str]:
    """The people of the first byline text that names only person-shaped names."""
    for text in texts:
        names = clean_authors([text])
        if names and all(looks_like_person(n) for n in names):
            people = [n for n in names if not is_organization(n, site_keys, organizations)]
            if people:
                return people
    return []
