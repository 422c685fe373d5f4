-- Median time from an article's first fetch to its first edit (its first version pair), per
-- outlet, over edited articles.
WITH first_edit AS (
    SELECT article_id, min(detected_at) AS edited_at FROM article_changes GROUP BY article_id
)
SELECT coalesce(a.site_name, regexp_extract(a.url, '^https?://([^/]+)', 1)) AS outlet,
       count(*) AS edited_articles,
       to_seconds(CAST(median(epoch(f.edited_at) - epoch(v.fetched_at)) AS BIGINT))
           AS median_time_to_first_edit
FROM first_edit f
JOIN article_versions v ON v.article_id = f.article_id AND v.version = 1
JOIN articles a ON a.article_id = f.article_id
GROUP BY ALL
ORDER BY edited_articles DESC, outlet;
