-- search_fold: the prospect's names and company, case-folded for every
-- letter by Go (store.SearchFold), because SQLite's lower() folds A–Z
-- only: a search for "Żółć" found nothing. The prospect list's search
-- compares the folded term with it. Existing rows are filled by Go
-- migration 6 (migrations/backfill.go).
--
-- prospects_live holds it instead of the company, so that a search still
-- walks the index alone, without reading the table.

-- +goose Up
ALTER TABLE prospects ADD COLUMN search_fold TEXT NOT NULL DEFAULT '';
DROP INDEX prospects_live;
CREATE INDEX prospects_live ON prospects (email_norm, search_fold) WHERE forgotten_at IS NULL;

-- +goose Down
DROP INDEX prospects_live;
CREATE INDEX prospects_live ON prospects (email_norm, company) WHERE forgotten_at IS NULL;
ALTER TABLE prospects DROP COLUMN search_fold;
