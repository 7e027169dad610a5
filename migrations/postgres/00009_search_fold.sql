-- search_fold: the prospect's names and company, case-folded for every
-- letter by Go (store.SearchFold), because lower() follows the database's
-- LC_CTYPE (ASCII only under the C locale): a search for "Żółć" could find
-- nothing. The prospect list's search compares the folded term with it.
-- Existing rows are filled by Go migration 6 (migrations/backfill.go).
-- A constant default adds the column without rewriting the table.

-- +goose Up
ALTER TABLE prospects ADD COLUMN search_fold text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE prospects DROP COLUMN search_fold;
