"""The sample site's publishers and articles, read from sample_stories.json.

The data model shared by the page renderer (pipeline.sample_site) and the feed renderer
(pipeline.sample_feeds); it renders nothing itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

STORIES_FILE = "sample_stories.json"  # beside this module; installed as package data

BROKEN_FEED_PATH = "/daily-herald/feed/weekend/"
BROKEN_FEED_PUBLISHER = "/daily-herald"  # whose articles the truncated feed starts to list
OPML_PATH = "/feeds.opml"

# The same article listed twice in the tracked feed, with different campaign parameters.
DUPLICATE_LISTED_POST_ID = 301
SYNDICATED_POST_IDS = (105, 205)


@dataclass(frozen=True)
class Publisher:
    prefix: str  # path prefix, e.g. "/daily-herald"; all publishers share one 127.0.0.1 host
    name: str
    tagline: str
    domain_id: str  # stable id used in guids/Atom ids, independent of the loopback port
    nav: tuple[str, ...]
    feed_path: str
    feed_kind: str  # "rss", "atom" or "rss-tracked"
    json_ld: str  # "keyword-list", "keyword-string" or "graph" (Yoast-style @graph)


@dataclass(frozen=True)
class ArticleFact:
    """What a correct extractor should find on one article page."""

    path: str
    publisher: str
    headline: str
    section: str
    tags: tuple[str, ...]
    authors: tuple[str, ...]
    published: str  # ISO 8601 with offset
    modified: str
    summary: str
    paragraphs: tuple[str, ...]
    post_id: int

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)  # one paragraph per line, as trafilatura emits


@dataclass(frozen=True)
class Story:
    """One article as written in the stories file, before it is placed on its site."""

    publisher: Publisher
    slug: str
    date_path: str
    post_id: int
    headline: str
    section: str
    tags: tuple[str, ...]
    authors: tuple[str, ...]
    published: str
    modified: str
    summary: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class StoryUpdate:
    """The one edit version 2 of the site makes: a paragraph appended to one story."""

    post_id: int
    modified: str
    paragraph: str


@cache
def _stories_file() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(
        resources.files("pipeline").joinpath(STORIES_FILE).read_text("utf-8")
    )
    return raw


@cache
def load_publishers() -> tuple[Publisher, ...]:
    """The publishers of sample_stories.json, in site order."""
    return tuple(
        Publisher(
            prefix=p["prefix"],
            name=p["name"],
            tagline=p["tagline"],
            domain_id=p["domain_id"],
            nav=tuple(p["nav"]),
            feed_path=p["feed_path"],
            feed_kind=p["feed_kind"],
            json_ld=p["json_ld"],
        )
        for p in _stories_file()["publishers"]
    )


def publisher_by_prefix(prefix: str) -> Publisher:
    return next(p for p in load_publishers() if p.prefix == prefix)


def publisher_of(fact: ArticleFact) -> Publisher:
    return next(p for p in load_publishers() if p.name == fact.publisher)


@cache
def load_update() -> StoryUpdate:
    raw = _stories_file()["update"]
    return StoryUpdate(
        post_id=int(raw["post_id"]), modified=raw["modified"], paragraph=raw["paragraph"]
    )


@cache
def load_stories() -> tuple[Story, ...]:
    """The stories of sample_stories.json, in site order. A story marked "wire" carries the
    file's wire_paragraphs: identical body text on two sites, each with its own headline."""
    raw = _stories_file()
    by_prefix = {p.prefix.strip("/"): p for p in load_publishers()}
    wire = tuple(str(p) for p in raw["wire_paragraphs"])
    return tuple(
        Story(
            publisher=by_prefix[s["publisher"]],
            slug=s["slug"],
            date_path=s["date_path"],
            post_id=int(s["post_id"]),
            headline=s["headline"],
            section=s["section"],
            tags=tuple(s["tags"]),
            authors=tuple(s["authors"]),
            published=s["published"],
            modified=s["modified"],
            summary=s["summary"],
            paragraphs=wire if s.get("wire") else tuple(s["paragraphs"]),
        )
        for s in raw["stories"]
    )


def slugify(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(part for part in out.split("-") if part)


def article_facts(version: int) -> list[ArticleFact]:
    """Every article as version `version` of the site shows it."""
    update = load_update()
    facts = []
    for story in load_stories():
        modified, paragraphs = story.modified, story.paragraphs
        if version >= 2 and story.post_id == update.post_id:
            modified, paragraphs = update.modified, (*paragraphs, update.paragraph)
        facts.append(
            ArticleFact(
                path=f"{story.publisher.prefix}/{story.date_path}/{story.slug}/",
                publisher=story.publisher.name,
                headline=story.headline,
                section=story.section,
                tags=story.tags,
                authors=story.authors,
                published=story.published,
                modified=modified,
                summary=story.summary,
                paragraphs=paragraphs,
                post_id=story.post_id,
            )
        )
    return facts
