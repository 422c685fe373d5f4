-- Metadata fill rate: per outlet over the last 7 days, the share of articles with authors, dates, categories, tags and language.
SELECT site,
       sum(articles) AS articles,
       round(sum(with_authors * articles) / sum(articles), 3) AS authors,
       round(sum(with_published * articles) / sum(articles), 3) AS published,
       round(sum(with_categories * articles) / sum(articles), 3) AS categories,
       round(sum(with_tags * articles) / sum(articles), 3) AS tags,
       round(sum(with_language * articles) / sum(articles), 3) AS language
FROM article_fill_rate
WHERE day >= current_date - INTERVAL 7 DAY
GROUP BY site
ORDER BY articles DESC, site
LIMIT 20;
