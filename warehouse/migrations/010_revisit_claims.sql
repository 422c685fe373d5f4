-- 010: a revisit pass claims the articles it plans, so a second pass at the same time (the
-- scheduled ingest's and `news-ingest revisit`, or two lake writers) does not fetch them too.
-- A claim lapses by itself: a pass that dies loses nothing, its articles are planned again.
ALTER TABLE article_revisits ADD COLUMN claimed_until TIMESTAMPTZ; -- planned by a pass until then
