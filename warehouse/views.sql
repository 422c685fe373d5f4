-- Views, recreated on every open so they always match the code.

CREATE OR REPLACE VIEW articles_per_site_day AS
SELECT coalesce(site_name, regexp_extract(url, '^https?://([^/]+)', 1)) AS site,
       CAST(coalesce(published_at, fetched_at) AS DATE) AS day,
       count(*) AS articles
FROM articles
GROUP BY ALL;

CREATE OR REPLACE VIEW feed_status AS
SELECT f.feed_id, f.url, f.title, f.last_status, f.last_error, f.consecutive_failures,
       f.last_fetched_at,
       (SELECT count(*) FROM feed_entries e WHERE e.feed_id = f.feed_id) AS entries,
       (SELECT count(*) FROM feed_entries e WHERE e.feed_id = f.feed_id AND e.article_id IS NOT NULL) AS entries_with_article
FROM feeds f;

CREATE OR REPLACE VIEW article_details AS
SELECT a.article_id, a.url, a.title, a.site_name, a.published_at, a.language,
       (SELECT list(au.name ORDER BY aa.position) FROM article_authors aa
          JOIN authors au USING (author_id) WHERE aa.article_id = a.article_id) AS authors,
       (SELECT list(c.name ORDER BY c.name) FROM article_categories ac
          JOIN categories c USING (category_id) WHERE ac.article_id = a.article_id) AS categories,
       (SELECT list(t.name ORDER BY t.name) FROM article_tags atg
          JOIN tags t USING (tag_id) WHERE atg.article_id = a.article_id) AS tags,
       a.source, a.cluster_id
FROM articles a;

-- Only clusters holding an article that is not its head (cluster_id <> article_id) can have more
-- than one article: those are aggregated; every other article is a cluster of its own, passed
-- through as one row (the same values the aggregates give), which keeps this cheap at 1M articles.
CREATE OR REPLACE VIEW story_clusters AS
WITH outlets AS NOT MATERIALIZED (
    SELECT cluster_id, article_id, published_at, title,
           coalesce(site_name, regexp_extract(url, '^https?://([^/]+)', 1)) AS outlet
    FROM articles
),
shared AS (SELECT DISTINCT cluster_id FROM articles WHERE cluster_id <> article_id)
SELECT cluster_id,
       count(*) AS articles,
       count(DISTINCT outlet) AS outlets,
       list(DISTINCT outlet) AS outlet_names,
       min(published_at) AS first_published,
       max(published_at) AS last_published,
       arg_min(title, article_id) AS title
FROM outlets
WHERE cluster_id IN (SELECT cluster_id FROM shared)
GROUP BY cluster_id
UNION ALL
SELECT cluster_id,
       CAST(1 AS BIGINT),
       CAST(outlet IS NOT NULL AS BIGINT),
       [outlet],
       published_at,
       published_at,
       title
FROM outlets
WHERE cluster_id NOT IN (SELECT cluster_id FROM shared);

-- Metadata fill rate per outlet and day (same site and day as articles_per_site_day): the share
-- of articles that have authors, a publication date, categories, tags and a language.
-- Extracted fields whose confidence (articles.confidence, 0 to 1) is under 0.5: where to look
-- first. One row per article and field, with the source provenance names for it.
CREATE OR REPLACE VIEW low_confidence AS
SELECT a.article_id,
       coalesce(a.site_name, regexp_extract(a.url, '^https?://([^/]+)', 1)) AS site,
       a.url,
       f.field,
       json_extract_string(a.provenance, '$.' || f.field) AS source,
       CAST(json_extract_string(a.confidence, '$.' || f.field) AS DOUBLE) AS confidence
FROM articles a, unnest(json_keys(a.confidence)) AS f(field)
WHERE a.confidence IS NOT NULL
  AND CAST(json_extract_string(a.confidence, '$.' || f.field) AS DOUBLE) < 0.5;

CREATE OR REPLACE VIEW article_fill_rate AS
SELECT coalesce(a.site_name, regexp_extract(a.url, '^https?://([^/]+)', 1)) AS site,
       CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day,
       count(*) AS articles,
       avg(CASE WHEN a.article_id IN (SELECT article_id FROM article_authors) THEN 1.0 ELSE 0.0 END)
           AS with_authors,
       avg(CASE WHEN a.published_at IS NOT NULL THEN 1.0 ELSE 0.0 END) AS with_published,
       avg(CASE WHEN a.article_id IN (SELECT article_id FROM article_categories) THEN 1.0 ELSE 0.0 END)
           AS with_categories,
       avg(CASE WHEN a.article_id IN (SELECT article_id FROM article_tags) THEN 1.0 ELSE 0.0 END)
           AS with_tags,
       avg(CASE WHEN a.language IS NOT NULL THEN 1.0 ELSE 0.0 END) AS with_language,
       avg(CASE WHEN a.access IS NOT NULL AND a.access <> 'unknown' THEN 1.0 ELSE 0.0 END)
           AS with_access,
       -- the share of articles with at least one field under the low_confidence threshold
       avg(CASE WHEN a.article_id IN (SELECT article_id FROM low_confidence) THEN 1.0 ELSE 0.0 END)
           AS with_low_confidence
FROM articles a
GROUP BY ALL;

-- Every duplicate the dedup layers caught, in one place: which layer (method), the article kept
-- (duplicate_of) and what matched it.
-- * url: a feed entry linked to an article that an earlier entry led to (the same URL key, or a
--   key the article was already known by: another feed, tracking parameters, AMP, www., a
--   redirect or rel=canonical). The article's first entry, by (first_seen_at, feed_id,
--   entry_key) as everywhere else, is its own first sighting and not listed.
-- * guid / url from entry_matches: a feed listing a stored entry again under another link.
-- * content_hash / near_duplicate: article_duplicates, a later article (article_id) matching.
-- url and guid matches made no article: their article_id is NULL.
CREATE OR REPLACE VIEW duplicate_matches AS
WITH sightings AS (
    SELECT feed_id, entry_key, link, link_key, article_id, first_seen_at,
           row_number() OVER (PARTITION BY article_id
                              ORDER BY first_seen_at, feed_id, entry_key) AS nth
    FROM feed_entries
    WHERE article_id IS NOT NULL
)
SELECT 'url' AS method,
       article_id AS duplicate_of,
       CAST(NULL AS BIGINT) AS article_id,
       feed_id,
       entry_key,
       link AS url,
       link_key AS matched_key,
       CAST(NULL AS DOUBLE) AS similarity,
       CAST(NULL AS DOUBLE) AS containment,
       first_seen_at AS detected_at
FROM sightings
WHERE nth > 1
UNION ALL
SELECT m.method, e.article_id, NULL, m.feed_id, m.entry_key, m.link,
       CASE WHEN m.method = 'guid' THEN e.guid ELSE e.link_key END, NULL, NULL, m.detected_at
FROM entry_matches m JOIN feed_entries e USING (feed_id, entry_key)
WHERE e.article_id IS NOT NULL
UNION ALL
SELECT d.method, d.duplicate_of, d.article_id, NULL, NULL, a.url, NULL, d.similarity,
       d.containment, d.detected_at
FROM article_duplicates d JOIN articles a USING (article_id);

-- Freshness: each article's delay from publication to its first sighting (seen_delay_s) and to
-- its stored row (delay_s), with how it arrived; articles without a publication date left out.
CREATE OR REPLACE VIEW article_freshness AS
SELECT a.article_id,
       (SELECT min(e.feed_id) FROM feed_entries e WHERE e.article_id = a.article_id) AS feed_id,
       coalesce(a.site_name, regexp_extract(a.url, '^https?://([^/]+)', 1)) AS source,
       a.published_at, a.first_seen_at, a.fetched_at, a.arrived_via,
       greatest(epoch(a.first_seen_at) - epoch(a.published_at), 0) AS seen_delay_s,
       greatest(epoch(a.fetched_at) - epoch(a.published_at), 0) AS delay_s
FROM articles a
WHERE a.published_at IS NOT NULL AND a.published_at <= a.fetched_at;

-- Publish-to-ingest delay per feed and way of arrival, p50/p90 in seconds.
CREATE OR REPLACE VIEW freshness_by_feed AS
SELECT f.feed_id, f.url, x.arrived_via, count(*) AS articles,
       round(quantile_cont(x.delay_s, 0.5), 1) AS p50_delay_s,
       round(quantile_cont(x.delay_s, 0.9), 1) AS p90_delay_s
FROM article_freshness x JOIN feeds f USING (feed_id)
GROUP BY ALL;

-- The same per source (the site name, else the host).
CREATE OR REPLACE VIEW freshness_by_source AS
SELECT source, arrived_via, count(*) AS articles,
       round(quantile_cont(delay_s, 0.5), 1) AS p50_delay_s,
       round(quantile_cont(delay_s, 0.9), 1) AS p90_delay_s
FROM article_freshness
GROUP BY ALL;

-- Push against poll, side by side, per source.
CREATE OR REPLACE VIEW freshness_push_vs_poll AS
SELECT source,
       count(*) FILTER (WHERE arrived_via = 'push') AS pushed,
       round(quantile_cont(delay_s, 0.5) FILTER (WHERE arrived_via = 'push'), 1) AS push_p50_s,
       round(quantile_cont(delay_s, 0.9) FILTER (WHERE arrived_via = 'push'), 1) AS push_p90_s,
       count(*) FILTER (WHERE arrived_via = 'poll') AS polled,
       round(quantile_cont(delay_s, 0.5) FILTER (WHERE arrived_via = 'poll'), 1) AS poll_p50_s,
       round(quantile_cont(delay_s, 0.9) FILTER (WHERE arrived_via = 'poll'), 1) AS poll_p90_s
FROM article_freshness
GROUP BY source;

-- Edit tracking (issue 16): every headline rewrite, with the headline before and after.
CREATE OR REPLACE VIEW headline_changes AS
SELECT c.article_id,
       coalesce(a.site_name, regexp_extract(a.url, '^https?://([^/]+)', 1)) AS outlet,
       a.url, c.from_version, c.to_version, c.old_title, c.new_title, c.kind, c.detected_at
FROM article_changes c JOIN articles a USING (article_id)
WHERE list_contains(c.fields_changed, 'headline');

-- Every correction, update or clarification notice found on a new version (visible paragraph
-- or JSON-LD `correction`), with its text.
CREATE OR REPLACE VIEW corrections AS
SELECT c.article_id,
       coalesce(a.site_name, regexp_extract(a.url, '^https?://([^/]+)', 1)) AS outlet,
       a.url, a.title, c.notice_kind, c.notice_text, c.to_version, c.detected_at,
       a.published_at
FROM article_changes c JOIN articles a USING (article_id)
WHERE c.notice_kind IS NOT NULL;

-- Each article's publisher topics (tags and categories) under one key folding case, accents and
-- spacing, with the share of its site's articles carrying that key. A topic on most of a site's
-- pages (at least 60% of a site with at least 20 articles) is the site's navigation or a
-- boilerplate label, not what the article is about: site_wide marks it, and article_topics
-- leaves it out. Learned per site from the warehouse as it fills, so no rule names a site.
CREATE OR REPLACE VIEW topic_site_share AS
-- Topics and their sites computed once (MATERIALIZED): inlined three times, DuckDB planned this
-- view at 45 s for 100k articles and spilled past 60 GB at 1M; once, 0.7 s at 100k.
WITH topics AS MATERIALIZED (
    SELECT tp.article_id, tp.kind, tp.name,
           trim(regexp_replace(strip_accents(lower(tp.name)), '\s+', ' ', 'g')) AS topic_key,
           coalesce(a.site_name, regexp_extract(a.url, '^https?://([^/]+)', 1)) AS site
    FROM (
        SELECT l.article_id, 'tag' AS kind, t.name FROM article_tags l JOIN tags t USING (tag_id)
        UNION ALL
        SELECT ac.article_id, 'category' AS kind, c.name
        FROM article_categories ac JOIN categories c USING (category_id)
    ) tp JOIN articles a USING (article_id)
),
site_sizes AS (
    SELECT coalesce(site_name, regexp_extract(url, '^https?://([^/]+)', 1)) AS site,
           count(*) AS site_articles
    FROM articles GROUP BY 1
),
key_counts AS (
    SELECT site, kind, topic_key, count(DISTINCT article_id) AS articles_with
    FROM topics GROUP BY ALL
)
SELECT tp.article_id, tp.site, tp.kind, tp.name, tp.topic_key,
       k.articles_with, z.site_articles,
       k.articles_with / z.site_articles AS site_share,
       z.site_articles >= 20 AND k.articles_with >= 0.6 * z.site_articles AS site_wide
FROM topics tp
JOIN site_sizes z ON z.site = tp.site
JOIN key_counts k ON k.site = tp.site AND k.kind = tp.kind AND k.topic_key = tp.topic_key;

CREATE OR REPLACE VIEW article_topics AS
SELECT article_id, site, kind, name, topic_key
FROM topic_site_share
WHERE NOT site_wide;
