"""Rows of the articles and article_versions tables, built from extracted articles."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pipeline.records import Article
from pipeline.urls import canonicalize


def article_row(
    a: Article, article_id: int, fetch_id: int | None, now: datetime, run_id: int | None
) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "url": a.url,
        "canonical_url": canonicalize(a.canonical_url),
        "url_key": a.url_key,
        "title": a.title,
        "text": a.text,
        "description": a.description,
        "language": a.language,
        "published_at": a.published_at,
        "modified_at": a.modified_at,
        "site_name": a.site_name,
        "image": a.image,
        "content_hash": a.content_hash,
        "cluster_id": article_id,
        "fetched_at": now,
        "fetch_id": fetch_id,
        "source": a.source,
        "fallback_reason": a.fallback_reason,
        "extractor_version": a.extractor_version,
        "provenance": json.dumps(a.provenance, sort_keys=True),
        "run_id": run_id,
        "version": 1,
        "access": a.access,
        "confidence": json.dumps(a.confidence, sort_keys=True),
    }


def version_row(row: dict[str, Any], version: int) -> dict[str, Any]:
    return {
        "article_id": row["article_id"],
        "version": version,
        "content_hash": row["content_hash"],
        "title": row["title"],
        "text": row["text"],
        "modified_at": row["modified_at"],
        "fetched_at": row["fetched_at"],
        "fetch_id": row["fetch_id"],
    }
