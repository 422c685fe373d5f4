-- 005: listings a feed repeated under another link, recognised as an entry already stored.

-- An entry keeps the link it was first listed with. When its feed lists it again under another
-- link, the entry's identity catches it: its guid ('guid'), or in link mode its link's URL key
-- ('url'). No row is added to feed_entries and no page is fetched; this keeps the link and the
-- layer that caught it. The view duplicate_matches shows these with every other match.
CREATE TABLE entry_matches (
    feed_id BIGINT NOT NULL,
    entry_key VARCHAR NOT NULL,          -- the stored entry it was taken for (feed_entries)
    link VARCHAR NOT NULL,               -- the link it came with this time
    method VARCHAR NOT NULL,             -- guid | url
    detected_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (feed_id, entry_key, link)
);
