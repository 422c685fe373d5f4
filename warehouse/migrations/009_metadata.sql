-- 009: who may read an article, and how sure each extracted field is.

-- free | metered | subscription | unknown, from the page's JSON-LD isAccessibleForFree and
-- hasPart paywalled sections, its meta tags, and a truncation signal (pipeline/extract/access.py).
-- Articles stored before this migration, and feed fallbacks, stay 'unknown'.
ALTER TABLE articles ADD COLUMN access VARCHAR DEFAULT 'unknown';
-- {"title": 0.8, "authors": 0.9, ...}: per field, 0 to 1, the confidence beside the source in
-- provenance (the source's trust, raised by the other sources that agree). NULL before 009.
ALTER TABLE articles ADD COLUMN confidence JSON;
