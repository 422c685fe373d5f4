"""Labelled near-duplicate set from the page corpus, ingested over loopback: pairwise P/R."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import cache
from html import escape
from itertools import combinations
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "pages"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

POSITIVE_KINDS = {
    "a": "plain re-publish on another site",
    "b": "changed dateline and headline",
    "c": "trimmed ending (60-80% kept)",
    "d": "appended update paragraph(s)",
    "e": "light word edits (3-5% of words)",
}
NEGATIVE_KINDS = {
    "f": "different stories in one shared template",
    "g": "same publisher/country or shared title words",
}
FEED_MAX_ITEMS = 150  # below the pipeline's default cap of 200 entries per feed
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
_TITLE_STOP = frozenset(
    [
        "about",
        "after",
        "also",
        "been",
        "before",
        "being",
        "could",
        "from",
        "have",
        "into",
        "more",
        "over",
        "said",
        "says",
        "that",
        "their",
        "there",
        "they",
        "this",
        "were",
        "what",
        "when",
        "which",
        "while",
        "will",
        "with",
        "would",
        "your",
        "über",
        "eine",
        "einer",
        "einem",
        "einen",
        "sich",
        "nicht",
        "auch",
        "nach",
        "wird",
        "werden",
        "sind",
        "dass",
        "oder",
        "aber",
        "noch",
        "beim",
        "durch",
        "gegen",
    ]
)

# --------------------------------------------------------------------------------------------
# Made-up sites: each has its own chrome (header/nav/footer, "most read" sidebar, promos).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """A made-up outlet that re-publishes stories in its own page template."""

    slug: str
    name: str
    style: str  # which template renders it
    nav: tuple[str, ...]
    agency: str
    tagline: str


SITES = (
    Site(
        "ledger",
        "The Morning Ledger",
        "classic",
        ("World", "Politics", "Business", "Markets", "Tech", "Sport", "Culture", "Opinion"),
        "Ledger Wire",
        "Independent news since 1891",
    ),
    Site(
        "riverside",
        "Riverside Post",
        "modern",
        ("Home", "Local", "Nation", "World", "Money", "Life", "Weather", "Podcasts"),
        "RP staff and agencies",
        "Your city, your news",
    ),
    Site(
        "wiredigest",
        "Wire Digest",
        "heavy",
        ("Top stories", "Europe", "Americas", "Asia", "Africa", "Science", "Health", "Video"),
        "Digest News Service",
        "Every wire story, one page",
    ),
    Site(
        "dispatch",
        "Global Dispatch",
        "blog",
        ("News", "Analysis", "Interviews", "Data", "Newsletter", "About", "Contact"),
        "Dispatch desk",
        "Reporting that travels",
    ),
)

CITIES = ("LONDON", "BERLIN", "NEW YORK", "TOKYO", "PARIS", "MADRID", "NAIROBI", "SYDNEY", "ROME")
HEADLINE_PREFIXES = ("Report:", "Update:", "Explainer:", "Breaking:", "What we know:", "Analysis:")
UPDATE_SENTENCES = (
    "This article was updated with additional reporting after publication.",
    "Officials did not immediately respond to a request for comment on Tuesday evening.",
    "A spokesperson later confirmed the figures in a written statement to reporters.",
    "The story has been amended to include the latest numbers released by the authorities.",
    "Further details are expected to be announced at a press conference on Wednesday morning.",
    "An earlier version of this story misstated the date of the meeting; it has been corrected.",
    "Local media reported that the investigation was continuing and that no arrests had been made.",
    "Our correspondent will follow developments throughout the day and update this page.",
    "Readers who have information about the events described are asked to contact the newsroom.",
    "Analysts said the decision could have consequences well beyond the region in coming months.",
)


@dataclass
class Doc:
    """One page of the labelled set: an original corpus page or a made-up copy of one."""

    doc_id: int
    story: int  # docs of one story are duplicates (a story crawled twice has two originals)
    origin: int  # doc_id of the original page this one was made from (its own for originals)
    kind: str  # "original" or a transformation letter
    site: str  # "original" or a made-up site's slug
    path: str
    title: str
    published: datetime
    html: bytes = b""
    url: str = ""  # set when served: base URL + path
    record: dict[str, Any] = field(default_factory=dict, repr=False)


def load_corpus(corpus: Path) -> list[dict[str, Any]]:
    """The corpus index (one JSON record per page), each with its gz page file present."""
    from pipeline.corpus import load_pages

    return [p.record for p in load_pages(corpus) if p.present and p.body_text]


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.casefold())
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def _char_grams(text: str, n: int = 12) -> set[str]:
    """Character n-grams of the text's word characters only: script- and markup-neutral."""
    flat = "".join(_WORD.findall(text.casefold()))
    return {flat[i : i + n] for i in range(max(1, len(flat) - n + 1))}


def visible_text(html: bytes) -> str:
    """The page's text outside script/style (what an extractor can find without JavaScript)."""
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(html)
    except Exception:  # lxml raises a zoo of errors on odd input
        return ""
    for bad in tree.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    return " ".join(tree.itertext())


def consistent(records: list[dict[str, Any]], corpus: Path) -> tuple[list[dict], list[str]]:
    """The records whose page really shows their body_text (a fifth of its character 12-grams
    at least are in the page's visible text: paywalled pages show a part), and one line per
    record left out: a label whose
    html and body_text disagree (swapped files, a script-only page) would score the
    deduplicator for the corpus's mistake."""
    kept, dropped = [], []
    for rec in records:
        body = _char_grams(rec["body_text"])
        page = _char_grams(visible_text(gzip.decompress((corpus / rec["html"]).read_bytes())))
        share = len(body & page) / max(1, len(body))
        if share >= 0.2:
            kept.append(rec)
        else:
            dropped.append(f"{rec['html']}: {share:.0%} of body_text on the page")
    return kept, dropped


def story_ids(records: list[dict[str, Any]]) -> list[int]:
    """One id per story: records of the same URL (path) or whose bodies share at least half
    of the shorter one's 5-grams are one story crawled twice (true duplicates of each other)."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sets = [_shingles(r["body_text"]) for r in records]
    paths = [r["url"].split("?")[0].rstrip("/") for r in records]
    for i, j in combinations(range(len(records)), 2):
        overlap = len(sets[i] & sets[j]) / max(1, min(len(sets[i]), len(sets[j])))
        if paths[i] == paths[j] or overlap >= 0.5:
            parent[find(j)] = find(i)
    roots: dict[int, int] = {}
    return [roots.setdefault(find(i), len(roots)) for i in range(len(records))]


def select_originals(
    records: list[dict[str, Any]], limit: int | None, seed: int
) -> list[dict[str, Any]]:
    """Up to `limit` records, taken publisher by publisher (random order) so that stories of the
    same publisher come in together: they are the hard negatives of kind (g)."""
    rng = random.Random(seed)
    by_publisher: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_publisher[rec["publisher"]].append(rec)
    groups = list(by_publisher.values())
    rng.shuffle(groups)
    groups.sort(key=lambda g: -min(len(g), 2))  # publishers with several stories first
    chosen: list[dict[str, Any]] = []
    for group in groups:
        chosen.extend(group)
    return chosen[: limit or len(chosen)]


def paragraphs(record: dict[str, Any]) -> list[str]:
    return [p.strip() for p in record["body_text"].split("\n") if p.strip()]


def _words(paras: list[str]) -> int:
    return sum(len(p.split()) for p in paras)


def trim(paras: list[str], rng: random.Random) -> list[str]:
    """The first 60-80% of the words, cut at a sentence end when one lies in range."""
    total = _words(paras)
    goal = rng.uniform(0.62, 0.78)
    low, high = int(total * 0.6), int(total * 0.8)
    out: list[str] = []
    count = 0
    for p in paras:
        n = len(p.split())
        if count + n <= total * goal:
            out.append(p)
            count += n
            continue
        # Cut inside this paragraph: the last sentence end within [low, high], else by words.
        best = None
        sentences = _SENTENCE_END.split(p)
        for k in range(1, len(sentences) + 1):
            m = len(" ".join(sentences[:k]).split())
            if low <= count + m <= high:
                best = " ".join(sentences[:k])
                if count + m >= total * goal:
                    break
        if best is None:
            best = " ".join(p.split()[: max(1, int(total * goal) - count)])
        out.append(best)
        break
    return out


def edit_words(paras: list[str], rng: random.Random) -> list[str]:
    """Replace 3-5% of the words (three letters or more) with other words of the same text."""
    tokens = [p.split(" ") for p in paras]
    positions = [
        (i, j)
        for i, ws in enumerate(tokens)
        for j, w in enumerate(ws)
        if len(_WORD.sub("", w)) < 2 and len("".join(_WORD.findall(w))) >= 3
    ]
    vocabulary = sorted({w for ws in tokens for w in ws if len(w) >= 3})
    share = rng.uniform(0.03, 0.05)
    n_words = sum(len(ws) for ws in tokens)
    for i, j in rng.sample(positions, min(len(positions), max(1, round(n_words * share)))):
        tokens[i][j] = rng.choice(vocabulary)
    return [" ".join(ws) for ws in tokens]


def update_paragraphs(rng: random.Random, published: datetime) -> list[str]:
    stamp = (published + timedelta(hours=rng.randint(2, 30))).strftime("%d %B %Y, %H:%M")
    out = []
    for k in range(rng.randint(1, 2)):
        sentences = rng.sample(UPDATE_SENTENCES, rng.randint(2, 4))
        out.append((f"Update, {stamp}: " if k == 0 else "") + " ".join(sentences))
    return out


def slugify(text: str) -> str:
    """An ASCII path slug (URLs on the wire are ASCII; non-Latin titles give "story")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = _WORD.findall(ascii_text.casefold())
    return "-".join(words[:8]) or "story"


def _copy_title(record: dict[str, Any], kind: str, rng: random.Random) -> str:
    title = record["title"]
    if kind != "b":
        return title
    words = title.split()
    if len(words) > 4:
        cut = rng.randint(2, len(words) - 2)
        words = words[cut:] + ["-"] + words[:cut]
    return f"{rng.choice(HEADLINE_PREFIXES)} {' '.join(words)}"


def build_labelled_set(
    records: list[dict[str, Any]],
    corpus: Path,
    seed: int = 1,
    kinds: str = "abcde",
    teasers: list[dict[str, Any]] | None = None,
) -> list[Doc]:
    """The originals (their real corpus pages) and one copy per transformation each, rendered
    on made-up sites (HTML built later by `render`, which needs the server's base URL)."""
    rng = random.Random(seed)
    docs: list[Doc] = []
    stories = story_ids(records)
    for n_rec, rec in enumerate(records):
        story = stories[n_rec]
        published = datetime.fromisoformat(rec["publishing_date"])
        docs.append(
            Doc(
                doc_id=len(docs),
                story=story,
                origin=len(docs),
                kind="original",
                site="original",
                path=f"/orig/{n_rec:03d}-{rec['publisher']}/{slugify(rec['title'])}",
                title=rec["title"],
                published=published,
                html=gzip.decompress((corpus / rec["html"]).read_bytes()),
                record=rec,
            )
        )
        origin = len(docs) - 1
        sites = list(SITES)
        rng.shuffle(sites)
        for n, kind in enumerate(kinds):
            site = sites[n % len(sites)]
            when = published + timedelta(minutes=rng.randint(5, 600))
            if kind == "b":
                when += timedelta(days=1)
            title = _copy_title(rec, kind, rng)
            docs.append(
                Doc(
                    doc_id=len(docs),
                    story=story,
                    origin=origin,
                    kind=kind,
                    site=site.slug,
                    path=f"/{site.slug}/{when:%Y/%m/%d}/{slugify(title)}-{len(docs)}",
                    title=title,
                    published=when,
                    record=rec,
                )
            )
    for doc in docs:
        if doc.kind != "original":
            doc.record = dict(doc.record, _paras=_transform(doc, rng))
    site_teasers = teasers if teasers is not None else records
    for doc in docs:
        if doc.kind != "original":
            doc.record["_teasers"] = _teasers_for(doc.site, site_teasers, seed)
    return docs


def _transform(doc: Doc, rng: random.Random) -> list[str]:
    paras = paragraphs(doc.record)
    if doc.kind == "b":
        first = paras[0] if paras else ""
        paras = [f"{rng.choice(CITIES)}, {doc.published:%B %d} ({doc.site.upper()}) - {first}"]
        paras += paragraphs(doc.record)[1:]
    elif doc.kind == "c":
        paras = trim(paras, rng)
    elif doc.kind == "d":
        paras = paras + update_paragraphs(rng, doc.published)
    elif doc.kind == "e":
        paras = edit_words(paras, rng)
    return paras


def _teasers_for(site: str, records: list[dict[str, Any]], seed: int) -> list[tuple[str, str]]:
    """The site's fixed "most read" list: other corpus titles with their first words."""
    rng = random.Random(f"{seed}-{site}")
    picks = rng.sample(records, min(8, len(records)))
    return [(r["title"], " ".join(r["body_text"].split()[:22]) + " …") for r in picks]


# --------------------------------------------------------------------------------------------
# Page templates
# --------------------------------------------------------------------------------------------


def _head(doc: Doc, site: Site, base_url: str, author: str) -> str:
    paras = doc.record["_paras"]
    description = " ".join(" ".join(paras).split()[:30])
    url = base_url + doc.path
    jsonld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": doc.title,
        "datePublished": doc.published.isoformat(),
        "dateModified": (doc.published + timedelta(minutes=42)).isoformat(),
        "author": [{"@type": "Person", "name": author}],
        "publisher": {"@type": "Organization", "name": site.name},
        "mainEntityOfPage": url,
        "description": description,
        "articleSection": site.nav[2],
        "keywords": [site.nav[1], site.nav[3]],
    }
    return (
        f"<head><meta charset='utf-8'><title>{escape(doc.title)} | {escape(site.name)}</title>"
        f"<link rel='canonical' href='{escape(url)}'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='description' content='{escape(description)}'>"
        f"<meta property='og:type' content='article'>"
        f"<meta property='og:title' content='{escape(doc.title)}'>"
        f"<meta property='og:url' content='{escape(url)}'>"
        f"<meta property='og:site_name' content='{escape(site.name)}'>"
        f"<meta property='og:description' content='{escape(description)}'>"
        f"<meta property='article:published_time' content='{doc.published.isoformat()}'>"
        f"<script type='application/ld+json'>{json.dumps(jsonld)}</script>"
        "<style>body{font-family:serif}.sidebar{float:right;width:30%}</style></head>"
    )


def _nav(site: Site) -> str:
    items = "".join(
        f"<li><a href='/{site.slug}/{escape(n.lower())}/'>{escape(n)}</a></li>" for n in site.nav
    )
    return f"<nav class='main-nav'><ul>{items}</ul></nav>"


def _most_read(doc: Doc, site: Site, with_summaries: bool) -> str:
    items = []
    for k, (title, summary) in enumerate(doc.record["_teasers"]):
        href = f"/{site.slug}/most-read/{k}"
        text = f"<p class='teaser'>{escape(summary)}</p>" if with_summaries else ""
        items.append(f"<li><a href='{href}'>{escape(title)}</a>{text}</li>")
    return f"<aside class='sidebar most-read'><h2>Most read</h2><ol>{''.join(items)}</ol></aside>"


def _footer(site: Site, long: bool) -> str:
    links = " · ".join(
        f"<a href='/{site.slug}/{p}'>{p.title()}</a>"
        for p in ("about", "contact", "privacy", "terms", "careers", "advertise")
    )
    legal = (
        f"<p>© 2026 {escape(site.name)}. All rights reserved. No part of this site may be"
        " reproduced without permission. Some stories are provided by news agencies and partners"
        " and are published under licence.</p>"
    )
    if long:
        legal += (
            f"<p>{escape(site.name)} is committed to accurate, fair and independent journalism."
            " If you believe we have made an error, please write to our corrections desk. We"
            " use cookies and similar technologies to understand how our readers use the site,"
            " to personalise content and to measure the effectiveness of our campaigns. By"
            " continuing to browse you agree to our use of cookies as described in our cookie"
            " policy. Our journalists follow the editors' code of practice and the principles"
            " of the independent press standards organisation.</p>"
            "<p>Subscribe to the morning briefing: the ten stories you need to know before"
            " breakfast, delivered to your inbox every weekday. Unsubscribe at any time.</p>"
        )
    return (
        f"<footer class='site-footer'><p>{links}</p>{legal}<p>{escape(site.tagline)}</p></footer>"
    )


def render(doc: Doc, base_url: str) -> bytes:
    """The copy's HTML page on its made-up site."""
    site = next(s for s in SITES if s.slug == doc.site)
    rec = doc.record
    author = (rec.get("authors") or [site.agency])[0]
    paras = [f"<p>{escape(p)}</p>" for p in rec["_paras"]]
    when = f"<time datetime='{doc.published.isoformat()}'>{doc.published:%d %b %Y %H:%M}</time>"
    byline = (
        f"<div class='byline'>By <span class='author'>{escape(author)}</span>,"
        f" {escape(site.agency)} · {when}</div>"
    )
    header = (
        f"<header class='masthead'><a class='logo' href='/{site.slug}/'>{escape(site.name)}</a>"
        f"<span class='tagline'>{escape(site.tagline)}</span>{_nav(site)}"
        "<form class='search'><input name='q' placeholder='Search'></form></header>"
    )
    share = (
        "<div class='share'><a href='#'>Share on Facebook</a> <a href='#'>Share on X</a>"
        " <a href='#'>Email</a> <a href='#'>Copy link</a></div>"
    )
    if site.style == "classic":
        body = (
            f"{header}<div class='breadcrumb'><a href='/{site.slug}/'>Home</a> › "
            f"<a href='/{site.slug}/world/'>World</a></div>"
            f"<div class='container'><article class='story'><h1>{escape(doc.title)}</h1>{byline}"
            f"<div class='article-body'>{''.join(paras)}</div>{share}</article>"
            f"{_most_read(doc, site, False)}</div>{_footer(site, False)}"
        )
    elif site.style == "modern":
        promo = (
            "<div class='promo newsletter'><strong>Get the Riverside Post daily</strong>"
            "<p>Sign up for our free newsletter.</p><a href='#'>Sign up</a></div>"
        )
        middle = len(paras) // 2
        story = "".join(paras[:middle]) + promo + "".join(paras[middle:])
        body = (
            f"<div class='cookie-banner'>We use cookies. <button>Accept</button></div>{header}"
            f"<main><article><header><h1>{escape(doc.title)}</h1>{byline}{share}</header>"
            f"<section class='story-body'>{story}</section>"
            f"<section class='related'><h2>Related</h2><ul>"
            + "".join(
                f"<li><a href='/{site.slug}/rel/{k}'>{escape(t)}</a></li>"
                for k, (t, _) in enumerate(rec["_teasers"][:4])
            )
            + f"</ul></section></article></main>{_most_read(doc, site, False)}{_footer(site, True)}"
        )
    elif site.style == "heavy":
        tags = "".join(
            f"<a class='tag' href='/{site.slug}/tag/{k}'>{escape(n)}</a> "
            for k, n in enumerate(site.nav)
        )
        body = (
            f"{header}<div class='ticker'>Markets: DAX +0.4% · FTSE -0.1% · Nikkei +1.2% ·"
            " Brent $82.10</div><div class='layout'>"
            f"<div class='main'><h1 itemprop='headline'>{escape(doc.title)}</h1>{byline}"
            f"<div itemprop='articleBody' class='entry'>{''.join(paras)}</div>"
            f"<div class='tags'>{tags}</div>{share}</div>"
            f"{_most_read(doc, site, True)}</div>{_footer(site, True)}"
        )
    else:  # blog
        read_more = (
            f"<p class='read-more'>Read more: <a href='/{site.slug}/most-read/0'>"
            f"{escape(rec['_teasers'][0][0])}</a></p>"
        )
        story = "".join(paras[:2]) + read_more + "".join(paras[2:])
        body = (
            f"{header}<div id='content'><div class='post'>"
            f"<h1 class='entry-title'>{escape(doc.title)}</h1>{byline}"
            f"<div class='post-content entry-content'>{story}</div>"
            "<div class='author-box'>About the author: a correspondent of the Dispatch desk.</div>"
            "<div class='comments'><h3>Comments</h3><p>Comments are closed.</p></div></div>"
            f"{_most_read(doc, site, False)}</div>{_footer(site, False)}"
        )
    head = _head(doc, site, base_url, author)
    page = f"<!DOCTYPE html><html lang='en'>{head}<body>{body}</body></html>"
    return page.encode("utf-8")


def feeds_for(docs: list[Doc], base_url: str) -> dict[str, bytes]:
    """RSS feeds listing every page: one per site (originals under "original"), split so no
    feed exceeds FEED_MAX_ITEMS items. Returns path -> feed bytes."""
    by_site: dict[str, list[Doc]] = defaultdict(list)
    for doc in docs:
        by_site[doc.site].append(doc)
    out = {}
    for site, site_docs in sorted(by_site.items()):
        for part in range(0, len(site_docs), FEED_MAX_ITEMS):
            items = []
            for doc in site_docs[part : part + FEED_MAX_ITEMS]:
                link = escape(base_url + doc.path)
                items.append(
                    f"<item><title>{escape(doc.title)}</title><link>{link}</link>"
                    f"<guid>{link}</guid><pubDate>{format_datetime(doc.published)}</pubDate></item>"
                )
            out[f"/feeds/{site}-{part // FEED_MAX_ITEMS}.xml"] = (
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>{site}</title><link>{base_url}/{site}/</link>{''.join(items)}"
                "</channel></rss>"
            ).encode()
    return out


# --------------------------------------------------------------------------------------------
# Ingest and score
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Wall time spent in the warehouse writer's dedup steps during the run."""

    cluster_s: float = 0.0
    record_s: float = 0.0
    articles: int = 0


def ingest_docs(docs: list[Doc], db: Path, seed: int = 1) -> tuple[dict[str, int], Timing]:
    """Serve every doc and its feeds on a LoopbackSite, run the `ingest` flow into `db`, and
    time the store's clustering and `record_page_results` on the way."""
    os.environ.setdefault("NEWS_INGEST_ALLOW_HOSTS", "127.0.0.1")
    import flows.ingest
    from pipeline.loopback import LoopbackSite
    from pipeline.store import observe_steps

    timing = Timing()

    def observe(step: str, seconds: float, items: int) -> None:
        if step == "cluster":
            timing.cluster_s += seconds
            timing.articles += items
        elif step == "record_pages":
            timing.record_s += seconds

    site = LoopbackSite().bind()
    base = site.base_url
    for doc in docs:
        doc.url = base + doc.path
        if doc.kind != "original":
            doc.html = render(doc, base)
        site.set(doc.path, doc.html, "text/html; charset=utf-8")
    feeds = feeds_for(docs, base)
    for path, body in feeds.items():
        site.set(path, body, "application/rss+xml")
    feed_urls = [base + p for p in feeds]
    random.Random(seed).shuffle(feed_urls)
    with observe_steps(observe), site:
        counts = flows.ingest.ingest(feed_urls=feed_urls, warehouse=str(db))
    return counts, timing


def landed(docs: list[Doc], db: Path) -> dict[int, tuple[int, str]]:
    """doc_id -> (cluster_id, extracted text) of the article its page became."""
    from pipeline.store import Warehouse
    from pipeline.urls import url_key

    with Warehouse(db, read_only=True) as wh:
        _, rows = wh.query(
            "SELECT e.link_key, a.cluster_id, a.text"
            " FROM feed_entries e JOIN articles a USING (article_id)"
        )
    by_key = {key: (int(cluster), text) for key, cluster, text in rows}
    out = {}
    for doc in docs:
        found = by_key.get(url_key(doc.url))
        if found is not None:
            out[doc.doc_id] = found
    return out


def related(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Hard negatives (g): same publisher, same country, or two title words in common."""
    if a["publisher"] == b["publisher"] or a.get("country") == b.get("country"):
        return True
    return len(_title_words(a["title"]) & _title_words(b["title"])) >= 2


@cache
def _title_words(title: str) -> frozenset[str]:
    words = _WORD.findall(title.casefold())
    return frozenset(w for w in words if len(w) >= 4 and w not in _TITLE_STOP)


@dataclass
class Scores:
    """Pairwise precision/recall of the predicted clusters against the labelled stories."""

    true_pairs: int = 0
    predicted_pairs: int = 0
    correct_pairs: int = 0
    recall_by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (hit, n)
    negatives: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (fp, pairs)
    missing_docs: int = 0
    missed: list[tuple[Doc, Doc]] = field(default_factory=list)
    false_pairs: list[tuple[Doc, Doc]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    def copies_recall(self) -> float:
        hits = sum(self.recall_by_kind[k][0] for k in POSITIVE_KINDS if k in self.recall_by_kind)
        n = sum(self.recall_by_kind[k][1] for k in POSITIVE_KINDS if k in self.recall_by_kind)
        return hits / n if n else 1.0


def score(docs: list[Doc], cluster_of: dict[int, int | None]) -> Scores:
    """Pairwise scores. True pairs: any two docs of one story (an original and its copies).
    Predicted pairs: any two docs whose articles share `cluster_id`."""
    s = Scores()
    s.missing_docs = sum(1 for d in docs if cluster_of.get(d.doc_id) is None)
    docs_by_id = {d.doc_id: d for d in docs}
    by_story: dict[int, list[Doc]] = defaultdict(list)
    for d in docs:
        by_story[d.story].append(d)
    for group in by_story.values():
        s.true_pairs += len(group) * (len(group) - 1) // 2
    for d in docs:
        if d.kind == "original":
            continue
        original = docs_by_id[d.origin]
        hit, n = s.recall_by_kind.get(d.kind, (0, 0))
        mine = cluster_of.get(d.doc_id)
        same = mine is not None and mine == cluster_of.get(original.doc_id)
        s.recall_by_kind[d.kind] = (hit + same, n + 1)
        if not same:
            s.missed.append((original, d))
    by_cluster: dict[int, list[Doc]] = defaultdict(list)
    for d in docs:
        c = cluster_of.get(d.doc_id)
        if c is not None:
            by_cluster[c].append(d)
    for members in by_cluster.values():
        for x, y in combinations(members, 2):
            s.predicted_pairs += 1
            if x.story == y.story:
                s.correct_pairs += 1
            else:
                s.false_pairs.append((x, y))
    # Hard negatives: how many such pairs exist, and how many were clustered.
    fp = Counter()
    for x, y in s.false_pairs:
        if x.site == y.site and x.site != "original":
            fp["f"] += 1
        if related(x.record, y.record):
            fp["g"] += 1
    f_pairs = g_pairs = 0
    for x, y in combinations(docs, 2):
        if x.story != y.story:
            f_pairs += x.site == y.site and x.site != "original"
            g_pairs += related(x.record, y.record)
    s.negatives = {"f": (fp["f"], f_pairs), "g": (fp["g"], g_pairs)}
    return s


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def dedup_cost(docs: list[Doc], timing: Timing, sample: int) -> list[str]:
    """Per-article cost lines: signing (worker), clustering and the whole page write (writer),
    against extraction measured here on a sample of the same pages."""
    from pipeline.extract import extract_article
    from pipeline.neardup import signature

    # Extraction and signing alternate page by page, so a busy machine slows both alike.
    picked = random.Random(0).sample(docs, min(sample, len(docs)))
    extract_s = sign_s = 0.0
    for doc in picked:
        start = time.perf_counter()
        text = extract_article(doc.html, doc.url).text
        middle = time.perf_counter()
        signature(text)
        extract_s += middle - start
        sign_s += time.perf_counter() - middle
    extract_ms = extract_s * 1000 / max(1, len(picked))
    sign_ms = sign_s * 1000 / max(1, len(picked))
    n = max(1, timing.articles)
    cluster_ms = timing.cluster_s * 1000 / n
    record_ms = timing.record_s * 1000 / n
    share = (sign_ms + cluster_ms) / extract_ms if extract_ms else 0.0
    return [
        f"extraction (extract_article, {len(picked)} pages)  {extract_ms:8.2f} ms/article",
        f"signature (neardup.signature, in the worker)    {sign_ms:8.2f} ms/article",
        f"clustering (hash, band probe, decision; writer) {cluster_ms:8.2f} ms/article",
        f"record_page_results (whole write, writer)       {record_ms:8.2f} ms/article",
        f"dedup share of extraction (signature + cluster) {share:8.1%}",
    ]


def pair_detail(a: tuple[int, str] | None, b: tuple[int, str] | None) -> str:
    """Why a pair may have been missed: estimated Jaccard and containment, shingle counts, LSH
    bands in common (0: never a candidate) and whether the rule matches them directly."""
    from pipeline.neardup import band_hashes, is_near_duplicate, signature

    if a is None or b is None:
        return "not landed"
    sa, sb = signature(a[1]), signature(b[1])
    if sa is None or sb is None:
        return "too short to sign"
    ok, j, c = is_near_duplicate(sa, sb)
    bands = sum(x == y for x, y in zip(band_hashes(sa), band_hashes(sb), strict=True))
    return (
        f"J={j:.2f} C={c:.2f} shingles {sa.shingles}/{sb.shingles} bands={bands}"
        f" rule={'match' if ok else 'no'}"
    )


def report(docs: list[Doc], s: Scores, view: dict[int, tuple[int, str]], max_list: int) -> str:
    lines = [
        f"docs: {len(docs)} ({sum(d.kind == 'original' for d in docs)} originals),"
        f" not landed: {s.missing_docs}",
        f"overall pairwise: precision {s.precision:.4f} ({s.correct_pairs}/{s.predicted_pairs}),"
        f" recall {s.recall:.4f} ({s.correct_pairs}/{s.true_pairs})",
        f"re-published copies (original, copy) recall: {s.copies_recall():.4f}",
        "",
        f"{'kind':<5}{'transformation':<48}{'result':>24}",
    ]
    for kind, label in POSITIVE_KINDS.items():
        if kind in s.recall_by_kind:
            hit, n = s.recall_by_kind[kind]
            lines.append(f"{kind:<5}{label:<48}{f'recall {hit / n:.3f} ({hit}/{n})':>24}")
    for kind, label in NEGATIVE_KINDS.items():
        fp, n = s.negatives[kind]
        lines.append(f"{kind:<5}{label:<48}{f'{fp} false pairs of {n}':>24}")
    if s.missed:
        lines += ["", f"missed (original, copy) pairs: {len(s.missed)}"]
        for original, copy in s.missed[:max_list]:
            rec = original.record
            lines.append(
                f"  {copy.kind} {rec['country']}/{rec['publisher']} on {copy.site}:"
                f" {pair_detail(view.get(original.doc_id), view.get(copy.doc_id))}"
            )
    if s.false_pairs:
        lines += ["", f"false pairs: {len(s.false_pairs)}"]
        for x, y in s.false_pairs[:max_list]:
            lines.append(
                f"  {x.kind}:{x.record['publisher']}@{x.site} ~ {y.kind}:{y.record['publisher']}"
                f"@{y.site}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus pages folder")
    parser.add_argument("--limit", type=int, default=None, help="originals to use (default: all)")
    parser.add_argument("--seed", type=int, default=1, help="seed of selection and edits")
    parser.add_argument("--keep", type=Path, default=None, help="write the warehouse here")
    parser.add_argument("--sample", type=int, default=60, help="pages timed for extraction cost")
    parser.add_argument("--show", type=int, default=20, help="misses/false pairs listed")
    args = parser.parse_args(argv)
    from pipeline.corpus import absent_reason

    if (reason := absent_reason(args.corpus)) is not None:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    if args.keep is not None and args.keep.exists():
        print(f"error: {args.keep} exists; --keep needs a new path", file=sys.stderr)
        return 2
    records, dropped = consistent(load_corpus(args.corpus), args.corpus)
    for line in dropped:
        print(f"left out (label fault): {line}")
    originals = select_originals(records, args.limit, args.seed)
    docs = build_labelled_set(originals, args.corpus, args.seed, teasers=records)
    print(f"{len(originals)} originals, {len(docs)} pages; ingesting over loopback ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="dedup-eval-") as tmp:
        db = args.keep or Path(tmp) / "news.duckdb"
        if args.keep is None:
            os.environ.setdefault("NEWS_INGEST_ARCHIVE", str(Path(tmp) / "archive"))
        start = time.perf_counter()
        counts, timing = ingest_docs(docs, db, args.seed)
        elapsed = time.perf_counter() - start
        view = landed(docs, db)
    cluster_of: dict[int, int | None] = {k: v[0] for k, v in view.items()}
    s = score(docs, cluster_of)
    print(
        f"ingest: {elapsed:.1f} s, articles_new={counts.get('articles_new')}"
        f" duplicates={counts.get('duplicates')} pages_failed={counts.get('pages_failed')}"
    )
    print()
    print(report(docs, s, view, args.show))
    print()
    print("dedup cost")
    print("\n".join(dedup_cost(docs, timing, args.sample)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
