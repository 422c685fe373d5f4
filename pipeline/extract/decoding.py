"""Page bytes to text: the charset the page declares, and whether the bytes are HTML at all."""

from __future__ import annotations

import codecs
import re

MAX_HTML_BYTES = 2 * 1024 * 1024  # bytes of a page handed to the parser
HTML_CONTENT_TYPES = ("html", "xml", "text/plain")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", re.I)
_LATIN1_ALIASES = frozenset({"iso8859-1", "latin-1", "cp1252", "iso8859-15", "ascii"})


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_html(html: bytes, headers: dict[str, str] | None = None) -> str:
    """Decode page bytes: HTTP charset, then <meta charset>, then UTF-8 with replacement."""
    declared: list[str] = []
    content_type = _header(headers, "content-type")
    if content_type:
        match = _HEADER_CHARSET.search(content_type)
        if match:
            declared.append(match.group(1))
    meta_match = _META_CHARSET.search(html[:4096])
    if meta_match:
        declared.append(meta_match.group(1).decode("ascii", "ignore"))
    for name in declared:
        codec = _codec(name)
        if codec is None:
            continue
        # A page labelled Latin-1 that is valid non-ASCII UTF-8 is mislabelled UTF-8 in practice.
        if codec in _LATIN1_ALIASES and not html.isascii():
            try:
                return html.decode("utf-8")
            except UnicodeDecodeError:
                pass
        try:
            return html.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return html.decode("utf-8", errors="replace")


def _header(headers: dict[str, str] | None, name: str) -> str:
    if not headers:
        return ""
    for key, value in headers.items():
        if key.lower() == name:
            return value or ""
    return ""


def not_html_reason(html: bytes, headers: dict[str, str] | None) -> str | None:
    """Why these bytes are not an HTML page, or None when they may be one."""
    if not html or not html.strip():
        return "empty-body"
    content_type = _header(headers, "content-type").lower()
    if content_type and not any(t in content_type for t in HTML_CONTENT_TYPES):
        return f"not-html:{content_type.split(';')[0].strip()}"
    head = html[:1024].lstrip()
    if head.startswith(b"%PDF") or b"\x00" in head:
        return "not-html:binary"
    return None
