"""pipeline/changes.py: classifying an article's edits, and what is no version at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.changes import (
    Snapshot,
    align,
    change_counts,
    compare,
    fingerprint,
    judge,
    normalise,
    notice_in,
    sentences,
)

BODY = (
    "The city council voted on Tuesday to expand the tram network by twelve kilometres.\n"
    "The plan costs 240 million euros and should open in 2029.\n"
    "Opposition members said the budget was unrealistic.\n"
    "The mayor called the vote a turning point for the city."
)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def snap(**kw: object) -> Snapshot:
    base: dict[str, object] = {
        "title": "Council expands tram network",
        "text": BODY,
        "authors": ["Jane Doe"],
        "published_at": T0,
        "modified_at": T0,
        "topics": ["Transport"],
        "image": "https://example.org/tram.jpg",
    }
    base.update(kw)
    return Snapshot(**base)  # type: ignore[arg-type]


def test_headline_rewrite_is_a_version_of_kind_headline() -> None:
    verdict = judge(snap(), snap(title="Council votes for a bigger tram network"))
    assert verdict.outcome == "version"
    assert verdict.change is not None
    assert verdict.change.fields_changed == ("headline",)
    assert verdict.change.kind == "headline"
    assert verdict.change.chars_added == verdict.change.chars_removed == 0


def test_appended_correction_is_found_with_its_text() -> None:
    text = BODY + "\nCorrection: An earlier version of this article gave the cost as 420 million."
    verdict = judge(snap(), snap(text=text, modified_at=T0 + timedelta(hours=2)))
    change = verdict.change
    assert verdict.outcome == "version" and change is not None
    assert change.notice_kind == "correction"
    assert change.notice_text is not None and "420 million" in change.notice_text
    assert change.sentences_added == 1 and change.sentences_deleted == 0
    assert change.modified_moved
    assert change.fields_changed == ("body", "dates")
    assert change.chars_added > 60 and change.chars_removed == 0


@pytest.mark.parametrize(
    ("paragraph", "kind"),
    [
        ("Correction: The minister's name was misspelled in an earlier version.", "correction"),
        ("Korrektur: In einer früheren Fassung stand ein falsches Datum.", "correction"),
        ("Rectificatif : une version précédente indiquait un mauvais chiffre.", "correction"),
        ("Fe de errores: una versión anterior citaba mal al ministro.", "correction"),
        ("Rettifica: una versione precedente riportava una cifra errata.", "correction"),
        ("Correção: uma versão anterior indicava uma data errada.", "correction"),
        ("Correctie: in een eerdere versie stond een verkeerde datum.", "correction"),
        ("Update: The police have since released the driver without charge.", "update"),
        ("Aktualisierung: Die Polizei hat den Fahrer inzwischen freigelassen.", "update"),
        ("Mise à jour : la police a depuis relâché le conducteur.", "update"),
        ("Actualización: la policía ha liberado al conductor.", "update"),
        ("Aggiornamento: la polizia ha rilasciato il conducente.", "update"),
        ("Atualização: a polícia libertou o motorista.", "update"),
        ("Bijgewerkt: de politie heeft de bestuurder vrijgelaten.", "update"),
        ("Clarification: This story has been changed to make clear who paid.", "clarification"),
        ("Klarstellung: Gemeint war der Landkreis, nicht die Stadt.", "clarification"),
        ("This article was amended on 3 December 2026 to correct the spelling.", "correction"),
        ("Update: 10:32 GMT", None),  # a timestamp label, not a notice
        ("Updates to the tram network are planned for next year.", None),
        ("The correction of the budget is expected soon.", None),
    ],
)
def test_notice_paragraphs_in_seven_languages(paragraph: str, kind: str | None) -> None:
    assert notice_in(normalise(paragraph)) == kind


def test_jsonld_correction_is_a_correction_notice() -> None:
    old = snap()
    new = snap(text=BODY.replace("twelve", "eleven"), correction="The length was 11 km.")
    change = judge(old, new).change
    assert change is not None and change.notice_kind == "correction"
    assert change.notice_text == "The length was 11 km."
    # The same JSON-LD correction again is no new notice.
    again = compare(new, snap(text=BODY, correction="The length was 11 km."))
    assert again.notice_kind is None


def test_one_sentence_stealth_edit_aligns_as_edited_not_added_deleted() -> None:
    text = BODY.replace("Opposition members said", "Opposition members warned")
    change = judge(snap(), snap(text=text)).change
    assert change is not None
    assert (change.sentences_added, change.sentences_deleted, change.sentences_edited) == (0, 0, 1)
    assert change.kind == "stealth"
    assert not change.modified_moved and change.notice_kind is None


def test_alignment_is_by_similarity_not_position() -> None:
    old = sentences(BODY)
    # Sentences reordered and one reworded: reordering alone is no edit.
    new = [old[3], old[0], old[2].replace("unrealistic", "far too optimistic"), old[1]]
    result = align(old, new)
    assert sorted(result.same) == [(0, 1), (1, 3), (3, 0)]
    assert result.edited == [(2, 2)]
    assert result.added == [] and result.deleted == []


def test_unrelated_sentence_is_deleted_and_added_not_edited() -> None:
    old = sentences(BODY)
    new = [*old[:3], "Shares in the tram maker rose sharply in Frankfurt trading."]
    result = align(old, new)
    assert result.edited == [] and result.deleted == [3] and result.added == [3]


@pytest.mark.parametrize(
    "noisy",
    [
        BODY.replace("a turning point", '"a turning point"')
        .replace(" ", "  ")
        .replace("\n", "\n\n"),
        BODY.replace("a turning point", "\u201ca turning point\u201d"),  # quotes
    ],
)
def test_noise_is_no_version(noisy: str) -> None:
    base = snap(text=BODY.replace("a turning point", '"a turning point"'))
    assert judge(base, snap(text=noisy)).outcome in ("noise", "unchanged")


def test_timestamps_and_view_counters_are_noise() -> None:
    old = snap(text=BODY + "\nPosted 5 minutes ago · 1,204 views · 10:32 GMT")
    new = snap(text=BODY + "\nPosted 2 hours ago · 13,977 views · 12:05 GMT")
    assert judge(old, new).outcome == "noise"
    assert fingerprint(old.title, old.text) == fingerprint(new.title, new.text)


def test_numbers_that_are_content_are_not_noise() -> None:
    new = snap(text=BODY.replace("240 million", "260 million"))
    assert judge(snap(), new).outcome == "version"
    assert judge(snap(text="It lasted 3 days."), snap(text="It lasted 4 days.")).outcome == (
        "version"
    )


def test_failed_extraction_counts_only_when_seen_twice() -> None:
    short = snap(text="The city council voted on Tuesday.")
    first = judge(snap(), short)
    assert first.outcome == "short" and first.short_fingerprint
    second = judge(snap(), short, pending_short=first.short_fingerprint)
    assert second.outcome == "version"
    assert second.change is not None and second.change.sentences_deleted >= 3


def test_flip_flop_back_to_the_version_before_is_suppressed() -> None:
    a, b = snap(), snap(title="Council votes for a bigger tram network")
    assert judge(a, b).outcome == "version"
    earlier = [fingerprint(a.title, a.text)]
    assert judge(b, a, earlier=earlier).outcome == "flip-flop"
    # A third, different text is a version again.
    c = snap(title="Tram network to grow by 12 km")
    assert judge(b, c, earlier=earlier).outcome == "version"


def test_metadata_only_changes() -> None:
    authors = judge(snap(), snap(authors=["Jane Doe", "Max Roe"])).change
    assert authors is not None and authors.fields_changed == ("authors",)
    assert authors.kind == "metadata"
    image = judge(snap(), snap(image="https://example.org/new.jpg")).change
    assert image is not None and image.fields_changed == ("image",)
    topics = judge(snap(), snap(topics=["Transport", "City"])).change
    assert topics is not None and topics.fields_changed == ("topics",)
    # A dateModified bumped alone is no version; reordered topics are no change.
    assert judge(snap(), snap(modified_at=T0 + timedelta(hours=1))).outcome == "unchanged"
    assert judge(snap(topics=["a", "b"]), snap(topics=["B", "a"])).outcome == "unchanged"


def test_change_counts_per_kind() -> None:
    records = [
        compare(snap(), snap(title="New")),
        compare(snap(), snap(title="Newer")),
        compare(snap(), snap(text=BODY + "\nUpdate: the vote was confirmed by the region.")),
    ]
    assert change_counts(records) == {"edits_headline": 2, "edits_update": 1}


def test_jsonld_correction_is_read_from_the_page() -> None:
    from pipeline.extract import extract_article

    html = (
        b'<html><head><script type="application/ld+json">{"@type": "NewsArticle",'
        b' "headline": "Council expands tram", "correction": {"@type": "CorrectionComment",'
        b' "text": "An earlier version misstated the cost."}}</script></head><body><article>'
        + b"".join(f"<p>{line}</p>".encode() for line in BODY.splitlines())
        + b"</article></body></html>"
    )
    art = extract_article(html, "https://news.example/tram")
    assert art.correction == "An earlier version misstated the cost."
    plain = extract_article(html.replace(b'"correction"', b'"comment"'), "https://news.example/t")
    assert plain.correction is None


@pytest.mark.parametrize("text", ["same", "noisy"])
@pytest.mark.parametrize(
    ("field", "value"),
    [(None, None), ("authors", ["Max Roe"]), ("image", "https://example.org/new.jpg"),
     ("topics", ["City"]), ("modified_at", T0 + timedelta(hours=1))],
)  # fmt: skip
def test_same_or_noisy_text_is_a_version_only_when_another_field_changed(
    text: str, field: str | None, value: object
) -> None:
    """The text the same, or differing by noise only: authors, image or topics changed make a
    version of kind metadata (the body not among its fields); dates alone or nothing do not."""
    old = snap(text=BODY + "\nPosted 5 minutes ago · 1,204 views")
    body = old.text if text == "same" else BODY + "\nPosted 2 hours ago · 13,977 views"
    new = snap(text=body, **({field: value} if field else {}))
    verdict = judge(old, new)
    if field in ("authors", "image", "topics"):
        assert verdict.outcome == "version" and verdict.change is not None
        assert verdict.change.fields_changed == (field,) and verdict.change.kind == "metadata"
    else:
        assert verdict.outcome == ("unchanged" if text == "same" else "noise")
        assert verdict.change is None
