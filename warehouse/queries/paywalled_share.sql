-- Paywalled share per outlet: of the articles whose access state is known, the share behind a metered or a subscription wall.
SELECT coalesce(site_name, regexp_extract(url, '^https?://([^/]+)', 1)) AS site,
       count(*) AS articles,
       count(*) FILTER (WHERE access <> 'unknown') AS known,
       round(count(*) FILTER (WHERE access = 'metered')
             / nullif(count(*) FILTER (WHERE access <> 'unknown'), 0), 3) AS metered,
       round(count(*) FILTER (WHERE access = 'subscription')
             / nullif(count(*) FILTER (WHERE access <> 'unknown'), 0), 3) AS subscription,
       round(count(*) FILTER (WHERE access IN ('metered', 'subscription'))
             / nullif(count(*) FILTER (WHERE access <> 'unknown'), 0), 3) AS paywalled
FROM articles
GROUP BY ALL
ORDER BY known DESC, site
LIMIT 20;
