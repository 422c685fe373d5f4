-- 001: the ingest slice's tables. No FOREIGN KEY constraints: DuckDB checks them eagerly and
-- refuses even no-op key updates, which upserts need; the loader keeps the references whole.

CREATE SEQUENCE feed_id_seq START 1;
CREATE SEQUENCE fetch_id_seq START 1;
CREATE SEQUENCE article_id_seq START 1;
CREATE SEQUENCE author_id_seq START 1;
CREATE SEQUENCE category_id_seq START 1;
CREATE SEQUENCE tag_id_seq START 1;
CREATE SEQUENCE run_id_seq START 1;

CREATE TABLE feeds (
    feed_id BIGINT PRIMARY KEY DEFAULT nextval('feed_id_seq'),
    url VARCHAR NOT NULL UNIQUE,
    title VARCHAR,
    site_url VARCHAR,
    etag VARCHAR,
    last_modified VARCHAR,
    last_fetched_at TIMESTAMPTZ,
    last_status INTEGER,
    last_error VARCHAR,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    format VARCHAR,
    ttl_minutes INTEGER,
    parse_warning VARCHAR,
    added_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    active BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE runs (
    run_id BIGINT PRIMARY KEY DEFAULT nextval('run_id_seq'),
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,            -- running | completed | failed
    feeds_total INTEGER DEFAULT 0,
    feeds_fetched INTEGER DEFAULT 0,     -- 2xx and parsed
    feeds_not_modified INTEGER DEFAULT 0,
    feeds_failed INTEGER DEFAULT 0,
    entries_seen INTEGER DEFAULT 0,
    entries_new INTEGER DEFAULT 0,
    pages_fetched INTEGER DEFAULT 0,
    pages_failed INTEGER DEFAULT 0,
    articles_new INTEGER DEFAULT 0,
    articles_linked INTEGER DEFAULT 0,   -- entries that pointed to an article already stored
    fallbacks INTEGER DEFAULT 0,         -- articles built from the feed entry, the page failing
    error VARCHAR
);

CREATE TABLE fetches (
    fetch_id BIGINT PRIMARY KEY DEFAULT nextval('fetch_id_seq'),
    run_id BIGINT,
    url VARCHAR NOT NULL,
    final_url VARCHAR,
    feed_id BIGINT,
    kind VARCHAR NOT NULL,              -- feed | page | redirect
    started_at TIMESTAMPTZ NOT NULL,
    status INTEGER,                     -- NULL when no response came
    error VARCHAR,                      -- NULL on success
    bytes BIGINT NOT NULL DEFAULT 0,
    elapsed_ms INTEGER NOT NULL DEFAULT 0,
    content_type VARCHAR,
    etag VARCHAR,
    last_modified VARCHAR,
    warc_file VARCHAR,
    warc_offset BIGINT,
    warc_length BIGINT
);

CREATE TABLE articles (
    article_id BIGINT PRIMARY KEY DEFAULT nextval('article_id_seq'),
    url VARCHAR NOT NULL,
    canonical_url VARCHAR NOT NULL,
    url_key VARCHAR NOT NULL UNIQUE,
    title VARCHAR,
    text VARCHAR NOT NULL,
    description VARCHAR,
    language VARCHAR,
    published_at TIMESTAMPTZ,
    modified_at TIMESTAMPTZ,
    site_name VARCHAR,
    image VARCHAR,
    content_hash VARCHAR NOT NULL,
    cluster_id BIGINT NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    fetch_id BIGINT,
    source VARCHAR NOT NULL,            -- page | feed (the page failed; built from the entry)
    fallback_reason VARCHAR,
    extractor_version VARCHAR NOT NULL,
    provenance JSON,                    -- {"title": "jsonld", "authors": "feed", ...}
    run_id BIGINT
);
CREATE INDEX articles_content_hash ON articles(content_hash);

-- Every URL key that is known to name an article: entry links, final URLs, canonical URLs.
CREATE TABLE article_urls (
    url_key VARCHAR PRIMARY KEY,
    article_id BIGINT NOT NULL
);

CREATE TABLE feed_entries (
    feed_id BIGINT NOT NULL,
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
    article_id BIGINT,                  -- NULL until its page (or fallback) is stored
    page_attempts INTEGER NOT NULL DEFAULT 0,
    last_page_error VARCHAR,
    first_seen_at TIMESTAMPTZ NOT NULL,
    run_id BIGINT,
    PRIMARY KEY (feed_id, guid)
);

CREATE TABLE authors (
    author_id BIGINT PRIMARY KEY DEFAULT nextval('author_id_seq'),
    name VARCHAR NOT NULL UNIQUE
);
CREATE TABLE article_authors (
    article_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (article_id, author_id)
);

CREATE TABLE categories (
    category_id BIGINT PRIMARY KEY DEFAULT nextval('category_id_seq'),
    name VARCHAR NOT NULL,
    key VARCHAR NOT NULL UNIQUE          -- case-folded, whitespace-collapsed name
);
CREATE TABLE article_categories (
    article_id BIGINT NOT NULL,
    category_id BIGINT NOT NULL,
    PRIMARY KEY (article_id, category_id)
);

CREATE TABLE tags (
    tag_id BIGINT PRIMARY KEY DEFAULT nextval('tag_id_seq'),
    name VARCHAR NOT NULL,
    key VARCHAR NOT NULL UNIQUE
);
CREATE TABLE article_tags (
    article_id BIGINT NOT NULL,
    tag_id BIGINT NOT NULL,
    PRIMARY KEY (article_id, tag_id)
);
