-- SQLite's own queries; the rest is in store/internal/sqlstore/queries.sql.

-- name: enrollment-claim
-- One writer at a time: the subquery and the update see the same rows.
UPDATE enrollments SET lease_owner = $2, lease_until = $3
WHERE id IN (
    SELECT id FROM enrollments
    WHERE {{template "part:due"}}
        AND ($5 = '[]' OR sequence IN {{texts "$5"}})
    ORDER BY next_send_at
    LIMIT $4
)
RETURNING *

-- name: import-lock
-- Nothing to do: a transaction here is already the only writer.
SELECT 1

-- name: import-unstage-prospects
-- Qualified: never a permanent table of that name.
DROP TABLE IF EXISTS temp.import_prospects

-- name: import-unstage-enrollments
DROP TABLE IF EXISTS temp.import_enrollments

-- name: import-stage-prospects
CREATE TEMP TABLE import_prospects (
    email TEXT, email_norm TEXT, email_hash TEXT, first_name TEXT,
    last_name TEXT, company TEXT, title TEXT, phone TEXT, met_at TEXT, timezone TEXT,
    language TEXT, notes TEXT, fields TEXT
)

-- name: import-stage-enrollments
CREATE TEMP TABLE import_enrollments (
    email_norm TEXT, sequence TEXT, sender TEXT, first_contact INTEGER,
    next_send_at INTEGER
)

-- name: import-load-prospect
-- A row's VALUES; the loader repeats the tuple to stage 100 rows a statement.
INSERT INTO import_prospects (email, email_norm, email_hash, first_name, last_name, company,
    title, phone, met_at, timezone, language, notes, fields)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)

-- name: import-load-enrollment
INSERT INTO import_enrollments (email_norm, sequence, sender, first_contact, next_send_at)
VALUES ($1, $2, $3, $4, $5)
