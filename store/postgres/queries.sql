-- PostgreSQL's own queries; the rest is in store/internal/sqlstore/queries.sql.

-- name: enrollment-claim
-- SKIP LOCKED: concurrent claimers pass over each other's rows instead of
-- waiting, and a row changed meanwhile is re-checked before it is taken.
WITH due AS (
    SELECT id FROM enrollments
    WHERE {{template "part:due"}}
        AND ($5 = '[]' OR sequence IN {{texts "$5"}})
    ORDER BY next_send_at
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE enrollments e SET lease_owner = $2, lease_until = $3
FROM due WHERE e.id = due.id
RETURNING e.*

-- name: import-lock
-- An import is the only writer of prospects till it commits (others wait,
-- reading goes on; the engine does not write prospects), so its merge
-- needs no ON CONFLICT. SHARE ROW EXCLUSIVE: two imports take turns.
LOCK TABLE prospects IN SHARE ROW EXCLUSIVE MODE

-- name: import-unstage-prospects
-- Qualified: never a permanent table of that name.
DROP TABLE IF EXISTS pg_temp.import_prospects

-- name: import-unstage-enrollments
DROP TABLE IF EXISTS pg_temp.import_enrollments

-- name: import-stage-prospects
CREATE TEMP TABLE import_prospects (
    email text, email_norm text, email_hash text, first_name text, last_name text,
    company text, title text, phone text, met_at text, timezone text, language text,
    notes text, fields text
) ON COMMIT DROP

-- name: import-stage-enrollments
CREATE TEMP TABLE import_enrollments (
    email_norm text, sequence text, sender text, first_contact timestamptz,
    next_send_at timestamptz
) ON COMMIT DROP

-- name: import-load-prospect
COPY import_prospects (email, email_norm, email_hash, first_name, last_name, company, title, phone, met_at, timezone, language, notes, fields) FROM STDIN

-- name: import-load-enrollment
COPY import_enrollments (email_norm, sequence, sender, first_contact, next_send_at) FROM STDIN
