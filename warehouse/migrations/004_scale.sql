-- 004: lookups that stay fast at millions of articles.

-- Exact copies are found by probing this key, not by scanning articles: every text stored
-- (any version of any article) and the first article that had it.
CREATE TABLE content_hashes (
    content_hash VARCHAR PRIMARY KEY,
    article_id BIGINT NOT NULL
);
INSERT INTO content_hashes
SELECT content_hash, min(article_id) FROM articles WHERE content_hash <> '' GROUP BY content_hash;

-- Each write of band rows takes the next batch number. The band index beside the warehouse
-- (<warehouse>.lsh/) holds the rows up to a batch; newer rows are read from here, where the
-- growing batch number lets DuckDB skip the older row groups.
CREATE SEQUENCE band_batch_seq START 1;
ALTER TABLE article_bands ADD COLUMN batch BIGINT DEFAULT 0;
