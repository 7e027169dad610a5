-- Webhooks: the configured receivers (synced from the config by `drip
-- serve`) and an outbox row per (receiver, event) still to deliver. The
-- rows are written by triggers in the transaction that records the event
-- (or inserts the enrollment, for "enrolled"), whatever the path that
-- writes it (one event, a batch of settles, a COPY import), so a crash
-- loses nothing; a delivered row is deleted. Kinds: ",reply,bounce," or
-- "" for every kind.

-- +goose Up
CREATE TABLE webhooks (
    id    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url   text NOT NULL UNIQUE,
    kinds text NOT NULL DEFAULT ''
);

CREATE TABLE webhook_outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id  integer NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_key   text NOT NULL,
    prospect_id bigint NOT NULL,
    kind        text NOT NULL,
    sequence    text NOT NULL DEFAULT '',
    step        integer NOT NULL DEFAULT 0,
    detail      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,
    last_error  text NOT NULL DEFAULT '',
    lease_owner text NOT NULL DEFAULT '',
    lease_until timestamptz,
    -- The transactions running when this row was queued (see
    -- webhook_outbox_blockers): it is handed out only once they have all
    -- ended, so that an earlier row of the same prospect whose transaction
    -- commits later (ids are drawn before commit) is never overtaken.
    blockers    xid[] NOT NULL DEFAULT '{}'
);
-- The head of each prospect's queue is its lowest id.
CREATE INDEX webhook_outbox_prospect ON webhook_outbox (webhook_id, prospect_id, id);
CREATE INDEX webhook_outbox_forget ON webhook_outbox (prospect_id);

-- +goose StatementBegin
-- Records, on the rows just queued, the other transactions running now.
-- A statement of its own, after their ids were drawn: a transaction that
-- drew a lower id had its transaction id by then and, if it is still
-- running, is listed. (A snapshot's xip would miss one above its xmax.)
-- pg_stat_activity is cached per transaction: cleared first. It shows the
-- sessions of drip's own role, the only ones that write its tables.
CREATE FUNCTION webhook_outbox_blockers(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NOT NULL THEN
        PERFORM pg_stat_clear_snapshot();
        UPDATE webhook_outbox SET blockers = ARRAY(
            SELECT backend_xid FROM pg_stat_activity
            WHERE backend_xid IS NOT NULL AND backend_xid <> pg_current_xact_id()::xid)
        WHERE id = ANY (ids);
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION webhook_outbox_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
    WITH queued AS (
        INSERT INTO webhook_outbox (webhook_id, event_key, prospect_id, kind, sequence, step, detail, at, next_at)
        SELECT w.id, 'ev-' || n.id, n.prospect_id, n.kind, n.sequence, n.step, n.detail, n.at, n.at
        FROM new_rows n
        JOIN webhooks w ON w.kinds = '' OR position(',' || n.kind || ',' IN w.kinds) > 0
        JOIN prospects p ON p.id = n.prospect_id AND p.forgotten_at IS NULL
        WHERE n.kind IN ('sent', 'reply', 'auto_reply', 'deferred', 'bounce', 'unsubscribe', 'left', 'completed', 'failed')
        ORDER BY n.id, w.id
        RETURNING id
    )
    SELECT array_agg(id) INTO ids FROM queued;
    PERFORM webhook_outbox_blockers(ids);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION webhook_outbox_enrollments() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
    WITH queued AS (
        INSERT INTO webhook_outbox (webhook_id, event_key, prospect_id, kind, sequence, step, detail, at, next_at)
        SELECT w.id, 'en-' || n.id, n.prospect_id, 'enrolled', n.sequence, 0, '', n.created_at, n.created_at
        FROM new_rows n
        JOIN webhooks w ON w.kinds = '' OR position(',enrolled,' IN w.kinds) > 0
        ORDER BY n.id, w.id
        RETURNING id
    )
    SELECT array_agg(id) INTO ids FROM queued;
    PERFORM webhook_outbox_blockers(ids);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Once per statement (a COPY of 100k rows runs it once), and a join with
-- an empty webhooks table when none is configured.
CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_outbox_events();
CREATE TRIGGER enrollments_webhook_outbox AFTER INSERT ON enrollments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_outbox_enrollments();

-- +goose Down
DROP TRIGGER enrollments_webhook_outbox ON enrollments;
DROP TRIGGER events_webhook_outbox ON events;
DROP FUNCTION webhook_outbox_enrollments();
DROP FUNCTION webhook_outbox_events();
DROP FUNCTION webhook_outbox_blockers(bigint[]);
DROP TABLE webhook_outbox;
DROP TABLE webhooks;
