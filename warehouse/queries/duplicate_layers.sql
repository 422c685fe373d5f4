-- Which dedup layer caught what: duplicates per layer (URL key, feed guid, exact text,
-- near-duplicate text), the articles they point to and the latest catch.
SELECT method, count(*) AS duplicates, count(DISTINCT duplicate_of) AS articles,
       max(detected_at) AS last_detected
FROM duplicate_matches
GROUP BY method
ORDER BY duplicates DESC;
