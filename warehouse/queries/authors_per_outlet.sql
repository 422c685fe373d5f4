-- Who writes for whom: authors per outlet with their article counts.
SELECT coalesce(a.site_name, '(unknown)') AS outlet,
       au.name AS author,
       count(*) AS articles
FROM article_authors aa
JOIN authors au USING (author_id)
JOIN articles a USING (article_id)
GROUP BY ALL
ORDER BY outlet, articles DESC, author
LIMIT 20;
