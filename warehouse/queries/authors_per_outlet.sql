-- Who writes for whom: authors per outlet with their article counts.
-- Counted per author_id, then named (author names are unique): the same rows as grouping by name.
WITH counts AS (
    SELECT coalesce(a.site_name, '(unknown)') AS outlet, aa.author_id, count(*) AS articles
    FROM article_authors aa
    JOIN articles a USING (article_id)
    GROUP BY ALL
)
SELECT c.outlet, au.name AS author, c.articles
FROM counts c
JOIN authors au USING (author_id)
ORDER BY outlet, articles DESC, author
LIMIT 20;
