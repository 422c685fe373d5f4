-- Coverage: articles per outlet and day (by publication date, else fetch date).
SELECT site, day, articles
FROM articles_per_site_day
ORDER BY day DESC, articles DESC, site
LIMIT 20;
