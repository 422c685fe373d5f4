-- 003: per-feed polling (when to fetch next, how failures back off), run modes.

ALTER TABLE feeds ADD COLUMN next_fetch_at TIMESTAMPTZ;     -- NULL: due now
ALTER TABLE feeds ADD COLUMN poll_interval_s INTEGER;       -- the delay chosen at the last fetch
ALTER TABLE feeds ADD COLUMN failure_kind VARCHAR;          -- hard | soft | temporary (last failure)
ALTER TABLE feeds ADD COLUMN retired_at TIMESTAMPTZ;        -- 410 Gone: no longer polled
ALTER TABLE feeds ADD COLUMN entries_per_day DOUBLE;        -- publishing rate seen over 14 days

ALTER TABLE fetches ADD COLUMN retry_after VARCHAR;         -- the Retry-After header, when sent

ALTER TABLE runs ADD COLUMN mode VARCHAR DEFAULT 'manual';  -- manual | scheduled | backfill | reextract
ALTER TABLE runs ADD COLUMN articles_reextracted INTEGER DEFAULT 0;
