"""MinHash near-duplicates: the rules on real text; signatures stable across processes."""

from __future__ import annotations

import subprocess
import sys
from itertools import combinations

import pytest

from pipeline import neardup
from tests.conftest import corpus_pages


def corpus_texts() -> list[str]:
    return [p.body_text for p in corpus_pages("pages") if len(p.body_text.split()) > 300]


def test_trimmed_wire_copy_matches_by_containment() -> None:
    for text in corpus_texts()[:20]:
        words = text.split()
        trimmed = " ".join(words[: int(len(words) * 0.7)])
        ok, similarity, contained = neardup.is_near_duplicate(
            neardup.signature(text),
            neardup.signature(trimmed),  # type: ignore[arg-type]
        )
        assert ok, (similarity, contained)
        assert contained >= 0.8


def test_light_edits_and_new_dateline_match() -> None:
    for text in corpus_texts()[:20]:
        words = text.split()
        edited = ["BERLIN (dpa) -", *words]
        for i in range(0, len(edited), 60):
            edited[i] = "edited"
        ok, similarity, _ = neardup.is_near_duplicate(
            neardup.signature(text),
            neardup.signature(" ".join(edited)),  # type: ignore[arg-type]
        )
        assert ok, similarity


def test_different_stories_do_not_match() -> None:
    sigs = [neardup.signature(t) for t in corpus_texts()]
    matches = [
        (i, j)
        for (i, a), (j, b) in combinations(enumerate(sigs), 2)
        if a and b and neardup.is_near_duplicate(a, b)[0]
    ]
    # The corpus holds one story twice (the same Taz article saved on two days), nothing else.
    assert len(matches) <= 1


def test_short_text_has_no_signature_and_bands_cover_the_signature() -> None:
    assert neardup.signature("Three short words") is None
    sig = neardup.signature(" ".join(f"word{i}" for i in range(50)))
    assert sig is not None and len(sig.array()) == neardup.NUM_PERM
    assert len(neardup.band_hashes(sig)) == neardup.BANDS
    assert neardup.BANDS * neardup.ROWS == neardup.NUM_PERM


def test_signature_is_the_same_in_another_process() -> None:
    """Extraction workers sign texts in other processes: no per-process hash seed may leak in."""
    text = " ".join(f"token{i % 37} w{i}" for i in range(400))
    code = (
        "import sys; from pipeline import neardup;"
        f"sys.stdout.write(neardup.signature({text!r}).values.hex())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout
    sig = neardup.signature(text)
    assert sig is not None and other == sig.values.hex()


@pytest.mark.parametrize("fraction", [0.5, 0.7, 0.9])
def test_containment_estimate_tracks_the_truth(fraction: float) -> None:
    text = corpus_texts()[3]
    words = text.split()
    part = " ".join(words[: int(len(words) * fraction)])
    _, _, contained = neardup.is_near_duplicate(
        neardup.signature(text),
        neardup.signature(part),  # type: ignore[arg-type]
    )
    assert contained == pytest.approx(1.0, abs=0.2)
