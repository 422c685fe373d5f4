-- 002: layered dedup (near-duplicate clusters), article versions, per-feed guid rules.

-- Versions rewrite content_hash in place; DuckDB turns updates of an indexed column into
-- delete + insert, which trips its eager constraint checks. Lookups by hash join without it.
DROP INDEX articles_content_hash;
ALTER TABLE articles ADD COLUMN version INTEGER DEFAULT 1;

-- How a feed's items are told apart: 'guid' (as the feed gives it) or 'link', after the feed
-- was caught repeating one guid for different links or changing guids of the same link.
ALTER TABLE feeds ADD COLUMN guid_mode VARCHAR DEFAULT 'guid';
ALTER TABLE feeds ADD COLUMN guid_note VARCHAR;

-- feed_entries gets `entry_key` as its identity (the guid, or `link:` + link key in link mode)
-- and `refetch` (its feed's updated date moved: fetch the page again). DuckDB cannot change a
-- primary key in place, so the table is rebuilt.
CREATE TABLE feed_entries_v2 (
    feed_id BIGINT NOT NULL,
    entry_key VARCHAR NOT NULL,
    guid VARCHAR NOT NULL,
    link VARCHAR,
    link_key VARCHAR,
    title VARCHAR,
    summary VARCHAR,
    content VARCHAR,
    published_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    authors VARCHAR[],
    categories VARCHAR[],
    tags VARCHAR[],
    image VARCHAR,
    article_id BIGINT,
    page_attempts INTEGER NOT NULL DEFAULT 0,
    last_page_error VARCHAR,
    first_seen_at TIMESTAMPTZ NOT NULL,
    run_id BIGINT,
    refetch BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (feed_id, entry_key)
);
INSERT INTO feed_entries_v2
SELECT feed_id, guid, guid, link, link_key, title, summary, content, published_at, updated_at,
       authors, categories, tags, image, article_id, page_attempts, last_page_error,
       first_seen_at, run_id, FALSE
FROM feed_entries;
DROP TABLE feed_entries;
ALTER TABLE feed_entries_v2 RENAME TO feed_entries;

-- MinHash signature of each article's extracted body text, with its parameters' version.
CREATE TABLE article_signatures (
    article_id BIGINT PRIMARY KEY,
    signature BLOB NOT NULL,            -- 128 little-endian uint32 values
    shingles INTEGER NOT NULL,          -- distinct word 5-grams in the text
    version VARCHAR NOT NULL
);

-- LSH bands (32 bands of 4 values): articles sharing any band are candidates.
CREATE TABLE article_bands (
    band UTINYINT NOT NULL,
    band_hash BIGINT NOT NULL,
    article_id BIGINT NOT NULL
);

-- Each match between two articles and the layer that made it.
CREATE TABLE article_duplicates (
    article_id BIGINT NOT NULL,          -- the later article
    duplicate_of BIGINT NOT NULL,        -- the earlier article it matched
    method VARCHAR NOT NULL,             -- content_hash | near_duplicate
    similarity DOUBLE,                   -- estimated Jaccard (1.0 for content_hash)
    containment DOUBLE,                  -- estimated share of the shorter text in the longer
    detected_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, duplicate_of)
);

-- Every version of an article's content; articles holds the latest.
CREATE TABLE article_versions (
    article_id BIGINT NOT NULL,
    version INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    title VARCHAR,
    text VARCHAR NOT NULL,
    modified_at TIMESTAMPTZ,
    fetched_at TIMESTAMPTZ NOT NULL,
    fetch_id BIGINT,
    PRIMARY KEY (article_id, version)
);
INSERT INTO article_versions
SELECT article_id, 1, content_hash, title, text, modified_at, fetched_at, fetch_id FROM articles;

ALTER TABLE runs ADD COLUMN articles_updated INTEGER DEFAULT 0;  -- new versions stored
ALTER TABLE runs ADD COLUMN duplicates INTEGER DEFAULT 0;        -- new articles matching an earlier one
