-- drip's schema on PostgreSQL. Times are timestamptz; custom fields are JSON text.
-- Ids are opaque: their sequences hand out 100 at a time per session (gaps
-- are fine), which makes a bulk insert a third cheaper.

-- +goose Up
CREATE TABLE prospects (
    id           bigint GENERATED ALWAYS AS IDENTITY (CACHE 100) PRIMARY KEY,
    email        text NOT NULL,
    -- email_norm is the identity (store.NormalizeEmail); a forgotten
    -- prospect keeps a placeholder here so that the row stays unique.
    email_norm   text NOT NULL UNIQUE,
    -- email_hash is store.EmailHash, joined against suppressions.
    email_hash   text NOT NULL,
    first_name   text NOT NULL DEFAULT '',
    last_name    text NOT NULL DEFAULT '',
    company      text NOT NULL DEFAULT '',
    title        text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    met_at       text NOT NULL DEFAULT '',
    timezone     text NOT NULL DEFAULT '',
    language     text NOT NULL DEFAULT '',
    notes        text NOT NULL DEFAULT '',
    fields       text NOT NULL DEFAULT '{}',
    forgotten_at timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- prospect_id has no foreign key: prospects are never deleted (forget
-- blanks the row), every writer reads the prospect first, and a bulk import
-- would pay a lookup and a row lock per enrollment for it.
CREATE TABLE enrollments (
    id             bigint GENERATED ALWAYS AS IDENTITY (CACHE 100) PRIMARY KEY,
    prospect_id    bigint NOT NULL,
    sequence       text NOT NULL,
    sender         text NOT NULL DEFAULT '',
    state          text NOT NULL CHECK (state IN ('active', 'paused', 'replied', 'bounced', 'unsubscribed', 'completed', 'failed')),
    first_contact  timestamptz NOT NULL,
    anchor         timestamptz NOT NULL,
    paused_at      timestamptz,
    last_step      integer NOT NULL DEFAULT 0,
    last_sent_at   timestamptz,
    next_send_at   timestamptz,
    thread_subject text NOT NULL DEFAULT '',
    thread_refs    text NOT NULL DEFAULT '',
    reason         text NOT NULL DEFAULT '',
    version        bigint NOT NULL DEFAULT 1,
    lease_owner    text NOT NULL DEFAULT '',
    lease_until    timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (prospect_id, sequence)
) WITH (
    -- Every claim and settle rewrites a row of this table and leaves a dead
    -- index entry behind until vacuum: vacuum it early and often. The free
    -- space per page lets lease-only updates stay HOT (no index change).
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 1
);

-- Finding due work costs O(due), not O(enrolled): only active rows are in it.
CREATE INDEX enrollments_due ON enrollments (next_send_at) WHERE state = 'active';
CREATE INDEX enrollments_sequence_state ON enrollments (sequence, state);

CREATE TABLE sends (
    id            bigint GENERATED ALWAYS AS IDENTITY (CACHE 100) PRIMARY KEY,
    enrollment_id bigint NOT NULL REFERENCES enrollments (id),
    step          integer NOT NULL,
    sender        text NOT NULL DEFAULT '',
    message_id    text NOT NULL DEFAULT '',
    status        text NOT NULL CHECK (status IN ('sending', 'sent', 'retry', 'failed', 'bounced', 'skipped', 'unknown')),
    attempts      integer NOT NULL DEFAULT 0,
    planned_at    timestamptz,
    started_at    timestamptz,
    finished_at   timestamptz,
    error         text NOT NULL DEFAULT '',
    -- At most once (R8): one row per step of an enrollment.
    UNIQUE (enrollment_id, step)
);
CREATE INDEX sends_message_id ON sends (message_id);

-- The timeline, an append-only log. An enrollment is its own "enrolled"
-- entry (see the timeline query): an import of 100k rows writes no events.
CREATE TABLE events (
    id            bigint GENERATED ALWAYS AS IDENTITY (CACHE 100) PRIMARY KEY,
    prospect_id   bigint NOT NULL REFERENCES prospects (id),
    enrollment_id bigint REFERENCES enrollments (id),
    sequence      text NOT NULL DEFAULT '',
    step          integer NOT NULL DEFAULT 0,
    kind          text NOT NULL,
    message_id    text NOT NULL DEFAULT '',
    detail        text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL
);
CREATE INDEX events_prospect ON events (prospect_id, at, id);
-- Statistics count the answers to each step; the bulk of the log (enrolled,
-- sent, skipped) stays out of this index.
CREATE INDEX events_answers ON events (sequence, kind, step)
    WHERE kind IN ('reply', 'auto_reply', 'unsubscribe', 'bounce');

CREATE TABLE suppressions (
    email_hash text PRIMARY KEY,
    reason     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);

-- Inbound messages already handled, by a hash of their key (a Message-ID
-- may hold an address, and forgetting a prospect must not leave it here).
CREATE TABLE inbound (
    sender     text NOT NULL,
    key_hash   text NOT NULL,
    handled_at timestamptz NOT NULL,
    PRIMARY KEY (sender, key_hash)
);

CREATE TABLE mailbox_cursors (
    sender      text PRIMARY KEY,
    uidvalidity bigint NOT NULL,
    last_uid    bigint NOT NULL
);

CREATE TABLE mailbox_leases (
    sender      text PRIMARY KEY,
    owner       text NOT NULL,
    lease_until timestamptz NOT NULL
);

CREATE TABLE sender_daily (
    sender text NOT NULL,
    day    text NOT NULL,
    used   integer NOT NULL,
    PRIMARY KEY (sender, day)
);

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
