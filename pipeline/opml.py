"""Read and write OPML subscription lists (the feed-list format every reader exports)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from pipeline.errors import OpmlError

FEED_SCHEMES = ("http", "https")
# Attribute names as readers spell them; OPML 1.0 files in the wild use every case.
URL_ATTRS = ("xmlurl",)
SITE_ATTRS = ("htmlurl",)
TITLE_ATTRS = ("title", "text")
MAX_OPML_BYTES = 16 * 1024 * 1024


@dataclass
class OpmlFeed:
    """One subscription: the feed URL, its title and the site it belongs to."""

    url: str
    title: str | None = None
    site_url: str | None = None
    category: str | None = None  # enclosing folder outline(s), "News/World"; None at top level


def read_opml(data: bytes) -> list[OpmlFeed]:
    """All feeds (outlines with an xmlUrl) in document order, nested folders included,
    de-duplicated by URL. Raises OpmlError on malformed XML, a DOCTYPE or entity declaration
    (billion-laughs / external-entity attacks), or a root that is not <opml>."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError("OPML document larger than 16 MiB")
    parser = xml.parsers.expat.ParserCreate()
    # expat never fetches external entities itself, but internal ones can still explode in
    # memory; refusing any DOCTYPE at all is what defusedxml does, without the dependency.
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    folders: list[str | None] = []  # one slot per open <outline>: its title when a folder
    root: list[str] = []

    def forbid(*_: object) -> None:
        raise OpmlError("OPML document declares a DOCTYPE or entities; refused")

    def forbid_external(*_: object) -> int:
        raise OpmlError("OPML document references an external entity; refused")

    def start(name: str, attrs: dict[str, str]) -> None:
        if not root:
            root.append(name)
            if name.lower() != "opml":
                raise OpmlError(f"not an OPML document: root element <{name}>")
        if name.lower() != "outline":
            return
        lowered = {k.lower(): v.strip() for k, v in attrs.items() if isinstance(v, str)}
        url = _feed_url(_first(lowered, URL_ATTRS))
        title = _first(lowered, TITLE_ATTRS)
        if url is None:
            folders.append(title)
            return
        folders.append(None)
        if url not in seen:
            seen.add(url)
            path = [f for f in folders[:-1] if f]
            feeds.append(
                OpmlFeed(
                    url=url,
                    title=title,
                    site_url=_feed_url(_first(lowered, SITE_ATTRS)),
                    category="/".join(path) or None,
                )
            )

    def end(name: str) -> None:
        if name.lower() == "outline" and folders:
            folders.pop()

    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise OpmlError(f"malformed OPML: {exc}") from exc
    if not root:
        raise OpmlError("not an OPML document: no root element")
    return feeds


def write_opml(feeds: list[OpmlFeed], title: str) -> bytes:
    """An OPML 2.0 document (UTF-8) with one outline per feed, grouped under folder outlines
    by `category` in first-seen order; read_opml(write_opml(x, t)) == x for de-duplicated x."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(opml, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            for depth, name in enumerate(feed.category.split("/")):
                key = "/".join(feed.category.split("/")[: depth + 1])
                if key not in folders:
                    folders[key] = ET.SubElement(parent, "outline", text=name, title=name)
                parent = folders[key]
        attrs = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attrs["title"] = feed.title
        if feed.site_url:
            attrs["htmlUrl"] = feed.site_url
        ET.SubElement(parent, "outline", attrs)
    ET.indent(opml)
    document: bytes = ET.tostring(opml, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _first(attrs: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if attrs.get(name):
            return attrs[name]
    return None


def _feed_url(value: str | None) -> str | None:
    """Only web URLs; feed://host/x (an old reader convention) means http://host/x."""
    if not value:
        return None
    if value.lower().startswith("feed://"):
        value = "http://" + value[len("feed://") :]
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in FEED_SCHEMES and parts.netloc else None
