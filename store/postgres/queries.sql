-- PostgreSQL's own queries; the rest is in store/internal/sqlstore/queries.sql.
-- settle-write and sends-begin-batch are PostgreSQL's only (see
-- sqlstore.Dialect.RowsAsJSON): SQLite writes a batch row by row.

-- name: enrollment-claim
-- SKIP LOCKED: concurrent claimers pass over each other's rows instead of
-- waiting, and a row changed meanwhile is re-checked before it is taken.
WITH due AS (
    SELECT id FROM enrollments
    WHERE {{template "part:due"}}
        AND ($5 = '[]' OR sequence IN {{texts "$5"}})
        AND ({{template "part:held"}}) = $6
        AND NOT ({{template "part:paced"}})
    ORDER BY next_send_at
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE enrollments e SET lease_owner = $2, lease_until = $3
FROM due WHERE e.id = due.id
RETURNING e.*

-- name: settle-write
-- What a batch of settles writes, in one statement (one round trip): the
-- steps' rows as send-settle does ($1), the events in their order ($2),
-- and every mutable column of the enrollments as enrollment-update does
-- ($3, whose ids are $4, so that the rows are found through the primary
-- key whatever the planner believes of the table). Each is a JSON list of
-- rows (see sqlstore/batch.go); times are unix microseconds, turned back
-- exactly (a bigint times 1µs). No two sends rows are for the same step.
WITH sent AS (
    INSERT INTO sends (enrollment_id, step, sender, message_id, status, attempts, planned_at, finished_at, error)
    SELECT t.enrollment_id, t.step, t.sender, t.message_id, t.status, t.attempts,
        'epoch'::timestamptz + t.planned_at * interval '1 microsecond',
        'epoch'::timestamptz + t.finished_at * interval '1 microsecond', t.error
    FROM json_to_recordset($1::json) AS t(enrollment_id bigint, step int, sender text, message_id text,
        status text, planned_at bigint, finished_at bigint, error text, attempts int)
    ON CONFLICT (enrollment_id, step) DO UPDATE SET
        status = excluded.status,
        -- excluded.attempts is -1 to take back the start's attempt, else 0.
        attempts = GREATEST(sends.attempts + excluded.attempts, 0),
        message_id = CASE WHEN excluded.message_id <> '' THEN excluded.message_id ELSE sends.message_id END,
        planned_at = COALESCE(excluded.planned_at, sends.planned_at),
        finished_at = COALESCE(excluded.finished_at, sends.finished_at),
        error = excluded.error
    WHERE sends.status <> 'sent'
), logged AS (
    INSERT INTO events (prospect_id, enrollment_id, sequence, step, kind, message_id, detail, at)
    SELECT t.prospect_id, t.enrollment_id, t.sequence, t.step, t.kind, t.message_id, t.detail,
        'epoch'::timestamptz + t.at * interval '1 microsecond'
    FROM json_to_recordset($2::json) AS t(prospect_id bigint, enrollment_id bigint, sequence text, step int,
        kind text, message_id text, detail text, at bigint)
)
UPDATE enrollments SET state = t.state,
    anchor = 'epoch'::timestamptz + t.anchor * interval '1 microsecond',
    paused_at = 'epoch'::timestamptz + t.paused_at * interval '1 microsecond',
    last_step = t.last_step,
    last_sent_at = 'epoch'::timestamptz + t.last_sent_at * interval '1 microsecond',
    next_send_at = 'epoch'::timestamptz + t.next_send_at * interval '1 microsecond',
    thread_subject = t.thread_subject, thread_refs = t.thread_refs, reason = t.reason,
    lease_owner = t.lease_owner,
    lease_until = 'epoch'::timestamptz + t.lease_until * interval '1 microsecond',
    version = version + 1,
    updated_at = 'epoch'::timestamptz + t.updated_at * interval '1 microsecond'
FROM json_to_recordset($3::json) AS t(id bigint, state text, anchor bigint, paused_at bigint, last_step int,
    last_sent_at bigint, next_send_at bigint, thread_subject text, thread_refs text, reason text,
    lease_owner text, lease_until bigint, updated_at bigint)
WHERE enrollments.id = t.id AND {{anyID "enrollments.id" "$4"}}

-- name: sends-begin-batch
-- send-begin for a JSON list of rows; returns the enrollments whose row
-- was created.
INSERT INTO sends (enrollment_id, step, sender, message_id, status, attempts, planned_at, started_at)
SELECT t.enrollment_id, t.step, t.sender, t.message_id, 'sending', 1,
    'epoch'::timestamptz + t.planned_at * interval '1 microsecond',
    'epoch'::timestamptz + t.started_at * interval '1 microsecond'
FROM json_to_recordset($1::json) AS t(enrollment_id bigint, step int, sender text, message_id text,
    planned_at bigint, started_at bigint)
ON CONFLICT (enrollment_id, step) DO NOTHING
RETURNING enrollment_id

-- name: import-lock
-- An import is the only writer of prospects till it commits (others wait,
-- reading goes on; the engine does not write prospects), so its merge
-- needs no ON CONFLICT. SHARE ROW EXCLUSIVE: two imports take turns.
LOCK TABLE prospects IN SHARE ROW EXCLUSIVE MODE

-- name: import-update-prospects
-- $1: JSON list of {id, email, first_name, ...}, as t (see
-- part:import-merge).
UPDATE prospects SET {{template "part:import-merge"}}
FROM json_to_recordset($1::json) AS t(id bigint, email text, first_name text, last_name text,
    company text, title text, phone text, met_at text, timezone text, language text, notes text, fields text,
    search_fold text)
WHERE prospects.id = t.id

-- name: import-async-commit
-- An import batch's commit does not wait for its WAL to reach the disk
-- (12% faster imports here, measured with 1000-row batches). A crash of
-- the server may then lose the last import batches committed in the
-- moment before it (up to 3 x wal_writer_delay, 0.6 s by default), which
-- the import has already counted: running the same import again restores
-- them, and updates, never duplicates, what it had stored. Nothing durable
-- can depend on a lost batch: the engine's own commits wait for the WAL,
-- which holds every earlier commit, so a send started for an enrollment of
-- the import makes that batch durable first.
SET LOCAL synchronous_commit = off

-- name: import-load-prospect
-- The ids are the column's own; the import reads them back (import-known).
COPY prospects (email, email_norm, email_hash, first_name, last_name, company, title, phone,
    met_at, timezone, language, notes, fields, created_at, updated_at, search_fold) FROM STDIN

-- name: import-load-enrollment
COPY enrollments (prospect_id, sequence, sender, state, first_contact, anchor, next_send_at,
    created_at, updated_at) FROM STDIN

-- ------------------------------------------------------------ crash recovery
-- An instance is a row of instances and a session-level advisory lock on
-- the key ($1, its id), held on a connection of its own
-- (sqlstore.AdvisoryLiveness). The server drops the lock the moment that
-- session ends: a row whose lock nobody holds is a dead instance.

-- name: instance-register
INSERT INTO instances (owner, started_at) VALUES ($1, $2)
ON CONFLICT (owner) DO UPDATE SET started_at = excluded.started_at
RETURNING id

-- name: instance-lock
SELECT pg_advisory_lock($1, $2)

-- name: instance-held
-- On the lock's own connection: does this session still hold it?
SELECT EXISTS (SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
        AND classid = $1::oid AND objid = $2::oid AND objsubid = 2)

-- name: part:instance-dead
-- Row i's lock is held by no session of this database.
NOT EXISTS (SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::oid AND l.objid = i.id::oid AND l.objsubid = 2)

-- name: instances-dead
SELECT owner FROM instances i WHERE {{template "part:instance-dead"}}

-- name: instances-forget
-- Only if still dead: an instance that took its lock again stays.
DELETE FROM instances i WHERE {{anyText "owner" "$2"}} AND {{template "part:instance-dead"}}

-- name: webhook-claim
-- The head of each (webhook, prospect) queue, due and not leased. SKIP
-- LOCKED: a head another instance is leasing is passed over, and its
-- successors are not heads while it exists, so the order holds. A row
-- waits while a transaction that ran when it was queued still runs: an
-- earlier row of its prospect may be in it, uncommitted (migration 00015).
WITH head AS (
    SELECT o.id FROM webhook_outbox o
    WHERE o.next_at <= $2 AND (o.lease_until IS NULL OR o.lease_until <= $2)
        AND (cardinality(o.blockers) = 0 OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a
            WHERE a.backend_xid = ANY (o.blockers)))
        AND NOT EXISTS (SELECT 1 FROM webhook_outbox p
            WHERE p.webhook_id = o.webhook_id AND p.prospect_id = o.prospect_id AND p.id < o.id)
    ORDER BY o.id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_outbox o SET lease_owner = $1, lease_until = $3
FROM head WHERE o.id = head.id
RETURNING o.id, o.webhook_id, o.event_key, o.prospect_id, o.kind, o.sequence, o.step, o.detail, o.at, o.attempts
