-- The most used tags per ISO week.
SELECT date_trunc('week', coalesce(a.published_at, a.fetched_at)) AS week,
       t.name AS tag,
       count(*) AS articles
FROM article_tags atg
JOIN tags t USING (tag_id)
JOIN articles a USING (article_id)
GROUP BY ALL
ORDER BY week DESC, articles DESC, tag
LIMIT 20;
