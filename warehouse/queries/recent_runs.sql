-- The last runs and what they did.
SELECT run_id, started_at, finished_at, status, feeds_total, feeds_failed, feeds_not_modified,
       entries_new, articles_new, fallbacks, pages_failed
FROM runs
ORDER BY run_id DESC
LIMIT 10;
