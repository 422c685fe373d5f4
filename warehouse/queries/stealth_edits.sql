-- Stealth edits: the body changed with no correction/update notice and no dateModified move.
SELECT c.article_id, a.url, c.to_version, c.detected_at, c.sentences_added,
       c.sentences_deleted, c.sentences_edited, c.chars_added, c.chars_removed
FROM article_changes c JOIN articles a USING (article_id)
WHERE list_contains(c.fields_changed, 'body') AND c.notice_kind IS NULL AND NOT c.modified_moved
ORDER BY c.detected_at DESC;
