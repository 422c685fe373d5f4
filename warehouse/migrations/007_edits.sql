-- 007: edit tracking (issue 16): how published articles are edited, corrected and taken down.

-- One row per pair of consecutive versions of an article (article_versions), classified by
-- pipeline/changes.py. Noise (whitespace, quotes, clock times, view counters), failed
-- extractions seen once and A→B→A flip-flops make no version, so no row.
CREATE TABLE article_changes (
    article_id BIGINT NOT NULL,
    from_version INTEGER NOT NULL,
    to_version INTEGER NOT NULL,
    detected_at TIMESTAMPTZ NOT NULL,      -- when the new version was fetched
    kind VARCHAR NOT NULL,                 -- correction | update | clarification | headline | body | stealth | metadata
    fields_changed VARCHAR[] NOT NULL,     -- of headline, body, authors, dates, topics, image
    chars_added INTEGER NOT NULL,
    chars_removed INTEGER NOT NULL,
    sentences_added INTEGER NOT NULL,
    sentences_deleted INTEGER NOT NULL,
    sentences_edited INTEGER NOT NULL,     -- aligned by similarity, not by position
    notice_kind VARCHAR,                   -- correction | update | clarification
    notice_text VARCHAR,
    modified_moved BOOLEAN NOT NULL,       -- the page's dateModified moved later
    old_title VARCHAR,
    new_title VARCHAR,
    run_id BIGINT,
    PRIMARY KEY (article_id, to_version)
);

-- A page taken down: 404/410, or a redirect to a section page. The article is kept.
ALTER TABLE articles ADD COLUMN removed_at TIMESTAMPTZ;
ALTER TABLE articles ADD COLUMN removal_reason VARCHAR;  -- gone-404 | gone-410 | redirect-to-section

-- Revisit state, one row per article, apart from articles so that a revisit's bookkeeping
-- does not rewrite the article's wide row (on a lake an UPDATE rewrites whole rows).
CREATE TABLE article_revisits (
    article_id BIGINT PRIMARY KEY,
    url VARCHAR NOT NULL,                  -- the page fetched again
    watched BOOLEAN NOT NULL,              -- false once past the schedule's window, or removed
    last_changed_at TIMESTAMPTZ NOT NULL,  -- first fetch, or the last new version
    last_checked_at TIMESTAMPTZ,           -- the last revisit, whatever it found
    next_revisit_at TIMESTAMPTZ,           -- when the schedule next wants it
    etag VARCHAR,                          -- validators for a conditional GET
    last_modified VARCHAR,
    body_hash VARCHAR,                     -- sha1 of the last body: unchanged bytes, no extraction
    short_fingerprint VARCHAR,             -- a much shorter text seen once (counted when seen twice)
    revisits INTEGER NOT NULL,
    not_modified INTEGER NOT NULL          -- revisits answered 304 or with the same body
);
INSERT INTO article_revisits
SELECT article_id, url, TRUE, fetched_at, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0 FROM articles;

ALTER TABLE runs ADD COLUMN entries_changed INTEGER DEFAULT 0; -- known entries whose feed announced a change
ALTER TABLE runs ADD COLUMN revisits INTEGER DEFAULT 0; -- pages fetched again by the revisit schedule
ALTER TABLE runs ADD COLUMN revisits_unchanged INTEGER DEFAULT 0; -- of which 304 or the same body
ALTER TABLE runs ADD COLUMN articles_removed INTEGER DEFAULT 0; -- pages found taken down
