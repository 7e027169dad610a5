-- SQLite's own queries; the rest is in store/internal/sqlstore/queries.sql.

-- name: enrollment-claim
-- One writer at a time: the subquery and the update see the same rows.
UPDATE enrollments SET lease_owner = $2, lease_until = $3
WHERE id IN (
    SELECT id FROM enrollments {{dueIndex}}
    WHERE {{template "part:due"}}
        AND ($5 = '[]' OR sequence IN {{texts "$5"}})
        AND ({{template "part:held"}}) = $6
        AND NOT ({{template "part:paced"}})
    ORDER BY next_send_at
    LIMIT $4
)
RETURNING *

-- name: import-lock
-- Nothing to do: a transaction here is already the only writer.
SELECT 1

-- name: import-prospect-ids
-- $1 ids for new prospects after the largest one: a transaction here is
-- the only writer, so nobody takes them meanwhile.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
SELECT (SELECT COALESCE(max(id), 0) FROM prospects) + i FROM n

-- name: import-update-prospects
-- $1: JSON list of {id, email, first_name, ...}, as t (see
-- part:import-merge).
UPDATE prospects SET {{template "part:import-merge"}}
FROM (SELECT value ->> 'id' AS id, value ->> 'email' AS email, value ->> 'first_name' AS first_name,
        value ->> 'last_name' AS last_name, value ->> 'company' AS company, value ->> 'title' AS title,
        value ->> 'phone' AS phone, value ->> 'met_at' AS met_at, value ->> 'timezone' AS timezone,
        value ->> 'language' AS language, value ->> 'notes' AS notes, value ->> 'fields' AS fields,
        value ->> 'search_fold' AS search_fold
    FROM json_each($1)) AS t
WHERE prospects.id = t.id

-- name: import-load-prospect
-- A row's VALUES; the loader repeats the tuple to insert many rows a statement.
INSERT INTO prospects (id, email, email_norm, email_hash, first_name, last_name, company, title, phone,
    met_at, timezone, language, notes, fields, created_at, updated_at, search_fold)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)

-- name: import-load-enrollment
INSERT INTO enrollments (prospect_id, sequence, sender, state, first_contact, anchor, next_send_at,
    created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)

-- name: webhook-claim
-- The head of each (webhook, prospect) queue, due and not leased; one
-- writer at a time, so the subquery and the update see the same rows.
UPDATE webhook_outbox SET lease_owner = $1, lease_until = $3
WHERE id IN (
    SELECT o.id FROM webhook_outbox o
    WHERE o.next_at <= $2 AND (o.lease_until IS NULL OR o.lease_until <= $2)
        AND NOT EXISTS (SELECT 1 FROM webhook_outbox p
            WHERE p.webhook_id = o.webhook_id AND p.prospect_id = o.prospect_id AND p.id < o.id)
    ORDER BY o.id
    LIMIT $4
)
RETURNING id, webhook_id, event_key, prospect_id, kind, sequence, step, detail, at, attempts
