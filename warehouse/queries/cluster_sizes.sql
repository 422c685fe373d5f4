-- Story clusters with more than one article, and the outlets in each.
SELECT cluster_id,
       count(*) AS articles,
       list(DISTINCT site_name ORDER BY site_name) AS outlets,
       min(published_at) AS first_published
FROM articles
GROUP BY cluster_id
ORDER BY articles DESC, first_published
LIMIT 20;
