"""The sample site's feeds: WordPress-style RSS, utm-tracked RSS, Atom, a truncated feed, OPML.

Pages are rendered by pipeline.sample_site; both read their data from pipeline.sample_data.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from html import escape

from pipeline.sample_data import (
    BROKEN_FEED_PATH,
    BROKEN_FEED_PUBLISHER,
    DUPLICATE_LISTED_POST_ID,
    ArticleFact,
    Publisher,
    load_publishers,
    publisher_by_prefix,
)


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def html_body(fact: ArticleFact) -> str:
    return "".join(f"<p>{escape(p, quote=False)}</p>" for p in fact.paragraphs)


def render_rss(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
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
<content:encoded>{_cdata(html_body(f))}</content:encoded>
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


def render_tracked_rss(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
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


def render_atom(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
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
<content type="html">{escape(html_body(f), quote=False)}</content>
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


def render_broken_feed(base: str, facts: list[ArticleFact]) -> str:
    # A feed cut off mid-transfer: well-formed start, truncated inside the channel header,
    # so no entry can be recovered and a parser must report it as malformed (bozo).
    full = render_rss(publisher_by_prefix(BROKEN_FEED_PUBLISHER), base, facts)
    cut = full.index("<lastBuildDate>") + len("<lastBuildDate>Tue, 10 Ma")
    return full[:cut]


def render_opml(base: str) -> str:
    outlines = [
        f'<outline type="rss" text="{escape(p.name)}" title="{escape(p.name)}" '
        f'xmlUrl="{escape(base + p.feed_path)}" htmlUrl="{escape(f"{base}{p.prefix}/")}"/>'
        for p in load_publishers()
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
