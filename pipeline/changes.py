"""What changed between two extracted versions of an article (pure).

`judge` decides whether a page fetched again is a new version at all, and `compare` says what
changed, as one typed `ChangeRecord` per version pair (the `article_changes` table):

- which fields changed: headline, body, authors, dates, topics, image;
- characters added and removed (of the normalised body);
- sentences added, deleted and edited, aligned by similarity as NewsEdits does (Spangher et
  al. 2022): identical sentences pair first wherever they sit, then the most similar remaining
  pairs above EDIT_SIMILARITY, greedily; what is left was added or deleted;
- a correction, update or clarification notice with its text: a new paragraph opening with the
  notice's word in en, de, fr, es, it, pt or nl, or a new schema.org `correction` in JSON-LD;
- a dateModified that moved.

Noise is no version (NewsDiffs' rules): whitespace, typographic quotes and dashes, clock
times, "5 minutes ago" and view counters are normalised away before comparing; a new text much
shorter than the last (a failed extraction) counts only once seen twice; and a text equal to
the version before the current one (A→B→A) is a flip-flop, suppressed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from typing import Literal

# Two sentences at least this similar (difflib ratio over their words) are one sentence
# edited; below it, one was deleted and another added. NewsEdits matches at about this level.
EDIT_SIMILARITY = 0.5
# A new text shorter than this share of the last one is taken for a failed extraction.
SHORT_RATIO = 0.5
# Unmatched sentences compared pairwise at most (beyond it: added/deleted, no edit pairing).
MAX_ALIGN = 400

Outcome = Literal["unchanged", "noise", "short", "flip-flop", "version"]
NoticeKind = Literal["correction", "update", "clarification"]
FIELDS = ("headline", "body", "authors", "dates", "topics", "image")


@dataclass(frozen=True)
class Snapshot:
    """The fields of one extracted version that edits are tracked on."""

    title: str | None
    text: str
    authors: Sequence[str] = ()
    published_at: datetime | None = None
    modified_at: datetime | None = None
    topics: Sequence[str] = ()  # categories and tags
    image: str | None = None
    correction: str | None = None  # schema.org `correction` in the page's JSON-LD


@dataclass(frozen=True)
class ChangeRecord:
    """One version pair's classification (a row of `article_changes`)."""

    fields_changed: tuple[str, ...]
    chars_added: int
    chars_removed: int
    sentences_added: int
    sentences_deleted: int
    sentences_edited: int
    notice_kind: NoticeKind | None
    notice_text: str | None
    modified_moved: bool

    @property
    def kind(self) -> str:
        """One word for the change, most telling first: a notice's kind, else headline, body
        (a stealth edit: no notice, no dateModified move), metadata."""
        if self.notice_kind:
            return self.notice_kind
        if "headline" in self.fields_changed:
            return "headline"
        if "body" in self.fields_changed:
            return "body" if self.modified_moved else "stealth"
        return "metadata"


@dataclass(frozen=True)
class Verdict:
    """What a page fetched again is: `version` (with its change), or why it is not one.
    `short_fingerprint` is the short text's fingerprint to remember (outcome `short`)."""

    outcome: Outcome
    change: ChangeRecord | None = None
    short_fingerprint: str | None = None


# --------------------------------------------------------------------------- normalising

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
        "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u200b": "", "\u2026": "...",
    }
)  # fmt: skip
_ZONE = r"(?:\s*(?:GMT|UTC|BST|CES?T|[ECMP][SD]T)(?:[+-]\d{1,2})?\b)?"
_CLOCK = re.compile(
    r"\b\d{1,2}(?::\d{2}){1,2}\s*(?:[ap]\.?m\b\.?)?"
    + _ZONE
    + r"|\b\d{1,2}[.h]\d{2}\s*(?:uhr|h)\b"
    + _ZONE,
    re.IGNORECASE,
)
_ISO_STAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_UNIT = (
    r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|sekunden?|minuten?|stunden?|tagen?"
    r"|secondes?|heures?|jours?|segundos?|minutos?|horas?|d[ií]as?|secondi|minuti|ore|giorni"
    r"|seconden|uur|dagen)"
)
# Only relative times that say so ("5 minutes ago", "vor 5 Minuten"): "for 3 days" is content.
_RELATIVE = re.compile(
    r"\b(?:vor|il y a|hace|h[aá])\s+\d+\s*" + _UNIT + r"\b"
    r"|\b\d+\s*" + _UNIT + r"\s+(?:ago|geleden|fa|atr[aá]s)\b",
    re.IGNORECASE,
)
_COUNTER = re.compile(
    r"\b\d[\d.,\s]*\s*[kKmM]?\s*(?:views?|reads?|shares?|comments?|aufrufe|kommentare|vues"
    r"|commentaires|visualizaciones|comentarios|visualizzazioni|commenti|visualiza[cç][oõ]es"
    r"|coment[aá]rios|weergaven|reacties)\b",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")


def normalise(text: str | None) -> str:
    """The text as edits are compared: Unicode-composed, quotes and dashes plain, clock
    times, timestamps, relative times and view counters gone, whitespace collapsed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    for pattern in (_ISO_STAMP, _RELATIVE, _COUNTER, _CLOCK):
        text = pattern.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def fingerprint(title: str | None, text: str) -> str:
    """What a version is, noise aside: headline and body normalised, hashed."""
    basis = normalise(title) + "\n" + normalise(text)
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()


def body_hash(body: bytes) -> str:
    """A fetched page's raw body, hashed: an unchanged page needs no extraction."""
    return hashlib.sha1(body).hexdigest()


# --------------------------------------------------------------------------- sentences

_SENTENCE_END = re.compile(r"([.!?…。！？]+[\"')\]]*)\s+(?=[\"'(\[]?\w)")


def sentences(text: str) -> list[str]:
    """The body's sentences, normalised: split on paragraph breaks and sentence ends."""
    out: list[str] = []
    for paragraph in text.splitlines():
        paragraph = normalise(paragraph)
        if paragraph:
            split = _SENTENCE_END.sub("\\1\n", paragraph).split("\n")
            out.extend(s.strip() for s in split if s.strip())
    return out


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()


@dataclass(frozen=True)
class Alignment:
    """Sentences of two versions matched by similarity: pairs (old index, new index) that are
    the same or edited, and the indexes left over."""

    same: list[tuple[int, int]] = field(default_factory=list)
    edited: list[tuple[int, int]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)


def align(old: Sequence[str], new: Sequence[str]) -> Alignment:
    """Match old and new sentences wherever they sit: identical ones first, then the most
    similar remaining pairs at EDIT_SIMILARITY or above (greedy, best first)."""
    positions: dict[str, list[int]] = {}
    for j, s in enumerate(new):
        positions.setdefault(s, []).append(j)
    same: list[tuple[int, int]] = []
    old_left: list[int] = []
    for i, s in enumerate(old):
        if positions.get(s):
            same.append((i, positions[s].pop(0)))
        else:
            old_left.append(i)
    taken_new = {j for _, j in same}
    new_left = [j for j in range(len(new)) if j not in taken_new]
    edited: list[tuple[int, int]] = []
    if old_left and new_left and len(old_left) * len(new_left) <= MAX_ALIGN * MAX_ALIGN:
        scored = sorted(
            (
                (score, i, j)
                for i in old_left
                for j in new_left
                if (score := _similarity(old[i], new[j])) >= EDIT_SIMILARITY
            ),
            key=lambda t: (-t[0], t[1], t[2]),
        )
        used_old: set[int] = set()
        used_new: set[int] = set()
        for _, i, j in scored:
            if i not in used_old and j not in used_new:
                edited.append((i, j))
                used_old.add(i)
                used_new.add(j)
        old_left = [i for i in old_left if i not in used_old]
        new_left = [j for j in new_left if j not in used_new]
    return Alignment(sorted(same), sorted(edited), old_left, new_left)


# --------------------------------------------------------------------------- notices

# The word a notice paragraph opens with, per kind, in the languages the corpus holds.
NOTICE_WORDS: dict[NoticeKind, tuple[str, ...]] = {
    "correction": (
        "correction", "corrections", "corrected", "erratum", "errata",  # en (fr: correction)
        "korrektur", "berichtigung", "richtigstellung", "korrigiert",  # de
        "rectificatif", "rectification", "corrigé", "rectifié",  # fr
        "corrección", "fe de errores", "rectificación", "corregido",  # es
        "correzione", "rettifica", "corretto",  # it
        "correção", "retificação", "corrigido",  # pt
        "correctie", "rectificatie", "gecorrigeerd", "verbetering",  # nl
    ),
    "update": (
        "update", "updated", "editor's note", "editors' note",  # en
        "aktualisierung", "aktualisiert", "nachtrag", "anmerkung der redaktion",  # de
        "mise à jour", "actualisation", "note de la rédaction",  # fr
        "actualización", "actualizado", "nota de la redacción",  # es
        "aggiornamento", "aggiornato", "nota della redazione",  # it
        "atualização", "atualizado", "nota da redação", "actualização",  # pt
        "bijgewerkt", "naschrift", "noot van de redactie",  # nl
    ),
    "clarification": (
        "clarification", "klarstellung", "präzisierung", "précision", "aclaración",
        "precisazione", "chiarimento", "esclarecimento", "verduidelijking",
    ),
}  # fmt: skip
_NOTICE = {
    kind: re.compile(
        r"^[\s*\[(]*(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        + r")\b\s*(?:\([^)]{0,40}\))?\s*[:\-]\s*(?P<rest>.*)$",
        re.IGNORECASE,
    )
    for kind, words in NOTICE_WORDS.items()
}  # fmt: skip
# Prose forms: "This article was corrected on ...", "Dieser Artikel wurde korrigiert".
_NOTICE_PROSE: dict[NoticeKind, re.Pattern[str]] = {
    "correction": re.compile(
        r"^(?:this|an earlier version of this) (?:article|story|post|report)\b.*\b(?:corrected"
        r"|amended|misstated|incorrectly|misidentified)\b|^(?:in )?(?:einer|der) früheren"
        r" (?:fassung|version)|^une précédente version|^una versión anterior|^in una precedente"
        r" versione|^uma versão anterior|^in een eerdere versie",
        re.IGNORECASE,
    ),
    "update": re.compile(
        r"^this (?:article|story|post|report) (?:has been|was) updated\b", re.IGNORECASE
    ),
    "clarification": re.compile(
        r"^this (?:article|story|post|report) (?:has been|was) clarified\b", re.IGNORECASE
    ),
}
MIN_NOTICE_WORDS = 3  # "Update:" followed by a clock time alone is a timestamp, not a notice


def notice_in(paragraph: str) -> NoticeKind | None:
    """The kind of notice a (normalised) paragraph is, or None."""
    for kind, pattern in _NOTICE.items():
        match = pattern.match(paragraph)
        if match and len(match.group("rest").split()) >= MIN_NOTICE_WORDS:
            return kind
    for kind, pattern in _NOTICE_PROSE.items():
        if pattern.search(paragraph):
            return kind
    return None


def find_notice(old: Snapshot, new: Snapshot) -> tuple[NoticeKind, str] | None:
    """A notice the new version has and the old one had not: a new visible paragraph, else a
    new JSON-LD `correction`."""
    before = {normalise(p) for p in old.text.splitlines()}
    for paragraph in new.text.splitlines():
        text = normalise(paragraph)
        if text and text not in before:
            kind = notice_in(text)
            if kind:
                return kind, text
    new_correction = normalise(new.correction)
    if new_correction and new_correction != normalise(old.correction):
        return "correction", new_correction
    return None


# --------------------------------------------------------------------------- comparing


def _names(values: Sequence[str]) -> list[str]:
    return [normalise(v).casefold() for v in values if normalise(v)]


def compare(old: Snapshot, new: Snapshot) -> ChangeRecord:
    """What changed from `old` to `new` (noise normalised away)."""
    changed: list[str] = []
    if normalise(old.title) != normalise(new.title):
        changed.append("headline")
    old_body, new_body = normalise(old.text), normalise(new.text)
    if old_body != new_body:
        changed.append("body")
    if _names(old.authors) != _names(new.authors):
        changed.append("authors")
    if old.published_at != new.published_at or old.modified_at != new.modified_at:
        changed.append("dates")
    if sorted(set(_names(old.topics))) != sorted(set(_names(new.topics))):
        changed.append("topics")
    if (old.image or None) != (new.image or None):
        changed.append("image")
    added = removed = 0
    if old_body != new_body:
        # Characters counted over the difference of the two bodies' characters.
        matcher = SequenceMatcher(None, old_body, new_body, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op != "equal":
                removed += i2 - i1
                added += j2 - j1
    alignment = align(sentences(old.text), sentences(new.text))
    notice = find_notice(old, new)
    moved = (
        new.modified_at is not None
        and old.modified_at is not None
        and new.modified_at > old.modified_at
    ) or (new.modified_at is not None and old.modified_at is None)
    return ChangeRecord(
        fields_changed=tuple(f for f in FIELDS if f in changed),
        chars_added=added,
        chars_removed=removed,
        sentences_added=len(alignment.added),
        sentences_deleted=len(alignment.deleted),
        sentences_edited=len(alignment.edited),
        notice_kind=notice[0] if notice else None,
        notice_text=notice[1] if notice else None,
        modified_moved=moved,
    )


# Fields whose change alone makes a version; dates alone (a bumped dateModified) do not.
VERSION_FIELDS = frozenset({"headline", "body", "authors", "topics", "image"})


def judge(
    old: Snapshot,
    new: Snapshot,
    *,
    earlier: Sequence[str] = (),
    pending_short: str | None = None,
    short_ratio: float = SHORT_RATIO,
) -> Verdict:
    """Whether `new`, fetched again, is a new version of the article whose current version is
    `old`. `earlier` holds the fingerprints of the versions before the current one, oldest
    first (the one before the current one last); `pending_short` the fingerprint of a short
    text seen once before."""
    old_print = fingerprint(old.title, old.text)
    new_print = fingerprint(new.title, new.text)
    if new_print == old_print:
        # The text is the same or differs only by noise: a version only if another field did.
        change = compare(old, new)
        if VERSION_FIELDS & set(change.fields_changed) - {"headline", "body"}:
            return Verdict("version", change)
        same = old.title == new.title and old.text == new.text
        return Verdict("unchanged" if same else "noise")
    old_len, new_len = len(normalise(old.text)), len(normalise(new.text))
    if old_len and new_len < short_ratio * old_len and new_print != pending_short:
        return Verdict("short", short_fingerprint=new_print)
    if earlier and new_print == earlier[-1]:
        return Verdict("flip-flop")
    return Verdict("version", compare(old, new))


def change_counts(records: Sequence[ChangeRecord]) -> dict[str, int]:
    """Run-report counts: `edits_<kind>` per change kind."""
    return dict(Counter(f"edits_{r.kind}" for r in records))
