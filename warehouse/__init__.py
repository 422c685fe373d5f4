"""The warehouse's SQL: numbered migrations, views and example queries (package data)."""
