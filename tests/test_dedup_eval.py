"""A small labelled near-duplicate set from the page corpus, through the real flow: P and R."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import corpus_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import dedup_eval  # noqa: E402

ORIGINALS = 12


def test_republished_copies_cluster_with_their_original(  # type: ignore[no-untyped-def]
    prefect_server, allow_loopback, tmp_path
) -> None:
    corpus = corpus_dir("pages")
    records, _ = dedup_eval.consistent(dedup_eval.load_corpus(corpus), corpus)
    # Latin-script stories: CJK texts have too few word 5-grams to sign (see the eval's report).
    records = [r for r in records if r.get("country") not in {"jp", "kr", "tw", "vn"}]
    originals = dedup_eval.select_originals(records, ORIGINALS, seed=3)
    docs = dedup_eval.build_labelled_set(originals, corpus, seed=3, kinds="abcd")
    assert len(docs) == ORIGINALS * 5
    counts, _ = dedup_eval.ingest_docs(docs, tmp_path / "news.duckdb")
    assert counts["pages_failed"] == 0
    view = dedup_eval.landed(docs, tmp_path / "news.duckdb")
    scores = dedup_eval.score(docs, {k: v[0] for k, v in view.items()})
    detail = dedup_eval.report(docs, scores, view, 20)
    assert scores.missing_docs == 0, detail
    assert scores.precision >= 0.99, detail
    assert scores.copies_recall() >= 0.95, detail
    assert scores.negatives["g"][1] > 0  # the selection includes same-publisher stories
