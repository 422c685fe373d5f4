"""Exact deduplication: URL keys, feed guids and content hashes."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Text as the content hash sees it: NFC, case-folded, whitespace collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip().casefold()


def content_hash(text: str) -> str:
    """SHA-256 of the normalized text: equal for exact copies whatever their markup."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()
