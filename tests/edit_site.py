"""A loopback news site built from real corpus pages, for edit tracking's end-to-end tests and
scripts/revisit_benchmark.py: each page can be edited the way publishers edit (a headline
rewrite, an appended correction, one sentence changed, whitespace only), cut short (a failed
extraction), taken down, or restored; an RSS feed lists them all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape

from pipeline.corpus import CorpusPage, load_pages
from pipeline.extract import extract_article
from pipeline.loopback import LoopbackSite

HTML = "text/html; charset=utf-8"
CORRECTION = (
    "Correction: An earlier version of this article gave the wrong date for the vote,"
    " which took place on Tuesday."
)
UPDATE = "Update: The ministry has since confirmed the figures in a written statement."
_WORD = re.compile(r"\b[^\W\d_]{6,}\b")


@dataclass
class EditablePage:
    """A corpus page served at `path`, with a sentence of its body that appears once in its
    HTML (the one edits touch)."""

    page: CorpusPage
    path: str
    html: str
    sentence: str
    title: str  # as extracted from the original

    def with_sentence(self, replacement: str) -> bytes:
        return self.html.replace(self.sentence, replacement, 1).encode()

    def stealth_edit(self) -> bytes:
        """One word of the sentence replaced (one sentence edited, nothing announced)."""
        word = _WORD.search(self.sentence)
        assert word is not None
        edited = self.sentence[: word.start()] + "Zwischenfall" + self.sentence[word.end() :]
        return self.with_sentence(edited)

    def whitespace_only(self) -> bytes:
        return self.with_sentence(self.sentence.replace(" ", "  \n  "))

    def appended(self, paragraph: str) -> bytes:
        """A paragraph added after the one holding the sentence."""
        at = self.html.index(self.sentence)
        end = self.html.index("</p>", at) + len("</p>")
        return (self.html[:end] + f"<p>{escape(paragraph)}</p>" + self.html[end:]).encode()

    def headline(self, new_title: str) -> bytes:
        return self.html.replace(self.title, new_title).encode()

    def cut_short(self) -> bytes:
        """What a broken template serves: the headline and one sentence."""
        return (
            f"<html><head><title>{escape(self.title)}</title></head><body><article>"
            f"<h1>{escape(self.title)}</h1><p>{escape(self.sentence)}</p></article></body></html>"
        ).encode()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) >= 80]


def editable_pages(count: int) -> list[EditablePage]:
    """`count` corpus pages whose extraction keeps a long body, with a sentence found once in
    the HTML (unescaped, inside a <p>) that the extraction keeps too. Deterministic: the
    corpus's order."""
    chosen: list[EditablePage] = []
    for page in load_pages():
        if not page.present or len(page.body_text) < 1500:
            continue
        try:
            html = page.html.decode("utf-8")
        except UnicodeDecodeError:
            continue
        url = f"https://{page.publisher.lower()}.example/{page.file}"
        article = extract_article(page.html, url)
        if not article.title or len(article.text) < 1000 or article.title not in html:
            continue
        for sentence in _sentences(page.body_text):
            if html.count(sentence) != 1 or sentence not in article.text:
                continue
            if "</p>" not in html[html.index(sentence) :] or not _WORD.search(sentence):
                continue
            path = "/" + page.file.removesuffix(".gz")
            chosen.append(EditablePage(page, path, html, sentence, article.title))
            break
        if len(chosen) == count:
            return chosen
    raise AssertionError(f"the corpus has {len(chosen)} editable pages, not {count}")


def rss(site: LoopbackSite, pages: list[EditablePage], dates: dict[str, datetime]) -> bytes:
    """An RSS 2.0 feed listing the pages, guid = path, pubDate from `dates`."""
    items = "".join(
        f"<item><title>{escape(p.title)}</title><link>{site.url(p.path)}</link>"
        f'<guid isPermaLink="false">{p.path}</guid>'
        f"<pubDate>{format_datetime(dates.get(p.path, datetime(2026, 12, 1, tzinfo=UTC)))}"
        "</pubDate></item>"
        for p in pages
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Edits</title><link>{site.base_url}/</link>{items}</channel></rss>"
    ).encode()
