-- Stories covered by more than one article, with the outlets and how each copy matched.
SELECT c.cluster_id, c.articles, c.outlet_names AS outlets, c.title,
       (SELECT list(DISTINCT d.method) FROM article_duplicates d
          JOIN articles a USING (article_id) WHERE a.cluster_id = c.cluster_id) AS matched_by
FROM story_clusters c
WHERE c.articles > 1
ORDER BY c.articles DESC, c.first_published
LIMIT 20;
