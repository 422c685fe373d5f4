"""A deterministic, made-up multi-publisher news site (HTML, RSS, Atom, OPML) for demo and tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from functools import cache
from html import escape
from importlib import resources

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
OPML = "text/x-opml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# Everything below is fictional: invented towns, people, teams and organisations.


@dataclass(frozen=True)
class Publisher:
    prefix: str  # path prefix, e.g. "/daily-herald"; all publishers share one 127.0.0.1 host
    name: str
    tagline: str
    domain_id: str  # stable id used in guids/Atom ids, independent of the loopback port
    nav: tuple[str, ...]
    feed_path: str
    feed_kind: str  # "rss", "atom" or "rss-tracked"


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


DAILY_HERALD = Publisher(
    prefix="/daily-herald",
    name="The Millbrook Daily Herald",
    tagline="News for Millbrook and the valley since 1911",
    domain_id="daily-herald.example",
    nav=("Politics", "Transport", "Community", "Business", "World"),
    feed_path="/daily-herald/feed/",
    feed_kind="rss",
)
COASTAL_TIMES = Publisher(
    prefix="/coastal-times",
    name="Coastal Times",
    tagline="Port Ellery and the north shore",
    domain_id="coastal-times.example",
    nav=("Weather", "Sport", "Local", "Science", "World"),
    feed_path="/coastal-times/feed/atom/",
    feed_kind="atom",
)
WIRE_REVIEW = Publisher(
    prefix="/wire-review",
    name="The Wire Review",
    tagline="Science, money and culture, reviewed weekly",
    domain_id="wire-review.example",
    nav=("Science", "Economy", "Business", "Culture"),
    feed_path="/wire-review/feed/",
    feed_kind="rss-tracked",
)
PUBLISHERS = (DAILY_HERALD, COASTAL_TIMES, WIRE_REVIEW)

BROKEN_FEED_PATH = "/daily-herald/feed/weekend/"
OPML_PATH = "/feeds.opml"

STORIES_FILE = "sample_stories.json"  # beside this module; installed as package data


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


@cache
def load_stories() -> tuple[Story, ...]:
    """The stories of sample_stories.json, in site order. A story marked "wire" carries the
    file's wire_paragraphs: identical body text on two sites, each with its own headline."""
    raw = json.loads(resources.files("pipeline").joinpath(STORIES_FILE).read_text("utf-8"))
    by_prefix = {p.prefix.strip("/"): p for p in PUBLISHERS}
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


UPDATED_POST_ID = 201
UPDATED_MODIFIED = "2026-03-11T18:40:00+00:00"
UPDATE_PARAGRAPH = (
    "Update: At 6.40pm forecasters lifted the amber warning several hours early as the storm "
    "tracked further north than expected. The evening ferry sailed at 8pm, and the county "
    "council said no roads had been closed."
)
# The same article listed twice in the tracked feed, with different campaign parameters.
DUPLICATE_LISTED_POST_ID = 301
SYNDICATED_POST_IDS = (105, 205)


def _slugify(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(part for part in out.split("-") if part)


def _article_path(pub: Publisher, date_path: str, slug: str) -> str:
    return f"{pub.prefix}/{date_path}/{slug}/"


def _facts(version: int) -> list[ArticleFact]:
    facts = []
    for story in load_stories():
        modified, paragraphs = story.modified, story.paragraphs
        if version >= 2 and story.post_id == UPDATED_POST_ID:
            modified, paragraphs = UPDATED_MODIFIED, (*paragraphs, UPDATE_PARAGRAPH)
        facts.append(
            ArticleFact(
                path=_article_path(story.publisher, story.date_path, story.slug),
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


def _publisher_of(fact: ArticleFact) -> Publisher:
    return next(p for p in PUBLISHERS if p.name == fact.publisher)


def _human_date(iso: str) -> str:
    d = datetime.fromisoformat(iso)
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


def _json_ld(data: object) -> str:
    # "</" inside a script block would end it early, so escape the slash as JSON allows.
    return json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")


def _json_ld_for(fact: ArticleFact, pub: Publisher, base: str) -> str:
    url = base + fact.path
    people = [{"@type": "Person", "name": a} for a in fact.authors]
    org = {"@type": "NewsMediaOrganization", "name": pub.name, "url": f"{base}{pub.prefix}/"}
    if pub is COASTAL_TIMES:
        # Yoast-style @graph with id references and a comma-separated keywords string,
        # the shape most WordPress news sites actually emit.
        return _json_ld(
            {
                "@context": "https://schema.org",
                "@graph": [
                    {"@type": "WebPage", "@id": url, "url": url, "name": fact.headline},
                    {
                        "@type": "NewsArticle",
                        "@id": url + "#article",
                        "isPartOf": {"@id": url},
                        "mainEntityOfPage": {"@id": url},
                        "headline": fact.headline,
                        "description": fact.summary,
                        "datePublished": fact.published,
                        "dateModified": fact.modified,
                        "author": people,
                        "publisher": {"@id": f"{base}{pub.prefix}/#organization"},
                        "articleSection": [fact.section],
                        "keywords": ", ".join(fact.tags),
                        "inLanguage": "en-GB",
                    },
                    {**org, "@id": f"{base}{pub.prefix}/#organization"},
                ],
            }
        )
    article = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "headline": fact.headline,
        "description": fact.summary,
        "datePublished": fact.published,
        "dateModified": fact.modified,
        "author": people,
        "publisher": org,
        "articleSection": fact.section,
        "keywords": list(fact.tags) if pub is DAILY_HERALD else ", ".join(fact.tags),
        "inLanguage": "en",
    }
    if fact.post_id in SYNDICATED_POST_IDS:
        article["sourceOrganization"] = {
            "@type": "Organization",
            "name": "Continental Press Agency",
        }
    return _json_ld(article)


def _a(href: str, text: str, rel: str = "") -> str:
    rel_attr = f' rel="{escape(rel)}"' if rel else ""
    return f'<a href="{escape(href)}"{rel_attr}>{escape(text, quote=False)}</a>'


def render_article(fact: ArticleFact, base: str, siblings: list[ArticleFact]) -> str:
    pub = _publisher_of(fact)
    url = base + fact.path
    home = f"{base}{pub.prefix}/"
    e = escape
    meta_tags = "\n".join(f'<meta property="article:tag" content="{e(t)}">' for t in fact.tags)
    nav = "".join(f"<li>{_a(f'{home}category/{_slugify(s)}/', s)}</li>" for s in pub.nav)
    byline = " and ".join(
        f'<span class="author vcard">{_a(f"{home}author/{_slugify(a)}/", a)}</span>'
        for a in fact.authors
    )
    body = "\n".join(f"<p>{e(p, quote=False)}</p>" for p in fact.paragraphs)
    category = _a(f"{home}category/{_slugify(fact.section)}/", fact.section, "category tag")
    tags = ", ".join(_a(f"{home}tag/{_slugify(t)}/", t, "tag") for t in fact.tags)
    # "Most read" carries other headlines: boilerplate an extractor must not take as text.
    most_read = "\n".join(
        f"<li>{_a(base + s.path, s.headline)}</li>" for s in siblings if s.path != fact.path
    )
    credit = ""
    if fact.post_id in SYNDICATED_POST_IDS:
        # In the byline, not the body, so both copies' extracted text equals fact.text.
        credit = ' <span class="wire-credit">Continental Press Agency</span>'
    feed_type = ATOM.split(";")[0] if pub.feed_kind == "atom" else RSS.split(";")[0]
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(fact.headline, quote=False)} | {e(pub.name, quote=False)}</title>
<meta name="description" content="{e(fact.summary)}">
<meta name="author" content="{e(", ".join(fact.authors))}">
<link rel="canonical" href="{e(url)}">
<link rel="alternate" type="{feed_type}" title="{e(pub.name)} &raquo; Feed"
 href="{e(base + pub.feed_path)}">
<meta property="og:locale" content="en_US">
<meta property="og:type" content="article">
<meta property="og:title" content="{e(fact.headline)}">
<meta property="og:description" content="{e(fact.summary)}">
<meta property="og:url" content="{e(url)}">
<meta property="og:site_name" content="{e(pub.name)}">
<meta property="article:published_time" content="{fact.published}">
<meta property="article:modified_time" content="{fact.modified}">
<meta property="article:section" content="{e(fact.section)}">
{meta_tags}
<meta name="twitter:card" content="summary">
<script type="application/ld+json">
{_json_ld_for(fact, pub, base)}
</script>
</head>
<body class="post-template-default single single-post postid-{fact.post_id} single-format-standard">
<div id="cookie-notice" class="cookie-notice">We use cookies to understand how our site is used.
<button type="button">Accept</button></div>
<div id="page" class="site">
<header id="masthead" class="site-header">
<div class="site-branding">
<p class="site-title">{_a(home, pub.name, "home")}</p>
<p class="site-description">{e(pub.tagline, quote=False)}</p>
</div>
<nav id="site-navigation" class="main-navigation"><ul class="menu">{nav}</ul></nav>
</header>
<div id="content" class="site-content">
<main id="main" class="site-main">
<article id="post-{fact.post_id}" class="post-{fact.post_id} post type-post status-publish
 format-standard hentry category-{_slugify(fact.section)}">
<header class="entry-header">
<h1 class="entry-title">{e(fact.headline, quote=False)}</h1>
<div class="entry-meta"><span class="byline">By {byline}</span>{credit} <span class="posted-on">
<time class="entry-date published" datetime="{fact.published}">{_human_date(fact.published)}</time>
<time class="updated" datetime="{fact.modified}">{_human_date(fact.modified)}</time>
</span></div>
</header>
<div class="entry-content">
{body}
</div>
<div class="entry-footer">Categorized in: {category} Tagged in: {tags}</div>
</article>
<div class="sharedaddy"><h3 class="sd-title">Share this:</h3>
<ul><li><a href="#share-email">Email</a></li><li><a href="#share-print">Print</a></li></ul></div>
</main>
<aside id="secondary" class="widget-area">
<section class="widget widget_most_read"><h2 class="widget-title">Most read</h2>
<ol>
{most_read}
</ol>
</section>
<section class="widget widget_newsletter"><h2 class="widget-title">Newsletter</h2>
<p>Get the morning briefing from {e(pub.name, quote=False)} in your inbox every weekday.</p>
</section>
</aside>
</div>
<footer id="colophon" class="site-footer">
<p>&copy; 2026 {e(pub.name, quote=False)}. All rights reserved.</p>
<p>{_a(home + "about/", "About us")} | {_a(home + "contact/", "Contact")}
 | {_a(home + "privacy-policy/", "Privacy policy")}</p>
</footer>
</div>
</body>
</html>
"""


def _render_home(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
    items = "\n".join(
        f'<li><h2 class="entry-title">{_a(base + f.path, f.headline)}</h2>'
        f"<p>{escape(f.summary, quote=False)}</p></li>"
        for f in facts
    )
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="UTF-8">
<title>{escape(pub.name, quote=False)} | {escape(pub.tagline, quote=False)}</title>
<meta property="og:site_name" content="{escape(pub.name)}">
<link rel="alternate" type="{(ATOM if pub.feed_kind == "atom" else RSS).split(";")[0]}"
 href="{escape(base + pub.feed_path)}">
</head>
<body class="home blog"><h1>{escape(pub.name, quote=False)}</h1><ul class="posts">
{items}
</ul></body></html>
"""


def _render_root(base: str) -> str:
    items = "\n".join(f"<li>{_a(f'{base}{p.prefix}/', p.name)}</li>" for p in PUBLISHERS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>news-ingest sample site</title></head>
<body><h1>Sample publishers (fictional)</h1><ul>
{items}
</ul><p><a href="{base}{OPML_PATH}">OPML of all feeds</a></p></body></html>
"""


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _html_body(fact: ArticleFact) -> str:
    return "".join(f"<p>{escape(p, quote=False)}</p>" for p in fact.paragraphs)


def _render_rss(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
    """WordPress-style RSS 2.0: opaque guid, dc:creator, categories, content:encoded, ttl."""
    newest = max(f.modified for f in facts)
    items = []
    for f in sorted(facts, key=lambda f: f.published, reverse=True):
        cats = "".join(f"<category>{_cdata(c)}</category>" for c in (f.section, *f.tags))
        creators = "".join(f"<dc:creator>{_cdata(a)}</dc:creator>" for a in f.authors)
        items.append(
            f"""<item>
<title>{escape(f.headline, quote=False)}</title>
<link>{escape(base + f.path)}</link>
{creators}
<pubDate>{_rfc822(f.published)}</pubDate>
{cats}
<guid isPermaLink="false">{escape(f"https://{pub.domain_id}/?p={f.post_id}")}</guid>
<description>{_cdata(f.summary)}</description>
<content:encoded>{_cdata(_html_body(f))}</content:encoded>
</item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{escape(pub.name, quote=False)}</title>
<atom:link href="{escape(base + pub.feed_path)}" rel="self" type="application/rss+xml"/>
<link>{escape(f"{base}{pub.prefix}/")}</link>
<description>{escape(pub.tagline, quote=False)}</description>
<lastBuildDate>{_rfc822(newest)}</lastBuildDate>
<language>en-GB</language>
<ttl>30</ttl>
<generator>https://wordpress.org/?v=6.5</generator>
{chr(10).join(items)}
</channel>
</rss>
"""


def _tracked(url: str, campaign: str) -> str:
    return f"{url}?utm_source=rss&utm_medium=feed&utm_campaign={campaign}"


def _render_tracked_rss(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
    """RSS whose item links carry utm_* parameters; one article is listed twice."""
    newest = max(f.modified for f in facts)
    entries: list[tuple[ArticleFact, str]] = [(f, "weekly") for f in facts]
    dup = next(f for f in facts if f.post_id == DUPLICATE_LISTED_POST_ID)
    # Newsletters re-list a popular piece under another campaign: same article, new URL.
    entries.append((dup, "editors-picks"))
    entries.sort(key=lambda pair: pair[0].published, reverse=True)
    items = []
    for f, campaign in entries:
        link = _tracked(base + f.path, campaign)
        items.append(
            f"""<item>
<title>{escape(f.headline, quote=False)}</title>
<link>{escape(link)}</link>
<author>{escape(f"desk@{pub.domain_id} ({', '.join(f.authors)})", quote=False)}</author>
<pubDate>{_rfc822(f.published)}</pubDate>
<category>{escape(f.section, quote=False)}</category>
<guid isPermaLink="true">{escape(link)}</guid>
<description>{escape(f.summary, quote=False)}</description>
</item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>{escape(pub.name, quote=False)}</title>
<link>{escape(f"{base}{pub.prefix}/")}</link>
<description>{escape(pub.tagline, quote=False)}</description>
<lastBuildDate>{_rfc822(newest)}</lastBuildDate>
<ttl>60</ttl>
{chr(10).join(items)}
</channel>
</rss>
"""


def _render_atom(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
    newest = max(f.modified for f in facts)
    entries = []
    for f in sorted(facts, key=lambda f: f.modified, reverse=True):
        authors = "".join(
            f"<author><name>{escape(a, quote=False)}</name></author>" for a in f.authors
        )
        cats = "".join(
            f'<category scheme="{escape(base + pub.prefix)}/" term="{escape(c)}"/>'
            for c in (f.section, *f.tags)
        )
        entries.append(
            f"""<entry>
<title type="text">{escape(f.headline, quote=False)}</title>
<link rel="alternate" type="text/html" href="{escape(base + f.path)}"/>
<id>tag:{pub.domain_id},2026:post-{f.post_id}</id>
<published>{f.published}</published>
<updated>{f.modified}</updated>
{authors}
{cats}
<summary type="text">{escape(f.summary, quote=False)}</summary>
<content type="html">{escape(_html_body(f), quote=False)}</content>
</entry>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB">
<title type="text">{escape(pub.name, quote=False)}</title>
<subtitle type="text">{escape(pub.tagline, quote=False)}</subtitle>
<id>tag:{pub.domain_id},2026:feed</id>
<updated>{newest}</updated>
<link rel="alternate" type="text/html" href="{escape(f"{base}{pub.prefix}/")}"/>
<link rel="self" type="application/atom+xml" href="{escape(base + pub.feed_path)}"/>
<generator uri="https://wordpress.org/" version="6.5">WordPress</generator>
{chr(10).join(entries)}
</feed>
"""


def _render_broken_feed(base: str, facts: list[ArticleFact]) -> str:
    # A feed cut off mid-transfer: well-formed start, truncated inside the channel header,
    # so no entry can be recovered and a parser must report it as malformed (bozo).
    full = _render_rss(DAILY_HERALD, base, facts)
    cut = full.index("<lastBuildDate>") + len("<lastBuildDate>Tue, 10 Ma")
    return full[:cut]


def _render_opml(base: str) -> str:
    outlines = [
        f'<outline type="rss" text="{escape(p.name)}" title="{escape(p.name)}" '
        f'xmlUrl="{escape(base + p.feed_path)}" htmlUrl="{escape(f"{base}{p.prefix}/")}"/>'
        for p in PUBLISHERS
    ]
    outlines.append(
        f'<outline type="rss" text="Daily Herald weekend edition" '
        f'xmlUrl="{escape(base + BROKEN_FEED_PATH)}" htmlUrl="{escape(f"{base}/daily-herald/")}"/>'
    )
    body = "\n".join(outlines)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
<head><title>news-ingest sample feeds</title>
<dateCreated>Wed, 11 Mar 2026 07:00:00 GMT</dateCreated></head>
<body>
<outline text="Sample news" title="Sample news">
{body}
</outline>
</body>
</opml>
"""


@dataclass
class SampleSite:
    """Routes to serve plus the facts tests and the demo can rely on."""

    base_url: str
    version: int
    routes: dict[str, tuple[str, bytes]]
    articles: tuple[ArticleFact, ...]
    feed_paths: list[str]  # the good feeds, one per publisher
    broken_feed_path: str
    opml_path: str
    opml_bytes: bytes
    syndicated_story_paths: tuple[str, str]  # (earlier copy, later copy); same body text
    updated_article_path: str
    duplicate_listed_path: str  # listed twice, under two utm_campaign values
    tracked_feed_path: str
    feed_entry_counts: dict[str, int] = field(default_factory=dict)

    @property
    def article_paths(self) -> list[str]:
        return [a.path for a in self.articles]

    @property
    def all_feed_paths(self) -> list[str]:
        return [*self.feed_paths, self.broken_feed_path]

    @property
    def expected_article_count(self) -> int:
        """Distinct article URLs (after dropping tracking params) from all good feeds."""
        return len(self.articles)

    @property
    def expected_unique_story_count(self) -> int:
        """Distinct stories once the syndicated copy is folded into its twin."""
        return len(self.articles) - 1

    def url(self, path: str) -> str:
        return self.base_url + path

    def article(self, path: str) -> ArticleFact:
        return next(a for a in self.articles if a.path == path)

    def updated_routes(self) -> dict[str, tuple[str, bytes]]:
        """Routes whose bytes differ in version 2: the updated article and its feed."""
        later = build_sample_site(self.base_url, version=self.version + 1)
        return {
            path: route for path, route in later.routes.items() if self.routes.get(path) != route
        }


def build_sample_site(base_url: str, version: int = 1) -> SampleSite:
    """Build every page and feed with absolute links under base_url (no trailing slash).

    version=2 appends an "Update:" paragraph to the storm article, bumps its modified date and
    its Atom <updated>; nothing else changes, so conditional GETs on other URLs still 304.
    """
    base = base_url.rstrip("/")
    facts = _facts(version)
    routes: dict[str, tuple[str, bytes]] = {}
    for pub in PUBLISHERS:
        own = [f for f in facts if f.publisher == pub.name]
        for fact in own:
            routes[fact.path] = (HTML, render_article(fact, base, own).encode())
        routes[f"{pub.prefix}/"] = (HTML, _render_home(pub, base, own).encode())
        if pub.feed_kind == "rss":
            routes[pub.feed_path] = (RSS, _render_rss(pub, base, own).encode())
        elif pub.feed_kind == "atom":
            routes[pub.feed_path] = (ATOM, _render_atom(pub, base, own).encode())
        else:
            routes[pub.feed_path] = (RSS, _render_tracked_rss(pub, base, own).encode())
    herald = [f for f in facts if f.publisher == DAILY_HERALD.name]
    routes[BROKEN_FEED_PATH] = (RSS, _render_broken_feed(base, herald).encode())
    opml = _render_opml(base).encode()
    routes[OPML_PATH] = (OPML, opml)
    routes["/"] = (HTML, _render_root(base).encode())
    routes["/robots.txt"] = (TEXT, b"User-agent: *\nAllow: /\n")

    by_id = {f.post_id: f for f in facts}
    counts = {}
    for pub in PUBLISHERS:
        n = sum(1 for f in facts if f.publisher == pub.name)
        counts[pub.feed_path] = n + (1 if pub.feed_kind == "rss-tracked" else 0)
    return SampleSite(
        base_url=base,
        version=version,
        routes=routes,
        articles=tuple(facts),
        feed_paths=[p.feed_path for p in PUBLISHERS],
        broken_feed_path=BROKEN_FEED_PATH,
        opml_path=OPML_PATH,
        opml_bytes=opml,
        syndicated_story_paths=(by_id[105].path, by_id[205].path),
        updated_article_path=by_id[UPDATED_POST_ID].path,
        duplicate_listed_path=by_id[DUPLICATE_LISTED_POST_ID].path,
        tracked_feed_path=WIRE_REVIEW.feed_path,
        feed_entry_counts=counts,
    )
