"""A deterministic, made-up multi-publisher news site (HTML, RSS, Atom, OPML) for demo and tests.

This module renders the HTML pages and assembles the routes; the feeds come from
pipeline.sample_feeds, the publishers and stories from pipeline.sample_data
(sample_stories.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from pipeline.sample_data import (
    BROKEN_FEED_PATH,
    BROKEN_FEED_PUBLISHER,
    DUPLICATE_LISTED_POST_ID,
    OPML_PATH,
    SYNDICATED_POST_IDS,
    ArticleFact,
    Publisher,
    article_facts,
    load_publishers,
    load_update,
    publisher_by_prefix,
    publisher_of,
    slugify,
)
from pipeline.sample_feeds import (
    render_atom,
    render_broken_feed,
    render_opml,
    render_rss,
    render_tracked_rss,
)

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
OPML = "text/x-opml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


def _human_date(iso: str) -> str:
    d = datetime.fromisoformat(iso)
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def _json_ld(data: object) -> str:
    # "</" inside a script block would end it early, so escape the slash as JSON allows.
    return json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")


def _json_ld_for(fact: ArticleFact, pub: Publisher, base: str) -> str:
    url = base + fact.path
    people = [{"@type": "Person", "name": a} for a in fact.authors]
    org = {"@type": "NewsMediaOrganization", "name": pub.name, "url": f"{base}{pub.prefix}/"}
    if pub.json_ld == "graph":
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
        "keywords": list(fact.tags) if pub.json_ld == "keyword-list" else ", ".join(fact.tags),
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
    pub = publisher_of(fact)
    url = base + fact.path
    home = f"{base}{pub.prefix}/"
    e = escape
    meta_tags = "\n".join(f'<meta property="article:tag" content="{e(t)}">' for t in fact.tags)
    nav = "".join(f"<li>{_a(f'{home}category/{slugify(s)}/', s)}</li>" for s in pub.nav)
    byline = " and ".join(
        f'<span class="author vcard">{_a(f"{home}author/{slugify(a)}/", a)}</span>'
        for a in fact.authors
    )
    body = "\n".join(f"<p>{e(p, quote=False)}</p>" for p in fact.paragraphs)
    category = _a(f"{home}category/{slugify(fact.section)}/", fact.section, "category tag")
    tags = ", ".join(_a(f"{home}tag/{slugify(t)}/", t, "tag") for t in fact.tags)
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
 format-standard hentry category-{slugify(fact.section)}">
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
    items = "\n".join(f"<li>{_a(f'{base}{p.prefix}/', p.name)}</li>" for p in load_publishers())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>news-ingest sample site</title></head>
<body><h1>Sample publishers (fictional)</h1><ul>
{items}
</ul><p><a href="{base}{OPML_PATH}">OPML of all feeds</a></p></body></html>
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
    facts = article_facts(version)
    routes: dict[str, tuple[str, bytes]] = {}
    for pub in load_publishers():
        own = [f for f in facts if f.publisher == pub.name]
        for fact in own:
            routes[fact.path] = (HTML, render_article(fact, base, own).encode())
        routes[f"{pub.prefix}/"] = (HTML, _render_home(pub, base, own).encode())
        if pub.feed_kind == "rss":
            routes[pub.feed_path] = (RSS, render_rss(pub, base, own).encode())
        elif pub.feed_kind == "atom":
            routes[pub.feed_path] = (ATOM, render_atom(pub, base, own).encode())
        else:
            routes[pub.feed_path] = (RSS, render_tracked_rss(pub, base, own).encode())
    herald = publisher_by_prefix(BROKEN_FEED_PUBLISHER).name
    broken_listed = [f for f in facts if f.publisher == herald]
    routes[BROKEN_FEED_PATH] = (RSS, render_broken_feed(base, broken_listed).encode())
    opml = render_opml(base).encode()
    routes[OPML_PATH] = (OPML, opml)
    routes["/"] = (HTML, _render_root(base).encode())
    routes["/robots.txt"] = (TEXT, b"User-agent: *\nAllow: /\n")

    by_id = {f.post_id: f for f in facts}
    counts = {}
    for pub in load_publishers():
        n = sum(1 for f in facts if f.publisher == pub.name)
        counts[pub.feed_path] = n + (1 if pub.feed_kind == "rss-tracked" else 0)
    return SampleSite(
        base_url=base,
        version=version,
        routes=routes,
        articles=tuple(facts),
        feed_paths=[p.feed_path for p in load_publishers()],
        broken_feed_path=BROKEN_FEED_PATH,
        opml_path=OPML_PATH,
        opml_bytes=opml,
        syndicated_story_paths=(by_id[105].path, by_id[205].path),
        updated_article_path=by_id[load_update().post_id].path,
        duplicate_listed_path=by_id[DUPLICATE_LISTED_POST_ID].path,
        tracked_feed_path=next(
            p.feed_path for p in load_publishers() if p.feed_kind == "rss-tracked"
        ),
        feed_entry_counts=counts,
    )
