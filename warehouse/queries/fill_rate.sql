-- Metadata fill rate: per outlet over the last 7 days, the share of articles with authors, dates, categories, tags, language and a known access state, and with a field of low confidence.
SELECT site,
       sum(articles) AS articles,
       round(sum(with_authors * articles) / sum(articles), 3) AS authors,
       round(sum(with_published * articles) / sum(articles), 3) AS published,
       round(sum(with_categories * articles) / sum(articles), 3) AS categories,
       round(sum(with_tags * articles) / sum(articles), 3) AS tags,
       round(sum(with_language * articles) / sum(articles), 3) AS language,
       round(sum(with_access * articles) / sum(articles), 3) AS access,
       round(sum(with_low_confidence * articles) / sum(articles), 3) AS low_confidence
FROM article_fill_rate
WHERE day >= current_date - INTERVAL 7 DAY
GROUP BY site
ORDER BY articles DESC, site
LIMIT 20;
