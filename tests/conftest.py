"""Shared fixtures: a real Prefect server per session, a loopback news site, ../shared paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import corpus

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = corpus.CORPUS_ROOT


def corpus_dir(name: str) -> Path:
    """A folder of ../shared/corpus, or a skip saying why it is absent."""
    path = corpus.corpus_dir(name)
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the shared corpus sits beside the checkout only in CI")
    return path


def corpus_pages(name: str = "pages") -> list[corpus.CorpusPage]:
    """The pages of a corpus folder's index.jsonl, or a skip saying why they are absent."""
    reason = corpus.absent_reason(name)
    if reason is not None:
        pytest.skip(f"{reason}: the shared corpus sits beside the checkout only in CI")
    return corpus.load_pages(name)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect API server (temporary database) for the whole session."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_INGEST_ALLOW_HOSTS", "127.0.0.1")


@pytest.fixture
def sample_site():  # type: ignore[no-untyped-def]
    """The generated sample site, served on a free loopback port."""
    from pipeline.loopback import LoopbackSite
    from pipeline.sample_site import build_sample_site

    with LoopbackSite() as site:
        sample = build_sample_site(site.base_url)
        site.load(sample.routes)
        yield site, sample
