"""Read a page's own metadata (JSON-LD, OpenGraph, meta, rel=tag links) as per-source candidates."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from pipeline.names import clean_text, dedupe

# schema.org types whose object describes the article itself.
ARTICLE_TYPES = frozenset(
    {
        "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
        "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "askpublicnewsarticle",
        "blogposting", "liveblogposting", "socialmediaposting", "techarticle", "scholarlyarticle",
        "report", "satiricalarticle", "advertisercontentarticle", "medicalscholarlyarticle",
        "discussionforumposting", "videoobject", "podcastepisode",
    }
)
# Types that carry an article only through `mainEntity` (or describe the page when nothing else
# does).
PAGE_TYPES = frozenset({"webpage", "itempage", "collectionpage", "profilepage", "aboutpage"})
# Types whose `name` is the site's name.
SITE_TYPES = frozenset({"website", "organization", "newsmediaorganization", "corporation"})
# Meta keys (name/property/itemprop, lower-cased) read into each field of the "meta" source,
# in order of trust: parsely and sailthru are written for analytics and rarely stale.
META_TITLE_KEYS = (
    "parsely-title", "sailthru.title", "dc.title", "dcterms.title", "headline", "title",
)
META_AUTHOR_KEYS = (
    "parsely-author", "sailthru.author", "cxenseparse:author", "author", "dc.creator",
    "dcterms.creator", "byl", "citation_author",
)
META_PUBLISHED_KEYS = (
    "parsely-pub-date", "sailthru.date", "datepublished", "dc.date.issued", "dcterms.issued",
    "dc.date.created", "dcterms.created", "dc.date", "dcterms.date", "date", "pubdate",
    "publishdate", "publish-date", "article.published", "citation_publication_date",
    "og:published_time",
)
META_MODIFIED_KEYS = ("datemodified", "dcterms.modified", "dc.date.modified", "article.updated",
                      "lastmod", "last-modified")
META_SECTION_KEYS = ("parsely-section", "sailthru.section", "section", "article.section")
META_TAG_KEYS = ("news_keywords", "keywords", "parsely-tags", "sailthru.tags", "dc.subject",
                 "dcterms.subject")
META_DESCRIPTION_KEYS = ("description", "dc.description", "dcterms.description",
                         "sailthru.description", "twitter:description")
META_SITE_KEYS = ("application-name", "dc.publisher", "dcterms.publisher", "publisher")
# Meta tags naming who holds the page's rights: an organisation, never the article's author.
META_RIGHTS_KEYS = ("copyright", "dcterms.rightsholder", "dc.rights", "dcterms.rights", "rights")
_RIGHTS_NOISE = re.compile(
    r"copyright|\(c\)|©|all rights reserved\.?|alle rechte vorbehalten\.?|tous droits réservés"
    r"\.?|\b(?:19|20)\d\d\b(?:\s*[-–]\s*(?:19|20)\d\d)?",
    re.IGNORECASE,
)
META_IMAGE_KEYS = ("twitter:image", "twitter:image:src", "sailthru.image.full", "thumbnail",
                   "parsely-image-url")
META_LANGUAGE_KEYS = ("content-language", "dc.language", "dcterms.language", "language")
# rel=tag links beyond this many are a tag cloud or a site menu, not this article's tags.
MAX_REL_TAGS = 40
# A byline is short; longer text in an "author" element is a biography or a teaser.
MAX_BYLINE_LEN = 80
MAX_BYLINES = 12
# Microdata itemprops (on any element but <meta>, which _meta_map reads) -> Candidates field.
MICRODATA_PROPS = {
    "datepublished": "published", "datecreated": "published", "datemodified": "modified",
    "headline": "title", "author": "authors", "creator": "authors", "keywords": "tags",
    "articlesection": "categories", "inlanguage": "language",
}

_JSONLD_XPATH = etree.XPath(
    "//script[translate(@type, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    "='application/ld+json']"
)
_META_XPATH = etree.XPath("//meta")
_CANONICAL_XPATH = etree.XPath(
    "//link[translate(@rel, 'CANOLI', 'canoli')='canonical']/@href"
)
_REL_TAG_XPATH = etree.XPath("//a[contains(concat(' ', normalize-space(@rel), ' '), ' tag ')]")
_ITEMPROP_XPATH = etree.XPath("//*[@itemprop][not(self::meta)]")
# Byline markup: rel=author links, elements whose class names an author or byline.
_BYLINE_XPATH = etree.XPath(
    "//a[contains(concat(' ', normalize-space(@rel), ' '), ' author ')]"
    " | //*[contains(@class, 'author') or contains(@class, 'Author')"
    " or contains(@class, 'byline') or contains(@class, 'Byline')]"
)
_REL_AUTHOR_XPATH = etree.XPath("a[contains(concat(' ', normalize-space(@rel), ' '), ' author ')]")
# A paragraph that is nothing but bold text: the byline of many small publishers' bodies.
_BOLD_PARAGRAPH_XPATH = etree.XPath(
    "//p[(strong or b) and count(*) = 1 and normalize-space(.) = normalize-space(strong|b)]"
)
_TRAILING_COMMA = re.compile(r",\s*([\]}])")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class Candidates:
    """The values one metadata source offers for an article; None/empty when it offers none."""

    title: str | None = None
    description: str | None = None
    site_name: str | None = None
    image: str | None = None
    language: str | None = None
    published: str | None = None  # raw date string as the page wrote it
    modified: str | None = None
    url: str | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass
class PageMetadata:
    """Candidates per source name, plus the page's canonical link and declared language."""

    jsonld: Candidates = field(default_factory=Candidates)
    opengraph: Candidates = field(default_factory=Candidates)
    meta: Candidates = field(default_factory=Candidates)
    rel_tag: Candidates = field(default_factory=Candidates)
    microdata: Candidates = field(default_factory=Candidates)
    byline: Candidates = field(default_factory=Candidates)
    canonical_url: str | None = None
    html_lang: str | None = None
    h1: str | None = None  # the page's first <h1>, as displayed
    title_tag: str | None = None  # the document's <title>
    # Names the page gives the article's publisher(s): JSON-LD Organization authors and
    # publishers, og:site_name... (lets the merger tell organisations from people).
    organizations: list[str] = field(default_factory=list)
    # schema.org `correction` of the article's JSON-LD (text, or a CorrectionComment's text).
    correction: str | None = None
    # What access state is read from (pipeline.extract.access): the JSON-LD object chosen as
    # the article, and every meta tag by its lower-cased key.
    jsonld_article: dict[str, Any] = field(default_factory=dict)
    meta_tags: dict[str, list[str]] = field(default_factory=dict)

    def source(self, name: str) -> Candidates | None:
        """The candidates of a source by its provenance name ("jsonld", "rel-tag", ...)."""
        return {
            "jsonld": self.jsonld,
            "opengraph": self.opengraph,
            "meta": self.meta,
            "microdata": self.microdata,
            "byline": self.byline,
            "rel-tag": self.rel_tag,
        }.get(name)


def split_list(value: object, separators: str = ",;") -> list[str]:
    """Split a comma-joined string (or list of them) into trimmed items, de-duplicated
    case-insensitively keeping the first display form."""
    items: list[str] = []
    if isinstance(value, str):
        pattern = "[" + re.escape(separators) + "]"
        items = re.split(pattern, value) if separators else [value]
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                item = item.get("name")
            items.extend(split_list(item, separators))
    return dedupe([c for c in (clean_text(i) for i in items) if c])


# --------------------------------------------------------------------------- JSON-LD


def _load_json(raw: str) -> Any:
    """Parse a JSON-LD block, repairing the usual breakage (comments, CDATA, trailing commas,
    control characters, several objects in a row); None when it cannot be read."""
    text = raw.strip()
    if not text:
        return None
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    text = text.replace("<!--", "").replace("-->", "")
    text = text.replace("<![CDATA[", "").replace("]]>", "")
    if text.startswith("//"):
        text = text.split("\n", 1)[-1]
    text = _TRAILING_COMMA.sub(r"\1", _CONTROL_CHARS.sub(" ", text)).strip().rstrip(";")
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    # Several top-level objects concatenated without a list around them.
    decoder = json.JSONDecoder(strict=False)
    objects: list[Any] = []
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t\r\n,;":
            pos += 1
        if pos >= len(text):
            break
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except ValueError:
            break
        objects.append(obj)
    return objects or None


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    out = set()
    for k in kinds:
        if isinstance(k, str):
            # "http://schema.org/NewsArticle" and "schema:NewsArticle" both name NewsArticle.
            out.add(k.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower())
    return out


def _walk(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON-LD document, parents before children (bounded depth)."""
    if depth > 12:
        return
    if isinstance(node, dict):
        yield node
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _walk(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, depth + 1)


def _names(value: Any, organizations: list[str] | None = None) -> list[str]:
    """Names from a schema.org Person/Organization, a string, or a list of those. Names of
    Organization-typed objects go to `organizations` instead when it is given."""
    out: list[str] = []
    if isinstance(value, list):
        for item in value:
            out.extend(_names(item, organizations))
    elif isinstance(value, dict):
        if organizations is not None and _types(value) & SITE_TYPES:
            organizations.extend(_names(value))
            return out
        name = clean_text(value.get("name"))
        if name is None:
            given = clean_text(value.get("givenName"))
            family = clean_text(value.get("familyName"))
            name = " ".join(p for p in (given, family) if p) or None
        if name:
            out.append(name)
    else:
        name = clean_text(value)
        if name:
            out.append(name)
    return out


def _image_url(value: Any) -> str | None:
    if isinstance(value, list):
        for item in value:
            url = _image_url(item)
            if url:
                return url
        return None
    if isinstance(value, dict):
        return clean_text(value.get("url") or value.get("contentUrl") or value.get("@id"))
    return clean_text(value)


def _article_score(obj: dict[str, Any]) -> int:
    """How much an article-typed object says: pages embed teasers of other articles too."""
    return sum(1 for key in ("headline", "datePublished", "author", "articleBody") if obj.get(key))


def _correction_text(value: Any) -> str | None:
    """schema.org `correction`: text, a CorrectionComment (its text or description) or a list."""
    if isinstance(value, list):
        texts = [t for t in (_correction_text(v) for v in value) if t]
        return "\n".join(texts) or None
    if isinstance(value, dict):
        return clean_text(value.get("text")) or clean_text(value.get("description"))
    return clean_text(value) if isinstance(value, str) else None


def jsonld_correction(tree: Any) -> str | None:
    """The correction notice the page's JSON-LD article carries, if any."""
    for script in _JSONLD_XPATH(tree):
        data = _load_json(script.text or "")
        for obj in _walk(data) if data is not None else ():
            if "correction" in obj:
                text = _correction_text(obj["correction"])
                if text:
                    return text
    return None


def _jsonld_candidates(
    tree: Any, organizations: list[str], chosen: dict[str, Any] | None = None
) -> Candidates:
    objects: list[dict[str, Any]] = []
    for script in _JSONLD_XPATH(tree):
        data = _load_json(script.text or "")
        if data is not None:
            objects.extend(_walk(data))
    cand = Candidates()
    if not objects:
        return cand
    articles = [o for o in objects if _types(o) & ARTICLE_TYPES]
    if not articles:
        # A WebPage whose mainEntity is the article was walked into; otherwise fall back to a
        # WebPage itself, which often carries the headline and dates.
        articles = [o for o in objects if _types(o) & PAGE_TYPES]
    site_names = [
        clean_text(o.get("name")) for o in objects if _types(o) & SITE_TYPES and o.get("name")
    ]
    if articles:
        best = max(articles, key=_article_score)  # max keeps the first among equals
        if chosen is not None:
            chosen.update(best)
        cand.title = clean_text(best.get("headline")) or clean_text(best.get("name"))
        cand.description = clean_text(best.get("description"))
        cand.published = clean_text(best.get("datePublished")) or clean_text(
            best.get("dateCreated")
        )
        cand.modified = clean_text(best.get("dateModified"))
        orgs: list[str] = []
        people = _names(best.get("author"), orgs) or _names(best.get("creator"), orgs)
        # Organisation authors count only when no person is named.
        cand.authors = dedupe(people or orgs)
        organizations.extend(orgs)
        cand.categories = split_list(best.get("articleSection"), ",")
        cand.tags = split_list(best.get("keywords"), ",;")
        cand.image = _image_url(best.get("image")) or _image_url(best.get("thumbnailUrl"))
        lang = best.get("inLanguage")
        cand.language = clean_text(lang.get("name") if isinstance(lang, dict) else lang)
        cand.url = clean_text(best.get("url"))
        publisher = best.get("publisher")
        publisher_names = _names(publisher) if publisher else []
        cand.site_name = publisher_names[0] if publisher_names else None
        organizations.extend(publisher_names)
    if cand.site_name is None and site_names:
        cand.site_name = site_names[0]
    organizations.extend(n for n in site_names if n)
    return cand


# --------------------------------------------------------------------------- meta tags


def _meta_map(tree: Any) -> dict[str, list[str]]:
    """Every <meta> content keyed by its lower-cased property/name/itemprop/http-equiv."""
    found: dict[str, list[str]] = {}
    for meta in _META_XPATH(tree):
        content = meta.get("content")
        if content is None:
            continue
        content = content.strip()
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = meta.get(attr)
            if key:
                found.setdefault(key.strip().lower(), []).append(content)
    return found


def _first(found: dict[str, list[str]], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        for value in found.get(key, ()):
            cleaned = clean_text(value)
            if cleaned:
                return cleaned
    return None


def _first_list(found: dict[str, list[str]], keys: tuple[str, ...], seps: str) -> list[str]:
    for key in keys:
        values = found.get(key)
        if values:
            items = split_list(values, seps)
            if items:
                return items
    return []


def _opengraph_candidates(found: dict[str, list[str]]) -> Candidates:
    authors = [a for a in found.get("article:author", []) if not _looks_like_url(a)]
    return Candidates(
        title=_first(found, ("og:title", "twitter:title")),
        description=_first(found, ("og:description",)),
        site_name=_first(found, ("og:site_name",)),
        image=_first(found, ("og:image", "og:image:url", "og:image:secure_url")),
        language=_first(found, ("og:locale",)),
        published=_first(found, ("article:published_time", "og:article:published_time")),
        modified=_first(found, ("article:modified_time", "og:updated_time")),
        url=_first(found, ("og:url",)),
        authors=split_list(authors, ""),
        categories=split_list(found.get("article:section", []), ""),
        # article:tag is repeated once per tag, but some sites comma-join them in one.
        tags=split_list(found.get("article:tag", []), ","),
    )


def _parsely_page(found: dict[str, list[str]]) -> dict[str, Any]:
    for raw in found.get("parsely-page", ()):
        data = _load_json(raw)
        if isinstance(data, dict):
            return data
    return {}


def _meta_candidates(found: dict[str, list[str]], html_lang: str | None) -> Candidates:
    parsely = _parsely_page(found)
    authors: list[str] = []
    for key in META_AUTHOR_KEYS:
        values = [v for v in found.get(key, []) if not _looks_like_url(v)]
        if values:
            authors = split_list(values, "")
            break
    if not authors and parsely.get("author"):
        authors = _names(parsely.get("author"))
    return Candidates(
        title=clean_text(parsely.get("title")) or _first(found, META_TITLE_KEYS),
        description=_first(found, META_DESCRIPTION_KEYS),
        site_name=_first(found, META_SITE_KEYS),
        image=clean_text(parsely.get("image_url")) or _first(found, META_IMAGE_KEYS),
        language=html_lang or _first(found, META_LANGUAGE_KEYS),
        published=clean_text(parsely.get("pub_date")) or _first(found, META_PUBLISHED_KEYS),
        modified=_first(found, META_MODIFIED_KEYS),
        url=clean_text(parsely.get("link")),
        authors=authors,
        categories=split_list(parsely.get("section"), "")
        or _first_list(found, META_SECTION_KEYS, ""),
        tags=split_list(parsely.get("tags"), ",")
        or _first_list(found, META_TAG_KEYS, ",;"),
    )


def rights_holders(found: dict[str, list[str]]) -> list[str]:
    """The organisations a page's copyright meta tags name ("Copyright (c) Condé Nast")."""
    holders = []
    for key in META_RIGHTS_KEYS:
        for value in found.get(key, ()):
            holder = clean_text(_RIGHTS_NOISE.sub(" ", value).strip(" .,;:-"))
            if holder:
                holders.append(holder)
    return holders


def _looks_like_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "//", "www.")) or "@" in value


# --------------------------------------------------------------------------- links


def _rel_tag_candidates(tree: Any) -> Candidates:
    categories: list[str] = []
    tags: list[str] = []
    links = _REL_TAG_XPATH(tree)
    if len(links) > MAX_REL_TAGS:
        return Candidates()
    for link in links:
        text = clean_text(link.text_content())
        if not text:
            continue
        rel = (link.get("rel") or "").lower().split()
        # WordPress marks categories rel="category tag" and tags plain rel="tag".
        (categories if "category" in rel else tags).append(text)
    return Candidates(categories=dedupe(categories), tags=dedupe(tags))


def _microdata_candidates(tree: Any) -> Candidates:
    """schema.org microdata on visible elements (<time itemprop="datePublished" datetime=...>,
    <span itemprop="author">...): the first value of each property."""
    cand = Candidates()
    for el in _ITEMPROP_XPATH(tree):
        for prop in (el.get("itemprop") or "").lower().split():
            attr = MICRODATA_PROPS.get(prop)
            if attr is None:
                continue
            if attr == "authors":
                if cand.authors:
                    continue
                names = el.xpath(".//*[@itemprop='name']")
                value = clean_text(
                    (names[0].get("content") or names[0].text_content()) if names else
                    el.get("content") or el.text_content()
                )
                if value and len(value) <= MAX_BYLINE_LEN:
                    cand.authors = [value]
                continue
            if getattr(cand, attr):
                continue
            raw = el.get("datetime") or el.get("content")
            if raw is None and attr not in ("published", "modified"):
                raw = el.text_content()
            value = clean_text(raw)
            if not value:
                continue
            if attr in ("tags", "categories"):
                setattr(cand, attr, split_list(value, "," if attr == "tags" else ""))
            else:
                setattr(cand, attr, value)
    return cand


def read_bylines(tree: Any) -> Candidates:
    """Byline texts in page order, one per element (the merger keeps the first that names
    people): rel=author links, short texts of elements whose class names an author or byline,
    then a body paragraph that is only bold text near the body's start or end."""
    texts: list[str] = []
    for el in _BYLINE_XPATH(tree):
        if len(texts) >= MAX_BYLINES:
            break
        if el.tag in ("script", "style", "body", "html", "article", "main", "img"):
            continue
        parent = el.getparent()
        if el.tag == "a" and parent is not None and len(_REL_AUTHOR_XPATH(parent)) > 1:
            # Co-authors linked one by one ("<a rel=author>A</a> and <a rel=author>B</a>"):
            # the element holding them all is the byline.
            el = parent
        text = clean_text(el.text_content())
        if text and len(text) <= MAX_BYLINE_LEN:
            texts.append(text)
    for p in _BOLD_PARAGRAPH_XPATH(tree):
        parent = p.getparent()
        if parent is None:
            continue
        siblings = [c for c in parent if c.tag == "p" and clean_text(c.text_content())]
        if len(siblings) < 4 or p not in siblings[:3] + siblings[-2:]:
            continue
        text = clean_text(p.text_content())
        if text and len(text) <= MAX_BYLINE_LEN:
            texts.append(text)
    return Candidates(authors=dedupe(texts))


def _first_text(tree: Any, tag: str) -> str | None:
    for el in tree.iter(tag):
        return clean_text(el.text_content())
    return None


def read_metadata(tree: Any, *, bylines: bool = True) -> PageMetadata:
    """All metadata a parsed page (lxml HTML tree) declares about itself, per source. Byline
    markup is the slowest to read (a scan of every class attribute): `bylines=False` leaves it
    to a later `read_bylines` call, for callers that need it only when metadata names nobody."""
    found = _meta_map(tree)
    root = tree.getroottree().getroot() if hasattr(tree, "getroottree") else tree
    html_lang = clean_text(root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang"))
    canonical = None
    for href in _CANONICAL_XPATH(tree):
        canonical = clean_text(href)
        if canonical:
            break
    organizations: list[str] = []
    jsonld_article: dict[str, Any] = {}
    jsonld = _jsonld_candidates(tree, organizations, jsonld_article)
    opengraph = _opengraph_candidates(found)
    meta = _meta_candidates(found, html_lang)
    organizations.extend(n for n in (opengraph.site_name, meta.site_name) if n)
    organizations.extend(rights_holders(found))
    return PageMetadata(
        jsonld=jsonld,
        opengraph=opengraph,
        meta=meta,
        microdata=_microdata_candidates(tree),
        byline=read_bylines(tree) if bylines else Candidates(),
        rel_tag=_rel_tag_candidates(tree),
        canonical_url=canonical,
        html_lang=html_lang,
        h1=_first_text(tree, "h1"),
        title_tag=_first_text(tree, "title"),
        organizations=dedupe(organizations),
        correction=jsonld_correction(tree),
        jsonld_article=jsonld_article,
        meta_tags=found,
    )


def read_metadata_html(html: str | bytes) -> PageMetadata:
    """`read_metadata` for an HTML string; empty metadata when it does not parse."""
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(html)
    except (etree.ParserError, ValueError, TypeError):
        return PageMetadata()
    return read_metadata(tree)
