-- drip's schema on SQLite. Times are INTEGER unix microseconds (text
-- timestamps compare wrongly); the driver converts. STRICT tables refuse a
-- value of the wrong type instead of storing it silently.

-- +goose Up
CREATE TABLE prospects (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL,
    -- email_norm is the identity (store.NormalizeEmail); a forgotten
    -- prospect keeps a placeholder here so that the row stays unique.
    email_norm   TEXT NOT NULL UNIQUE,
    -- email_hash is store.EmailHash, joined against suppressions.
    email_hash   TEXT NOT NULL,
    first_name   TEXT NOT NULL DEFAULT '',
    last_name    TEXT NOT NULL DEFAULT '',
    company      TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    met_at       TEXT NOT NULL DEFAULT '',
    timezone     TEXT NOT NULL DEFAULT '',
    language     TEXT NOT NULL DEFAULT '',
    notes        TEXT NOT NULL DEFAULT '',
    fields       TEXT NOT NULL DEFAULT '{}',
    forgotten_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- prospect_id has no foreign key: prospects are never deleted (forget
-- blanks the row), every writer reads the prospect first, and a bulk import
-- would pay a lookup and a row lock per enrollment for it.
CREATE TABLE enrollments (
    id             INTEGER PRIMARY KEY,
    prospect_id    INTEGER NOT NULL,
    sequence       TEXT NOT NULL,
    sender         TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL CHECK (state IN ('active', 'paused', 'replied', 'bounced', 'unsubscribed', 'completed', 'failed')),
    first_contact  INTEGER NOT NULL,
    anchor         INTEGER NOT NULL,
    paused_at      INTEGER,
    last_step      INTEGER NOT NULL DEFAULT 0,
    last_sent_at   INTEGER,
    next_send_at   INTEGER,
    thread_subject TEXT NOT NULL DEFAULT '',
    thread_refs    TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    version        INTEGER NOT NULL DEFAULT 1,
    lease_owner    TEXT NOT NULL DEFAULT '',
    lease_until    INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (prospect_id, sequence)
) STRICT;

-- Finding due work costs O(due), not O(enrolled): only active rows are in it.
CREATE INDEX enrollments_due ON enrollments (next_send_at) WHERE state = 'active';
CREATE INDEX enrollments_sequence_state ON enrollments (sequence, state);

CREATE TABLE sends (
    id            INTEGER PRIMARY KEY,
    enrollment_id INTEGER NOT NULL REFERENCES enrollments (id),
    step          INTEGER NOT NULL,
    sender        TEXT NOT NULL DEFAULT '',
    message_id    TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'retry', 'failed', 'bounced', 'skipped', 'unknown')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    planned_at    INTEGER,
    started_at    INTEGER,
    finished_at   INTEGER,
    error         TEXT NOT NULL DEFAULT '',
    -- At most once (R8): one row per step of an enrollment.
    UNIQUE (enrollment_id, step)
) STRICT;
CREATE INDEX sends_message_id ON sends (message_id);

-- The timeline, an append-only log. An enrollment is its own "enrolled"
-- entry (see the timeline query): an import of 100k rows writes no events.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    prospect_id   INTEGER NOT NULL REFERENCES prospects (id),
    enrollment_id INTEGER REFERENCES enrollments (id),
    sequence      TEXT NOT NULL DEFAULT '',
    step          INTEGER NOT NULL DEFAULT 0,
    kind          TEXT NOT NULL,
    message_id    TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '',
    at            INTEGER NOT NULL
) STRICT;
CREATE INDEX events_prospect ON events (prospect_id, at, id);
-- Statistics count the answers to each step; the bulk of the log (enrolled,
-- sent, skipped) stays out of this index.
CREATE INDEX events_answers ON events (sequence, kind, step)
    WHERE kind IN ('reply', 'auto_reply', 'unsubscribe', 'bounce');

CREATE TABLE suppressions (
    email_hash TEXT PRIMARY KEY,
    reason     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Inbound messages already handled, by a hash of their key (a Message-ID
-- may hold an address, and forgetting a prospect must not leave it here).
CREATE TABLE inbound (
    sender     TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    handled_at INTEGER NOT NULL,
    PRIMARY KEY (sender, key_hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE mailbox_cursors (
    sender      TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL
) STRICT;

CREATE TABLE mailbox_leases (
    sender      TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    lease_until INTEGER NOT NULL
) STRICT;

CREATE TABLE sender_daily (
    sender TEXT NOT NULL,
    day    TEXT NOT NULL,
    used   INTEGER NOT NULL,
    PRIMARY KEY (sender, day)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE sender_daily;
DROP TABLE mailbox_leases;
DROP TABLE mailbox_cursors;
DROP TABLE inbound;
DROP TABLE suppressions;
DROP TABLE events;
DROP TABLE sends;
DROP TABLE enrollments;
DROP TABLE prospects;
