"""The authors: bylines split into names, people told apart from organisations, chosen by
PRECEDENCE."""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.extract.rules import (
    ADDRESS_MARKERS,
    ADDRESS_PREFIXES,
    AGENCY_CODE,
    AGREEMENT_BONUS,
    AUTHOR_CONJUNCTION_SPLIT,
    AUTHOR_PREFIX,
    AUTHOR_PREFIX_LOWER,
    AUTHOR_ROLE,
    AUTHOR_SOURCE_TRUST,
    AUTHOR_SPLIT,
    AUTHOR_SUFFIX,
    BYLINE_TRAILER,
    CJK_PREFIX,
    CREDIT,
    DATELINE_PLACES,
    DOMAIN_LIKE,
    DOUBLED_PREFIX,
    FAMILY_FIRST,
    GLUED_PREFIX,
    GLUED_TAIL,
    MAX_AUTHOR_LEN,
    MAX_PERSON_LEN,
    MAX_PERSON_WORDS,
    MIN_AUTHOR_CONFIDENCE,
    MIN_NAME_WORDS,
    MIN_WORDS_AROUND_CONJUNCTION,
    NAME_PARTICLES,
    NAME_WORD_OPENERS,
    NOT_IN_PERSON_NAMES,
    ORG_WORDS,
    PRECEDENCE,
    ROLE_PHRASE,
    SPONSOR,
    UI_WORDS,
    VISIBLE_TEXT_SOURCES,
)
from pipeline.metadata import Candidates
from pipeline.names import clean_text, dedupe, name_key, squeezed

_PARENTHESES = re.compile(r"\s*\([^)]*\)")
_URLS = re.compile(r"\S+://\S+")
_EDGE_PUNCTUATION = " ·•-–—|,:;/"


def clean_authors(names: list[str], *, visible_text: bool = False) -> list[str]:
    """Split joined bylines, strip "By"/"Von"/"Par" and roles, drop URLs, e-mails, sponsors,
    credits and place names, de-duplicate. `visible_text` names read from page text rather
    than declared as metadata: those must not hold digits either ("Updated Oct 9")."""
    out: list[str] = []
    for raw in names:
        raw = clean_text(raw) or ""
        # "Jane Doe, Senior Reporter" / "By Jane Doe (AFP)": roles and parentheses go first.
        raw = _URLS.sub("", _PARENTHESES.sub("", raw))
        trailer = BYLINE_TRAILER.search(raw)
        if trailer:
            raw = raw[: trailer.start()]
        family_first = FAMILY_FIRST.fullmatch(raw)
        if family_first:
            raw = f"{family_first.group(2)} {family_first.group(1)}"
        for part in _byline_parts(raw):
            name = _clean_name(part)
            if name is None or (visible_text and any(ch.isdigit() for ch in name)):
                continue
            parts = name.split("-")
            if " " not in name and len(parts) > 1 and name.islower() and min(map(len, parts)) > 1:
                name = name.replace("-", " ").title()  # a profile slug such as "jane-doe"
            out.append(name)
    return dedupe(out)


def _byline_parts(byline: str) -> list[str]:
    """A byline cut at separators, then at a localised "and" when every side is a full name
    ("Anna Schmidt und Max Weber"; "RT en Español" stays whole)."""
    parts: list[str] = []
    for part in AUTHOR_SPLIT.split(_strip_prefix(byline)):
        pieces = AUTHOR_CONJUNCTION_SPLIT.split(_strip_prefix(part))
        if len(pieces) > 1 and all(
            len(p.split()) >= MIN_WORDS_AROUND_CONJUNCTION for p in pieces
        ):
            parts.extend(pieces)
        else:
            parts.append(part)
    return parts


def _strip_prefix(text: str) -> str:
    text = GLUED_PREFIX.sub("", DOUBLED_PREFIX.sub("", text.strip(_EDGE_PUNCTUATION)))
    text = AUTHOR_PREFIX.sub("", text)
    return CJK_PREFIX.sub("", AUTHOR_PREFIX_LOWER.sub("", text))


def _clean_name(part: str) -> str | None:
    """One name of a byline with its label, role, glued buttons and dateline cut off; None
    when what is left is not a name (a role, an address, a sponsor, a credit, a place)."""
    name = _strip_prefix(part)
    glued = GLUED_TAIL.search(name)
    if glued and glued.start() > 0:
        name = name[: glued.start()]
    name = clean_text(AUTHOR_SUFFIX.sub("", name).strip(_EDGE_PUNCTUATION)) or ""
    name = _cut_tail(name)
    if not name or len(name) > MAX_AUTHOR_LEN or AUTHOR_ROLE.fullmatch(name):
        return None
    if ROLE_PHRASE.fullmatch(name) or SPONSOR.search(name) or CREDIT.search(name):
        return None
    if any(m in name for m in ADDRESS_MARKERS) or name.lower().startswith(ADDRESS_PREFIXES):
        return None
    folded = name.casefold()
    if folded in DATELINE_PLACES or all(w in UI_WORDS for w in folded.split()):
        return None
    if not any(ch.isalpha() for ch in name):
        return None
    return name


def _cut_tail(name: str) -> str:
    """A full name followed by a role phrase, an all-caps site name or a dateline city loses
    what follows it ("Sam Stein Senior Politics Editor", "Meg Wagner NEW YORK DAILY NEWS",
    "Jonathan Harding Houston")."""
    words = name.split()
    for i in range(MIN_NAME_WORDS, len(words)):
        tail = words[i:]
        head = words[:i]
        if ROLE_PHRASE.fullmatch(" ".join(tail)):
            return " ".join(head)
        caps = [w for w in tail if any(ch.isalpha() for ch in w)]
        all_caps = len(caps) >= MIN_NAME_WORDS and all(w.isupper() and len(w) > 1 for w in caps)
        if all_caps and not all(w.isupper() for w in head):
            return " ".join(head)
        if " ".join(tail).casefold() in DATELINE_PLACES:
            return " ".join(head)
    return name


def looks_like_person(name: str) -> bool:
    """A name shaped like a person's: 2-5 words (one in a script without case), no digits or
    sentence punctuation, each word capitalised or a particle such as "van", not a UI word."""
    if (len(name) > MAX_PERSON_LEN or any(ch.isdigit() for ch in name)
            or any(c in name for c in NOT_IN_PERSON_NAMES)):
        return False
    # A spaced hyphen joins a double family name ("Katarzyna Kapusta - Gruchlik").
    words = [w for w in name.split() if w not in ("-", "–")]
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
) -> tuple[list[str], str, float]:
    """Authors by PRECEDENCE, people only, with a confidence: the source's trust plus the
    agreement of the other sources. Organisations (the site, publishers, agencies) are dropped
    from lists that also name people, and a source naming only organisations yields to a later
    source naming people. Byline markup must look like names to count at all; it is read (by
    `bylines`) only when the metadata before it names nobody. A weak choice that another
    source contradicts gives no author rather than a wrong one."""
    offered: dict[str, list[str]] = {}
    for source in PRECEDENCE["authors"]:
        cand = sources.get(source)
        if cand is not None and source != "byline":
            offered[source] = clean_authors(
                cand.authors, visible_text=source in VISIBLE_TEXT_SOURCES
            )
    names, source = _by_precedence(sources, offered, site_keys, organizations, bylines)
    # Only people count for or against agreement: organisations, and text read off the page
    # that is not shaped like a name ("Twitter Facebook"), are no rival byline.
    offered = {
        src: [n for n in people if not is_organization(n, site_keys, organizations)
              and (src not in VISIBLE_TEXT_SOURCES or looks_like_person(n))]
        for src, people in offered.items()
    }
    if not names:
        return [], "", 0.0
    confidence = author_confidence(names, source, offered)
    contradicted = any(
        other != source and people and not _overlap(people, names)
        for other, people in offered.items()
    )
    if confidence < MIN_AUTHOR_CONFIDENCE and contradicted:
        return [], "", 0.0
    return names, source, confidence


def author_confidence(names: list[str], source: str, offered: dict[str, list[str]]) -> float:
    """The chosen source's trust, raised by each other source naming one of the same people
    and lowered by each naming only others, within [0, 1]."""
    score = AUTHOR_SOURCE_TRUST.get(source, 0.0)
    for other, people in offered.items():
        if other == source or not people:
            continue
        score += AGREEMENT_BONUS if _overlap(people, names) else -AGREEMENT_BONUS
    return round(min(1.0, max(0.0, score)), 2)


def _overlap(a: list[str], b: list[str]) -> bool:
    """Whether two lists name one person alike: one name's words all in the other's ("Anna
    Kobryń" and "Anna Kobryń aszu"), compared by key (case and accents folded)."""
    words_a = [{name_key(w) for w in n.split()} for n in a]
    words_b = [{name_key(w) for w in n.split()} for n in b]
    return any(x <= y or y <= x for x in words_a for y in words_b if x and y)


def _by_precedence(
    sources: dict[str, Candidates],
    offered: dict[str, list[str]],
    site_keys: set[str],
    organizations: set[str],
    bylines: Callable[[], Candidates] | None,
) -> tuple[list[str], str]:
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
                offered[source] = people
                return people, source
            continue
        names = offered.get(source, [])
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
        names = clean_authors([text], visible_text=True)
        if names and all(looks_like_person(n) for n in names):
            people = [n for n in names if not is_organization(n, site_keys, organizations)]
            if people:
                return people
    return []
