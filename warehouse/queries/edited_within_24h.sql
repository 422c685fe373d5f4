-- Share of articles edited within 24 hours of their first fetch, per outlet.
WITH first_edit AS (
    SELECT article_id, min(detected_at) AS edited_at FROM article_changes GROUP BY article_id
)
SELECT coalesce(a.site_name, regexp_extract(a.url, '^https?://([^/]+)', 1)) AS outlet,
       count(*) AS articles,
       count(*) FILTER (WHERE f.edited_at <= v.fetched_at + INTERVAL 24 HOUR) AS edited_within_24h,
       round(count(*) FILTER (WHERE f.edited_at <= v.fetched_at + INTERVAL 24 HOUR)
             / count(*), 4) AS share_edited_within_24h
FROM articles a
JOIN article_versions v ON v.article_id = a.article_id AND v.version = 1
LEFT JOIN first_edit f ON f.article_id = a.article_id
GROUP BY ALL
ORDER BY articles DESC, outlet;
