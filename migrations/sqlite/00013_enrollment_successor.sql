-- An enrollment that ended `left` (an auto-reply said the person left the
-- company) keeps who took over, when the auto-reply named them, so that the
-- rep can enrol the successor in one step. Empty strings when not named.

-- +goose Up
ALTER TABLE enrollments ADD COLUMN successor_email TEXT NOT NULL DEFAULT '';
ALTER TABLE enrollments ADD COLUMN successor_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE enrollments DROP COLUMN successor_name;
ALTER TABLE enrollments DROP COLUMN successor_email;
