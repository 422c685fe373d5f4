-- 008: WebSub subscriptions, and how (and when) each article first reached us.

-- One row a feed (the store keeps it so: a save updates the row, inserting it when missing,
-- in one transaction; no key, as a lake has none), written once a feed was looked at for hubs:
-- state 'none' when it names none. See docs/tables.md for the states.
CREATE TABLE websub_subscriptions (
    feed_id BIGINT NOT NULL,
    hub VARCHAR,                        -- the hub's URL (the first the feed names)
    topic VARCHAR,                      -- the feed's self URL, else the URL we fetch
    callback_token VARCHAR,             -- our callback is <NEWS_INGEST_WEBSUB_CALLBACK_URL>/websub/<token>
    secret VARCHAR,                     -- hub.secret: HMAC key of the pushes' X-Hub-Signature
    state VARCHAR NOT NULL,             -- none | pending | verified | denied | failed | unsubscribed
    lease_seconds INTEGER,              -- the lease the hub granted (asked for, until verified)
    requested_at TIMESTAMPTZ,           -- the last (re)subscription request
    verified_at TIMESTAMPTZ,            -- the hub's last intent verification we confirmed
    expires_at TIMESTAMPTZ,             -- verified_at + lease_seconds
    last_push_at TIMESTAMPTZ,           -- the last push with a good signature
    pushes_received INTEGER NOT NULL DEFAULT 0,
    pushes_rejected INTEGER NOT NULL DEFAULT 0,  -- unsigned, badly signed or too large
    failures INTEGER NOT NULL DEFAULT 0,         -- failed requests or renewals in a row
    last_error VARCHAR,
    checked_at TIMESTAMPTZ NOT NULL     -- when the feed was last looked at for hubs
);

-- Freshness: when an article's first entry was seen, and what brought it (push, poll,
-- backfill, or revisit: stored by a later run than the one that first saw its entry).
ALTER TABLE articles ADD COLUMN first_seen_at TIMESTAMPTZ;
ALTER TABLE articles ADD COLUMN arrived_via VARCHAR;

UPDATE articles SET first_seen_at = coalesce(s.first_seen_at, articles.fetched_at),
    arrived_via = CASE WHEN s.mode = 'backfill' THEN 'backfill'
                       WHEN s.entry_run IS NOT NULL AND s.entry_run <> articles.run_id THEN 'revisit'
                       ELSE 'poll' END
FROM (
    SELECT a.article_id, min(e.first_seen_at) AS first_seen_at,
           arg_min(e.run_id, e.first_seen_at) AS entry_run, any_value(r.mode) AS mode
    FROM articles a
    LEFT JOIN feed_entries e ON e.article_id = a.article_id
    LEFT JOIN runs r ON r.run_id = a.run_id
    GROUP BY a.article_id
) s
WHERE articles.article_id = s.article_id;
