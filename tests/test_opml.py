"""OPML reading/writing and the starter feed list."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipeline.opml import OpmlError, OpmlFeed, read_opml, write_opml

STARTER = Path(__file__).resolve().parents[1] / "pipeline" / "starter_feeds.opml"

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="News">
      <outline text="World">
        <outline type="rss" text="BBC" title="BBC News" xmlUrl="https://feeds.bbci.co.uk/news/rss.xml"
                 htmlUrl="https://www.bbc.co.uk/news"/>
      </outline>
      <outline type="rss" text="NPR" xmlurl="https://feeds.npr.org/1001/rss.xml"/>
    </outline>
    <outline type="rss" text="dup" xmlUrl="https://feeds.bbci.co.uk/news/rss.xml"/>
    <outline type="link" text="A page" url="https://example.com/page"/>
    <outline type="rss" text="Old" xmlUrl="feed://old.example.com/rss"/>
    <outline type="rss" text="Bad" xmlUrl="javascript:alert(1)"/>
  </body>
</opml>"""


def test_read_nested_outlines() -> None:
    feeds = read_opml(NESTED)
    assert feeds == [
        OpmlFeed(
            url="https://feeds.bbci.co.uk/news/rss.xml",
            title="BBC News",
            site_url="https://www.bbc.co.uk/news",
            category="News/World",
        ),
        OpmlFeed(url="https://feeds.npr.org/1001/rss.xml", title="NPR", category="News"),
        OpmlFeed(url="http://old.example.com/rss", title="Old"),
    ]


def test_round_trip() -> None:
    feeds = read_opml(NESTED)
    data = write_opml(feeds, "Round & trip")
    assert data.startswith(b"<?xml")
    assert b"Round &amp; trip" in data
    assert read_opml(data) == feeds


def test_write_escapes_attributes() -> None:
    feed = OpmlFeed(url="https://x.example/rss?a=1&b=2", title='Q&A "news" <live>')
    assert read_opml(write_opml([feed], "t")) == [feed]


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body>'
        b'<outline xmlUrl="https://x/&a;"/></body></opml>',
        b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml/>',
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<opml><body><outline text='&x;'/></body></opml>",
    ],
)
def test_doctype_and_entities_refused(data: bytes) -> None:
    with pytest.raises(OpmlError, match="DOCTYPE"):
        read_opml(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "malformed"),
        (b"<opml><body><outline></body>", "malformed"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML"),
    ],
)
def test_bad_documents(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        read_opml(data)


def test_utf16_opml() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><opml><body><outline title="Zürich" '
    text += 'xmlUrl="https://z.example/rss"/></body></opml>'
    assert read_opml(text.encode("utf-16"))[0].title == "Zürich"


def test_starter_feeds() -> None:
    feeds = read_opml(STARTER.read_bytes())
    assert 28 <= len(feeds) <= 40
    urls = [f.url for f in feeds]
    assert len(set(urls)) == len(urls)
    for feed in feeds:
        parts = urlsplit(feed.url)
        assert parts.scheme == "https" and parts.netloc
        assert feed.title and feed.category
    hosts = {urlsplit(u).netloc for u in urls}
    assert {"feeds.bbci.co.uk", "www.theguardian.com", "feeds.npr.org"} <= hosts
