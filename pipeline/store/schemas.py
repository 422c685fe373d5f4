"""The Arrow schemas of the batches the store loads into (or joins against) its tables."""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

FETCH_SCHEMA = pa.schema(
    [
        ("fetch_id", pa.int64()),
        ("run_id", pa.int64()),
        ("url", pa.string()),
        ("final_url", pa.string()),
        ("feed_id", pa.int64()),
        ("kind", pa.string()),
        ("started_at", TS),
        ("status", pa.int32()),
        ("error", pa.string()),
        ("bytes", pa.int64()),
        ("elapsed_ms", pa.int32()),
        ("content_type", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("warc_file", pa.string()),
        ("warc_offset", pa.int64()),
        ("warc_length", pa.int64()),
        ("retry_after", pa.string()),
    ]
)
POLL_SCHEMA = pa.schema(
    [
        ("feed_id", pa.int64()),
        ("next_fetch_at", TS),
        ("poll_interval_s", pa.int32()),
        ("failure_kind", pa.string()),
        ("entries_per_day", pa.float64()),
        ("retire", pa.bool_()),
    ]
)
FEED_STATE_SCHEMA = pa.schema(
    [
        ("feed_id", pa.int64()),
        ("title", pa.string()),
        ("site_url", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("keep_validators", pa.bool_()),
        ("last_status", pa.int32()),
        ("last_error", pa.string()),
        ("failed", pa.bool_()),
        ("format", pa.string()),
        ("ttl_minutes", pa.int32()),
        ("parse_warning", pa.string()),
        ("moved_to", pa.string()),
    ]
)
ENTRY_SCHEMA = pa.schema(
    [
        ("feed_id", pa.int64()),
        ("entry_key", pa.string()),
        ("guid", pa.string()),
        ("link", pa.string()),
        ("link_key", pa.string()),
        ("title", pa.string()),
        ("summary", pa.string()),
        ("content", pa.string()),
        ("published_at", TS),
        ("updated_at", TS),
        ("authors", pa.list_(pa.string())),
        ("categories", pa.list_(pa.string())),
        ("tags", pa.list_(pa.string())),
        ("image", pa.string()),
        ("first_seen_at", TS),
        ("run_id", pa.int64()),
    ]
)
ARTICLE_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("url_key", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("description", pa.string()),
        ("language", pa.string()),
        ("published_at", TS),
        ("modified_at", TS),
        ("site_name", pa.string()),
        ("image", pa.string()),
        ("content_hash", pa.string()),
        ("cluster_id", pa.int64()),
        ("fetched_at", TS),
        ("fetch_id", pa.int64()),
        ("source", pa.string()),
        ("fallback_reason", pa.string()),
        ("extractor_version", pa.string()),
        ("provenance", pa.string()),
        ("run_id", pa.int64()),
        ("version", pa.int32()),
        ("access", pa.string()),
        ("confidence", pa.string()),
    ]
)
ALIAS_SCHEMA = pa.schema([("url_key", pa.string()), ("article_id", pa.int64())])
VERSION_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("version", pa.int32()),
        ("content_hash", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("modified_at", TS),
        ("fetched_at", TS),
        ("fetch_id", pa.int64()),
    ]
)
SIGNATURE_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("signature", pa.binary()),
        ("shingles", pa.int32()),
        ("version", pa.string()),
    ]
)
BAND_SCHEMA = pa.schema(
    [
        ("band", pa.uint8()),
        ("band_hash", pa.int64()),
        ("article_id", pa.int64()),
        ("batch", pa.int64()),
    ]
)
HASH_SCHEMA = pa.schema([("content_hash", pa.string()), ("article_id", pa.int64())])
DUPLICATE_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("duplicate_of", pa.int64()),
        ("method", pa.string()),
        ("similarity", pa.float64()),
        ("containment", pa.float64()),
        ("detected_at", TS),
    ]
)
ENTRY_MATCH_SCHEMA = pa.schema(
    [
        ("feed_id", pa.int64()),
        ("entry_key", pa.string()),
        ("link", pa.string()),
        ("method", pa.string()),
        ("detected_at", TS),
    ]
)
LINK_SCHEMA = pa.schema(
    [
        ("feed_id", pa.int64()),
        ("entry_key", pa.string()),
        ("article_id", pa.int64()),
        ("failed", pa.bool_()),  # the page fetch failed: one more attempt, its error kept
        ("retry", pa.bool_()),  # and may succeed later: keep `refetch` while attempts remain
        ("error", pa.string()),
    ]
)
FAILED_SCHEMA = pa.schema(
    [("feed_id", pa.int64()), ("entry_key", pa.string()), ("error", pa.string())]
)
NAME_LINK_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("name", pa.string()),
        ("key", pa.string()),
        ("position", pa.int32()),
        ("ord", pa.int32()),  # ord: order across the whole batch
    ]
)
