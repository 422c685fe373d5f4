-- Feeds with their last status and error, failing ones first.
SELECT feed_id, url, last_status, last_error, consecutive_failures, entries
FROM feed_status
ORDER BY consecutive_failures DESC, feed_id;
