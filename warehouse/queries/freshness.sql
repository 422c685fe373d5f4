-- How late articles arrive: publish-to-ingest delay per source, push against poll (p50/p90 s).
SELECT source, pushed, push_p50_s, push_p90_s, polled, poll_p50_s, poll_p90_s
FROM freshness_push_vs_poll
ORDER BY pushed + polled DESC, source;
