-- Articles updated in place by their site, with each version's length.
SELECT a.title, v.version, v.fetched_at, length(v.text) AS characters
FROM article_versions v JOIN articles a USING (article_id)
WHERE a.version > 1
ORDER BY a.article_id, v.version;
