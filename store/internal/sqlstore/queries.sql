-- The SQL both drivers share. Blocks are `-- name: x` (listmonk style);
-- whole-line comments are dropped before a query is sent. Where PostgreSQL
-- and SQLite differ, a macro of the driver fills in its own spelling:
--   {{forUpdate}}         row lock till commit on PostgreSQL; nothing on
--                         SQLite, whose single writer already serialises
--   {{texts "$1"}}        the strings of a JSON list parameter, as a subquery
--   {{anyID "c" "$1"}}    c is one of the ids of a JSON list parameter, as
--                         an index lookup per element (an array on PostgreSQL)
--   {{anyText "c" "$1"}}  the same for strings
--   {{jsonInt "$1" "k"}}  the integer under key k of a JSON object parameter
--   {{forUpdateOf "t"}}   {{forUpdate}} of the rows of table t only
--   {{jsonMerge "a" "b"}} JSON object a with b's keys laid over it
--   {{greatest "a" "b"}}  the larger of a and b
--   {{terminal}}          the terminal enrollment states as SQL literals,
--                         from store.TerminalStates (said once, in Go)
-- A block named part:x is a piece of SQL that queries include with
-- {{template "part:x"}}.
-- Parameters are $1.. in both (SQLite reads $N as the N-th argument).

-- ---------------------------------------------------------------- prospects

-- name: prospect-by-norm
SELECT * FROM prospects WHERE email_norm = $1 AND forgotten_at IS NULL

-- name: prospect-lock-by-norm
SELECT * FROM prospects WHERE email_norm = $1 AND forgotten_at IS NULL {{forUpdate}}

-- name: prospect-by-id
SELECT * FROM prospects WHERE id = $1 AND forgotten_at IS NULL

-- name: prospect-lock
SELECT * FROM prospects WHERE id = $1 {{forUpdate}}

-- name: prospect-forgotten
SELECT forgotten_at IS NOT NULL FROM prospects WHERE id = $1

-- name: prospects-by-ids
SELECT * FROM prospects WHERE {{anyID "id" "$1"}} AND forgotten_at IS NULL

-- name: prospect-insert
-- ON CONFLICT: a concurrent insert of the same address won; the caller
-- then updates that row instead.
INSERT INTO prospects (email, email_norm, email_hash, first_name, last_name, company,
    title, phone, met_at, timezone, language, notes, fields, created_at, updated_at, search_fold)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)
ON CONFLICT (email_norm) DO NOTHING
RETURNING *

-- name: prospect-update
UPDATE prospects SET email = $2, first_name = $3, last_name = $4, company = $5, title = $6,
    phone = $7, met_at = $8, timezone = $9, language = $10, notes = $11, fields = $12,
    updated_at = $13, search_fold = $14
WHERE id = $1
RETURNING *

-- The prospect list (see prospect_list.go). Blocks named list:x are
-- expanded for every shape of a list: which filters it has (.Seq, .State,
-- .Search) and whether the enrollments of the filter drive it (.Driver
-- "enrolled", through enrollments_state) or the list walks the live
-- prospects in address order (.Driver "", through prospects_live) and
-- checks every filter row by row. {{.P "name"}} is the parameter's $N:
-- seq, state, term, n, numbered in that order among those the shape has.
-- CROSS JOIN keeps SQLite's planner from reordering a drive into a walk
-- (it has no statistics to tell them apart); PostgreSQL plans it as a
-- plain join.

-- name: list:estimate
-- How many enrollments the filter finds, up to n.
SELECT count(*) FROM (SELECT 1 FROM enrollments e WHERE {{template "part:list-enrolled" .}} LIMIT {{.P "n"}}) AS m

-- name: list:ids
-- The first n matches, in address order.
SELECT p.id
{{if eq .Driver "enrolled" -}}
-- (A prospect has one enrollment per sequence: only a filter without a
-- sequence can meet a prospect twice.)
FROM (SELECT {{if not .Seq}}DISTINCT {{end}}e.prospect_id AS id FROM enrollments e WHERE {{template "part:list-enrolled" .}}) AS d
CROSS JOIN prospects p
WHERE p.id = d.id AND p.forgotten_at IS NULL
{{- else -}}
FROM prospects p WHERE p.forgotten_at IS NULL
{{- end}}
{{- if .Search}}
    AND ({{contains "p.email_norm" (.P "term")}} OR {{contains "p.search_fold" (.P "term")}})
{{- end}}
{{- if and (or .Seq .State) (ne .Driver "enrolled")}}
    AND EXISTS (SELECT 1 FROM enrollments e WHERE e.prospect_id = p.id
        {{- if .Seq}} AND e.sequence = {{.P "seq"}}{{end}}
        {{- if .State}} AND {{noIndex "e.state"}} = {{.P "state"}}{{end}})
{{- end}}
ORDER BY p.email_norm LIMIT {{.P "n"}}

-- name: part:list-enrolled
-- The enrollments of the filter, through enrollments_state: every state
-- is named when the filter has none, so that the index's first column
-- still narrows the scan (SQLite and PostgreSQL 15 do not skip-scan).
{{if .State}}e.state = {{.P "state"}}{{else}}e.state IN ({{states}}){{end}}
{{- if .Seq}} AND e.sequence = {{.P "seq"}}{{end}}

-- name: prospect-forget
-- The row stays (sends and events point at it, and the statistics count
-- it) but nothing in it names the person any more.
UPDATE prospects SET email = '', email_norm = 'forgotten:' || id, email_hash = '',
    first_name = '', last_name = '', company = '', title = '', phone = '', met_at = '',
    timezone = '', language = '', notes = '', fields = '{}', search_fold = '', forgotten_at = $2, updated_at = $2
WHERE id = $1

-- name: forget-enrollments
UPDATE enrollments SET
    state = CASE WHEN state IN ({{terminal}}) THEN state ELSE 'unsubscribed' END,
    next_send_at = NULL, thread_subject = '', thread_refs = '', reason = 'forgotten',
    successor_email = '', successor_name = '',
    version = version + 1, updated_at = $2
WHERE prospect_id = $1

-- name: forget-events
-- Message-IDs of our own sends are not personal; those of inbound mail,
-- and every free-text detail (a DSN quotes the address), may be.
UPDATE events SET detail = '',
    message_id = CASE WHEN kind IN ('sent', 'skipped', 'failed', 'unknown') THEN message_id ELSE '' END
WHERE prospect_id = $1

-- name: forget-sends
UPDATE sends SET error = ''
WHERE enrollment_id IN (SELECT id FROM enrollments WHERE prospect_id = $1)

-- -------------------------------------------------------------- enrollments

-- name: enrollment-by-id
SELECT * FROM enrollments WHERE id = $1

-- name: enrollment-lock
SELECT * FROM enrollments WHERE id = $1 {{forUpdate}}

-- name: enrollments-lock
-- Locks a batch in id order, so that two batches never wait on each other
-- in a cycle.
SELECT id FROM enrollments WHERE {{anyID "id" "$1"}} ORDER BY id {{forUpdate}}

-- name: enrollments-lock-rows
-- A batch's rows, locked in id order (see enrollments-lock).
SELECT * FROM enrollments WHERE {{anyID "id" "$1"}} ORDER BY id {{forUpdate}}

-- name: enrollment-by-pair
SELECT * FROM enrollments WHERE prospect_id = $1 AND sequence = $2

-- name: enrollments-by-prospect
SELECT * FROM enrollments WHERE prospect_id = $1 ORDER BY id

-- name: enrollments-by-ids
SELECT * FROM enrollments WHERE {{anyID "id" "$1"}}

-- name: enrollments-of-prospects
SELECT * FROM enrollments WHERE {{anyID "prospect_id" "$1"}}

-- name: enrollments-open-of-prospect
SELECT * FROM enrollments
WHERE prospect_id = $1 AND state NOT IN ({{terminal}})
ORDER BY id {{forUpdate}}

-- name: enrollment-insert
INSERT INTO enrollments (prospect_id, sequence, sender, state, first_contact, anchor,
    paused_at, last_step, last_sent_at, next_send_at, thread_subject, thread_refs, reason,
    created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
ON CONFLICT (prospect_id, sequence) DO NOTHING
RETURNING *

-- name: enrollment-update
-- Every change of an enrollment is a read under lock, a decision in Go,
-- and this write; version counts the writes (optimistic concurrency).
UPDATE enrollments SET state = $2, anchor = $3, paused_at = $4, last_step = $5,
    last_sent_at = $6, next_send_at = $7, thread_subject = $8, thread_refs = $9, reason = $10,
    lease_owner = $11, lease_until = $12, version = version + 1, updated_at = $13
WHERE id = $1
RETURNING *

-- name: enrollment-first-contact
-- A corrected first contact (a re-import, an edit): the transition that
-- runs it writes the moved anchor and plan right after, in its
-- transaction.
UPDATE enrollments SET first_contact = $2 WHERE id = $1

-- name: enrollment-successor
-- Who took over from a prospect who left the company (state left); the
-- transition that ends the enrollment writes it in its transaction.
UPDATE enrollments SET successor_email = $2, successor_name = $3 WHERE id = $1

-- name: enrollment-advance
-- enrollment-update of a write that leaves the state as it is (most
-- settles of a send). SQLite rewrites the entry of every index holding a
-- column that the SET names, changed or not: naming state cost every
-- settle a rewrite in enrollments_state (delivery went from 1,700 to 900
-- msg/s).
UPDATE enrollments SET anchor = $2, paused_at = $3, last_step = $4,
    last_sent_at = $5, next_send_at = $6, thread_subject = $7, thread_refs = $8, reason = $9,
    lease_owner = $10, lease_until = $11, version = version + 1, updated_at = $12
WHERE id = $1

-- name: enrollments-release
UPDATE enrollments SET lease_owner = '', lease_until = NULL
WHERE lease_owner = $1 AND {{anyID "id" "$2"}}

-- name: enrollments-complete-past-end
UPDATE enrollments SET state = 'completed', next_send_at = NULL, reason = $4,
    version = version + 1, updated_at = $3
WHERE sequence = $1 AND last_step >= $2
    AND state NOT IN ({{terminal}})
RETURNING *

-- name: enrollment-counts
SELECT sequence, state, count(*) AS n FROM enrollments GROUP BY sequence, state

-- name: analyze-enrollments
ANALYZE enrollments

-- name: part:import-merge
-- A known prospect's row t of an import over its stored one: non-empty
-- incoming values overwrite; custom fields merge key by key; $2 the time.
email = t.email,
    first_name = CASE WHEN t.first_name <> '' THEN t.first_name ELSE prospects.first_name END,
    last_name = CASE WHEN t.last_name <> '' THEN t.last_name ELSE prospects.last_name END,
    company = CASE WHEN t.company <> '' THEN t.company ELSE prospects.company END,
    title = CASE WHEN t.title <> '' THEN t.title ELSE prospects.title END,
    phone = CASE WHEN t.phone <> '' THEN t.phone ELSE prospects.phone END,
    met_at = CASE WHEN t.met_at <> '' THEN t.met_at ELSE prospects.met_at END,
    timezone = CASE WHEN t.timezone <> '' THEN t.timezone ELSE prospects.timezone END,
    language = CASE WHEN t.language <> '' THEN t.language ELSE prospects.language END,
    notes = CASE WHEN t.notes <> '' THEN t.notes ELSE prospects.notes END,
    fields = {{jsonMerge "prospects.fields" "t.fields"}},
    -- Folded by Go from the merged names and company (store.SearchFold).
    search_fold = t.search_fold,
    updated_at = $2

-- name: part:due
-- Due at $1 and not leased: what the claim takes and the backlog counts.
-- state = 'active' spelled out lets the partial index enrollments_due serve.
state = 'active' AND next_send_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)

-- name: due-backlog
-- A held sender's enrollments wait for the end of the hold: not backlog.
SELECT count(*) FROM enrollments {{dueIndex}} WHERE {{template "part:due"}}
    AND sender NOT IN (SELECT sender FROM sender_holds WHERE until > $1)

-- name: part:held
-- The enrollment's sender is held at $1 (store.SenderHold).
sender IN (SELECT sender FROM sender_holds WHERE until > $1)

-- name: part:paced
-- Passed over by the claim ($6 false: not the held senders' claim): the
-- enrollment's sender is paced past $1 (its turn has not come), or the
-- claimer has its next paced send in hand already ($7).
NOT $6 AND (sender IN (SELECT sender FROM sender_pace WHERE not_before > $1)
    OR ($7 <> '[]' AND sender IN {{texts "$7"}}))

-- -------------------------------------------------------------------- sends

-- name: send-gate
-- Everything SendsStart decides on, in one round trip.
SELECT e.state, e.lease_owner, e.lease_until, p.forgotten_at IS NOT NULL AS forgotten,
    EXISTS (SELECT 1 FROM suppressions s WHERE s.email_hash = p.email_hash) AS suppressed,
    COALESCE((SELECT status FROM sends WHERE enrollment_id = e.id AND step = $2), '') AS send_status
FROM enrollments e JOIN prospects p ON p.id = e.prospect_id
WHERE e.id = $1

-- name: send-gate-batch
-- send-gate for a batch: $1 the enrollments' ids, $2 a JSON object of the
-- step each one is to send, by id. Locks the enrollments (not their
-- prospects) in id order.
SELECT e.id, e.state, e.lease_owner, e.lease_until, p.forgotten_at IS NOT NULL AS forgotten,
    EXISTS (SELECT 1 FROM suppressions s WHERE s.email_hash = p.email_hash) AS suppressed,
    COALESCE((SELECT status FROM sends WHERE enrollment_id = e.id AND step = {{jsonInt "$2" "e.id"}}), '') AS send_status
FROM enrollments e JOIN prospects p ON p.id = e.prospect_id
WHERE {{anyID "e.id" "$1"}}
ORDER BY e.id {{forUpdateOf "e"}}

-- name: sender-daily-take-n
-- Takes $3 units of the day's cap $4 at once, or none (no row back): the
-- conditional upsert decides under the row lock, as sender-daily-take.
-- The caller knows that $3 <= $4.
INSERT INTO sender_daily (sender, day, used) VALUES ($1, $2, $3)
ON CONFLICT (sender, day) DO UPDATE SET used = sender_daily.used + $3
WHERE sender_daily.used + $3 <= $4
RETURNING used

-- name: sender-daily-lock
-- The day's count, its row created at 0 if need be and locked till commit
-- (the no-op update takes the lock): when not all of a batch fits, it takes
-- its units one by one in Go, then writes the count with sender-daily-set.
INSERT INTO sender_daily (sender, day, used) VALUES ($1, $2, 0)
ON CONFLICT (sender, day) DO UPDATE SET used = sender_daily.used
RETURNING used

-- name: sender-daily-set
UPDATE sender_daily SET used = $3 WHERE sender = $1 AND day = $2

-- name: sender-daily-take
-- Takes one unit of the day's cap, atomically: the conditional upsert
-- re-checks `used` under the row lock, so concurrent takers never pass it.
-- No row back means the cap is used up.
INSERT INTO sender_daily (sender, day, used) VALUES ($1, $2, 1)
ON CONFLICT (sender, day) DO UPDATE SET used = sender_daily.used + 1
WHERE sender_daily.used < $3
RETURNING used

-- name: sender-daily-give-back
UPDATE sender_daily SET used = used - 1 WHERE sender = $1 AND day = $2 AND used > 0

-- name: sender-pace-take
-- R9: a start at $2 takes the paced sender's turn if it has come
-- (not_before <= $2); nothing from the sender then starts before $3. A
-- start later than the turn by more than the slack ($4 = $2 - slack)
-- begins a new run. No row: not its turn.
INSERT INTO sender_pace (sender, not_before, run_since) VALUES ($1, $3, $2)
ON CONFLICT (sender) DO UPDATE SET not_before = excluded.not_before,
    run_since = CASE WHEN sender_pace.not_before < $4 THEN excluded.run_since ELSE sender_pace.run_since END
WHERE sender_pace.not_before <= $2
RETURNING not_before

-- name: sender-pace-earlier
-- Whether an enrollment of the same sender as enrollment $2, due at $3
-- and planned before it, is not in flight and not in $1's hands: then
-- that one goes first (the longest-due step first, over all instances; a
-- step this instance decided before the turn moved on does not overtake
-- one another instance gave back meanwhile).
SELECT EXISTS (SELECT 1 FROM enrollments o JOIN enrollments me ON me.id = $2 AND o.sender = me.sender
    WHERE o.state = 'active' AND o.next_send_at <= $3
        AND (o.lease_owner IS NULL OR o.lease_owner <> $1 OR o.lease_until IS NULL OR o.lease_until <= $3)
        AND (o.next_send_at < me.next_send_at OR (o.next_send_at = me.next_send_at AND o.id < me.id))
        AND NOT EXISTS (SELECT 1 FROM sends x WHERE x.enrollment_id = o.id AND x.status = 'sending'))

-- name: sender-paces
SELECT sender, not_before, run_since FROM sender_pace ORDER BY sender

-- name: sender-bounces
-- The breaker's window: the sender's last $2 finished sends started since
-- its last reset ($3 when never reset), and how many bounced: refused at
-- RCPT (status bounced), or reported later by mail (a bounce event of the
-- step, found through the prospect's timeline index).
SELECT count(*) AS sends, COALESCE(sum(CASE WHEN w.status = 'bounced' OR EXISTS (
        SELECT 1 FROM events ev WHERE ev.prospect_id = w.prospect_id AND ev.kind = 'bounce'
            AND ev.enrollment_id = w.enrollment_id AND ev.step = w.step)
    THEN 1 ELSE 0 END), 0) AS bounced
FROM (SELECT s.enrollment_id, s.step, s.status, e.prospect_id FROM sends s JOIN enrollments e ON e.id = s.enrollment_id
    WHERE s.sender = $1 AND s.status IN ('sent', 'bounced')
        AND s.started_at >= COALESCE((SELECT counts_from FROM sender_breaker WHERE sender = $1), $3)
    ORDER BY s.started_at DESC LIMIT $2) w

-- name: sender-breaker-reset
INSERT INTO sender_breaker (sender, counts_from) VALUES ($1, $2)
ON CONFLICT (sender) DO UPDATE SET counts_from = excluded.counts_from

-- name: sender-daily-used
SELECT used FROM sender_daily WHERE sender = $1 AND day = $2

-- name: send-begin
INSERT INTO sends (enrollment_id, step, sender, message_id, status, attempts, planned_at, started_at)
VALUES ($1, $2, $3, $4, 'sending', 1, $5, $6)
ON CONFLICT (enrollment_id, step) DO NOTHING
RETURNING id

-- name: send-retry
-- A retried step keeps its Message-ID unless the caller brings a new one.
UPDATE sends SET status = 'sending', attempts = attempts + 1, sender = $3, started_at = $6,
    message_id = CASE WHEN $4 <> '' THEN $4 ELSE message_id END,
    planned_at = COALESCE(planned_at, $5), finished_at = NULL, error = ''
WHERE enrollment_id = $1 AND step = $2 AND status = 'retry'

-- name: send-settle
-- A row already 'sent' is never changed: a late finisher may turn
-- 'unknown' into 'sent', never the reverse. $9 is added to attempts: -1
-- takes back a start's attempt (store.SendUpdate.Uncount), 0 otherwise.
INSERT INTO sends (enrollment_id, step, sender, message_id, status, attempts, planned_at, finished_at, error)
VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)
ON CONFLICT (enrollment_id, step) DO UPDATE SET
    status = excluded.status,
    attempts = {{greatest "sends.attempts + $9" "0"}},
    message_id = CASE WHEN excluded.message_id <> '' THEN excluded.message_id ELSE sends.message_id END,
    planned_at = COALESCE(excluded.planned_at, sends.planned_at),
    finished_at = COALESCE(excluded.finished_at, sends.finished_at),
    error = excluded.error
WHERE sends.status <> 'sent'

-- name: send-get
SELECT * FROM sends WHERE enrollment_id = $1 AND step = $2

-- name: sends-by-enrollment
SELECT * FROM sends WHERE enrollment_id = $1 ORDER BY step

-- name: sent-by-message-ids
SELECT s.enrollment_id, e.prospect_id, e.sequence, s.sender, s.step, s.message_id, p.email, e.state
FROM sends s
JOIN enrollments e ON e.id = s.enrollment_id
JOIN prospects p ON p.id = e.prospect_id
WHERE {{anyText "s.message_id" "$1"}} AND s.message_id <> ''

-- name: sent-latest-to-email
SELECT s.enrollment_id, e.prospect_id, e.sequence, s.sender, s.step, s.message_id, p.email, e.state
FROM prospects p
JOIN enrollments e ON e.prospect_id = p.id
JOIN sends s ON s.enrollment_id = e.id
WHERE p.email_norm = $1 AND s.status IN ('sent', 'sending', 'unknown')
ORDER BY COALESCE(s.finished_at, s.started_at) DESC, s.id DESC
LIMIT 1

-- name: enrollments-running-by-email
-- The running enrollments of the prospect with this address, sent to or
-- not, each with its latest send (as sent-latest-to-email picks it).
SELECT e.id AS enrollment_id, e.prospect_id, e.sequence, e.sender,
    COALESCE(l.step, 0) AS step, COALESCE(l.message_id, '') AS message_id, p.email, e.state
FROM prospects p
JOIN enrollments e ON e.prospect_id = p.id
LEFT JOIN sends l ON l.id = (
    SELECT s.id FROM sends s
    WHERE s.enrollment_id = e.id AND s.status IN ('sent', 'sending', 'unknown')
    ORDER BY COALESCE(s.finished_at, s.started_at) DESC, s.id DESC
    LIMIT 1)
WHERE p.email_norm = $1 AND p.forgotten_at IS NULL AND e.state NOT IN ({{terminal}})
ORDER BY e.id

-- ------------------------------------------------------------- suppressions

-- name: suppressed
SELECT count(*) FROM suppressions WHERE email_hash = $1

-- name: suppression-insert
-- The first reason given is kept.
INSERT INTO suppressions (email_hash, reason, created_at) VALUES ($1, $2, $3)
ON CONFLICT (email_hash) DO NOTHING

-- ------------------------------------------------------------------- events

-- name: event-insert
INSERT INTO events (prospect_id, enrollment_id, sequence, step, kind, message_id, detail, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)

-- name: timeline
-- An enrollment is recorded once, as its row; its "enrolled" entry is read
-- from there (id 0, so it sorts first among entries of the same instant).
SELECT id, prospect_id, enrollment_id, sequence, step, kind, message_id, detail, at
FROM events WHERE prospect_id = $1
UNION ALL
SELECT 0, prospect_id, id, sequence, 0, 'enrolled', '', '', created_at
FROM enrollments WHERE prospect_id = $1
ORDER BY at, id

-- ------------------------------------------------------------------- import
-- A batch is folded in Go, then: import-lock makes the import the only
-- writer of prospects; import-suppressed and import-known look the batch's
-- addresses up; known prospects are updated (the driver's
-- import-update-prospects) and their enrollments read (enrollments-of-prospects);
-- new prospects go in with import-load-prospect (their ids taken before
-- with SQLite's import-prospect-ids, or read back after with import-known:
-- see importInsert), then every enrollment not there yet with
-- import-load-enrollment. With no concurrent writer of prospects, and the
-- known ones locked by their update, nothing here needs ON CONFLICT.

-- name: import-suppressed
SELECT email_hash FROM suppressions WHERE {{anyText "email_hash" "$1"}}

-- name: import-known
SELECT id, email_norm FROM prospects WHERE {{anyText "email_norm" "$1"}} AND forgotten_at IS NULL

-- name: import-known-names
-- The stored names of known prospects: an update keeps the better-cased
-- spelling (namecase.go).
SELECT id, first_name, last_name, company FROM prospects WHERE {{anyID "id" "$1"}}

-- ----------------------------------------------------------- mailbox watching

-- name: mailbox-cursor-get
SELECT sender, uidvalidity, last_uid, old_below FROM mailbox_cursors WHERE sender = $1

-- name: mailbox-cursor-start
-- The first start on a mailbox; a cursor already there (another instance
-- was quicker) is kept as it is.
INSERT INTO mailbox_cursors (sender, uidvalidity, last_uid, old_below) VALUES ($1, $2, 0, $3)
ON CONFLICT (sender) DO NOTHING

-- name: mailbox-cursor-advance
-- A new UIDVALIDITY restarts the count and drops the first start's line
-- between old and new mail; otherwise the cursor only moves on. (Every SET
-- expression reads the row as it was.)
INSERT INTO mailbox_cursors (sender, uidvalidity, last_uid) VALUES ($1, $2, $3)
ON CONFLICT (sender) DO UPDATE SET
    last_uid = CASE WHEN mailbox_cursors.uidvalidity = excluded.uidvalidity
        THEN {{greatest "mailbox_cursors.last_uid" "excluded.last_uid"}}
        ELSE excluded.last_uid END,
    old_below = CASE WHEN mailbox_cursors.uidvalidity = excluded.uidvalidity
        THEN mailbox_cursors.old_below ELSE 0 END,
    uidvalidity = excluded.uidvalidity

-- name: inbound-insert
INSERT INTO inbound (sender, key_hash, handled_at) VALUES ($1, $2, $3)
ON CONFLICT (sender, key_hash) DO NOTHING

-- name: mailbox-lease
-- Taken when free, expired, or already ours; the conditional upsert decides
-- under the row lock, so two instances never both get it.
INSERT INTO mailbox_leases (sender, owner, lease_until) VALUES ($1, $2, $4)
ON CONFLICT (sender) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
WHERE mailbox_leases.owner = excluded.owner OR mailbox_leases.lease_until <= $3
RETURNING owner

-- name: mailbox-lease-release
DELETE FROM mailbox_leases WHERE sender = $1 AND owner = $2

-- ------------------------------------------------------------ crash recovery

-- name: enrollments-release-owners
-- The claims of dead instances ($1: their names), free to claim at once.
-- Only active enrollments can be claimed again (a resumed one drops its
-- lease), and they are all in enrollments_due: SQLite reads that index,
-- which holds lease_until, rather than the table. Once per dead instance.
UPDATE enrollments {{dueIndex}} SET lease_owner = '', lease_until = NULL
WHERE state = 'active' AND lease_until IS NOT NULL AND {{anyText "lease_owner" "$1"}}

-- name: mailbox-leases-release-owners
DELETE FROM mailbox_leases WHERE {{anyText "owner" "$1"}}
-- ------------------------------------------------------------- oauth2 grants

-- name: oauth-grant-get
SELECT sender, version, sealed, revoked FROM oauth_grants WHERE sender = $1

-- name: oauth-grant-lock
-- The row lock serialises refreshes between instances (SQLite has one
-- writer: the transaction is enough).
SELECT sender, version, sealed, revoked FROM oauth_grants WHERE sender = $1 {{forUpdate}}

-- name: oauth-grant-save
INSERT INTO oauth_grants (sender, version, sealed, revoked, updated_at) VALUES ($1, 1, $2, 0, $3)
ON CONFLICT (sender) DO UPDATE SET version = oauth_grants.version + 1, sealed = excluded.sealed,
    revoked = 0, updated_at = excluded.updated_at
RETURNING version

-- name: oauth-grant-write
-- Compare-and-swap on version, besides the lock: a write never lands on a
-- grant it did not read.
UPDATE oauth_grants SET version = version + 1, sealed = $3, revoked = $4, updated_at = $5
WHERE sender = $1 AND version = $2
RETURNING version

-- -------------------------------------------------------------------- stats

-- name: stats-sends
SELECT s.step, s.status AS what, count(*) AS n
FROM sends s JOIN enrollments e ON e.id = s.enrollment_id
WHERE e.sequence = $1
GROUP BY s.step, s.status

-- name: stats-events
-- Replies, auto-replies and unsubscribes, attributed to the step of the
-- send they answered, counted once per enrollment and step.
SELECT step, kind AS what, count(DISTINCT enrollment_id) AS n
FROM events
WHERE sequence = $1 AND kind IN ('reply', 'auto_reply', 'unsubscribe') AND step > 0
GROUP BY step, kind

-- name: stats-bounces
-- A bounce is known from the SMTP answer (the send row) or from a DSN (an
-- event); a step bounced both ways counts once.
SELECT step, '' AS what, count(*) AS n FROM (
    SELECT s.enrollment_id, s.step
    FROM sends s JOIN enrollments e ON e.id = s.enrollment_id
    WHERE e.sequence = $1 AND s.status = 'bounced'
    UNION
    SELECT enrollment_id, step FROM events
    WHERE sequence = $1 AND kind = 'bounce' AND step > 0 AND enrollment_id IS NOT NULL
) b
GROUP BY step

-- name: stats-states
SELECT 0 AS step, state AS what, count(*) AS n FROM enrollments WHERE sequence = $1 GROUP BY state

-- The funnel of a sequence by the prospects' language as stored (the
-- caller folds "it", "IT" and "it-IT" together); the same counts as the
-- stats-* queries above, summed over the steps.

-- name: language-stats-sends
SELECT p.language AS lang, s.status AS what, count(*) AS n
FROM sends s JOIN enrollments e ON e.id = s.enrollment_id JOIN prospects p ON p.id = e.prospect_id
WHERE e.sequence = $1
GROUP BY p.language, s.status

-- name: language-stats-events
SELECT p.language AS lang, ev.kind AS what, count(*) AS n
FROM (SELECT DISTINCT enrollment_id, step, kind FROM events
      WHERE sequence = $1 AND kind IN ('reply', 'auto_reply', 'unsubscribe') AND step > 0) ev
JOIN enrollments e ON e.id = ev.enrollment_id JOIN prospects p ON p.id = e.prospect_id
GROUP BY p.language, ev.kind

-- name: language-stats-bounces
SELECT p.language AS lang, '' AS what, count(*) AS n FROM (
    SELECT s.enrollment_id, s.step
    FROM sends s JOIN enrollments e ON e.id = s.enrollment_id
    WHERE e.sequence = $1 AND s.status = 'bounced'
    UNION
    SELECT enrollment_id, step FROM events
    WHERE sequence = $1 AND kind = 'bounce' AND step > 0 AND enrollment_id IS NOT NULL
) b JOIN enrollments e ON e.id = b.enrollment_id JOIN prospects p ON p.id = e.prospect_id
GROUP BY p.language

-- name: language-stats-states
SELECT p.language AS lang, e.state AS what, count(*) AS n
FROM enrollments e JOIN prospects p ON p.id = e.prospect_id
WHERE e.sequence = $1
GROUP BY p.language, e.state

-- ------------------------------------------------------------ sender holds

-- name: sender-hold-set
-- The longer hold wins; a hold that follows an expired one (until <= $4,
-- the new one's start) or one of another reason begins anew.
INSERT INTO sender_holds (sender, reason, until, since, detail) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (sender) DO UPDATE SET reason = excluded.reason, until = excluded.until, detail = excluded.detail,
    since = CASE WHEN sender_holds.until <= excluded.since OR sender_holds.reason <> excluded.reason
        THEN excluded.since ELSE sender_holds.since END
WHERE excluded.until >= sender_holds.until OR sender_holds.until <= excluded.since

-- name: sender-holds
SELECT sender, reason, until, since, detail FROM sender_holds WHERE until > $1 ORDER BY sender

-- name: sender-hold-clear
DELETE FROM sender_holds WHERE sender = $1 AND ($2 = '[]' OR reason IN {{texts "$2"}})

-- ---------------------------------------------------------------- capacity

-- name: enrollments-planned
-- The next planned send of every active enrollment before $1 (past-due
-- ones too), for the capacity forecast; the due index serves the range.
SELECT e.sender, e.sequence, e.last_step, e.next_send_at, p.email_norm
FROM enrollments e {{dueIndex}} JOIN prospects p ON p.id = e.prospect_id
WHERE e.state = 'active' AND e.next_send_at < $1
ORDER BY e.sender, e.next_send_at

-- name: enrollments-redecide
-- A sender's hold lifted early: what was planned at its end or later is
-- due now, to be decided again by the rules.
UPDATE enrollments SET next_send_at = $3
WHERE sender = $1 AND state = 'active' AND next_send_at >= $2
-- ----------------------------------------------------------------- security

-- name: secret-insert
-- The first instance to start writes the key; later ones keep it.
INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO NOTHING

-- name: secret-get
SELECT value FROM secrets WHERE name = $1

-- name: session-revoke
INSERT INTO sessions_revoked (id_hash, expires_at) VALUES ($1, $2)
ON CONFLICT (id_hash) DO NOTHING

-- name: sessions-revoked-expire
DELETE FROM sessions_revoked WHERE expires_at <= $1

-- name: session-revoked
SELECT count(*) FROM sessions_revoked WHERE id_hash = $1

-- name: suppression-lock
SELECT reason FROM suppressions WHERE email_hash = $1 {{forUpdate}}

-- name: suppression-delete
DELETE FROM suppressions WHERE email_hash = $1

-- name: user-insert
INSERT INTO users (name, password_hash, role, senders, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5)
ON CONFLICT (name) DO NOTHING

-- name: user-get
SELECT name, password_hash, role, senders, created_at, updated_at FROM users WHERE name = $1

-- name: user-set-password
UPDATE users SET password_hash = $2, updated_at = $3 WHERE name = $1

-- name: user-delete
DELETE FROM users WHERE name = $1

-- name: prospect-ids-of-senders
-- A rep's prospect list: those with an enrollment by one of the senders $1
-- (and of sequence $2, in state $3, when given), searched by $4, the first
-- $5 in address order. Reps have few prospects: no drive, no shapes. $4
-- is folded (store.FoldTerm), as the search_fold column is.
SELECT p.id FROM prospects p
WHERE p.forgotten_at IS NULL
    AND EXISTS (SELECT 1 FROM enrollments e WHERE e.prospect_id = p.id AND {{anyText "e.sender" "$1"}}
        AND ($2 = '' OR e.sequence = $2) AND ($3 = '' OR e.state = $3))
    AND ($4 = '' OR {{contains "p.email_norm" "$4"}} OR {{contains "p.search_fold" "$4"}})
ORDER BY p.email_norm LIMIT $5

-- ----------------------------------------------------------------- webhooks
-- The outbox rows are written by triggers (migration 00015) in the
-- transaction of each event; webhook-claim is the driver's.

-- name: webhooks-list
SELECT id, url FROM webhooks

-- name: webhook-upsert
INSERT INTO webhooks (url, kinds) VALUES ($1, $2)
ON CONFLICT (url) DO UPDATE SET kinds = excluded.kinds

-- name: webhooks-drop-others
-- Deleting a webhook deletes its pending deliveries (ON DELETE CASCADE).
DELETE FROM webhooks WHERE NOT ({{anyText "url" "$1"}})

-- name: webhook-delivered
DELETE FROM webhook_outbox WHERE id = $1 AND lease_owner = $2

-- name: webhook-retry
UPDATE webhook_outbox SET attempts = attempts + 1, next_at = $3, last_error = $4,
    lease_owner = '', lease_until = NULL
WHERE id = $1 AND lease_owner = $2

-- name: webhook-pending
SELECT count(*) FROM webhook_outbox

-- name: webhook-outbox-forget
DELETE FROM webhook_outbox WHERE prospect_id = $1

-- name: webhook-leases-release-owners
UPDATE webhook_outbox SET lease_owner = '', lease_until = NULL
WHERE lease_until IS NOT NULL AND {{anyText "lease_owner" "$1"}}
