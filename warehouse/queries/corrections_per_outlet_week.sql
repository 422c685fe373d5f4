-- Correction, update and clarification notices per outlet and week.
SELECT outlet, date_trunc('week', detected_at) AS week, notice_kind, count(*) AS notices
FROM corrections
GROUP BY ALL
ORDER BY week DESC, notices DESC, outlet;
