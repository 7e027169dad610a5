-- Webhooks: the configured receivers (synced from the config by `drip
-- serve`) and an outbox row per (receiver, event) still to deliver. The
-- rows are written by triggers in the transaction that records the event
-- (or inserts the enrollment, for "enrolled"), whatever the path that
-- writes it, so a crash loses nothing; a delivered row is deleted. Kinds:
-- ",reply,bounce," or "" for every kind.

-- +goose Up
CREATE TABLE webhooks (
    id    INTEGER PRIMARY KEY,
    url   TEXT NOT NULL UNIQUE,
    kinds TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE webhook_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_key   TEXT NOT NULL,
    prospect_id INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    sequence    TEXT NOT NULL DEFAULT '',
    step        INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until INTEGER
) STRICT;
CREATE INDEX webhook_outbox_prospect ON webhook_outbox (webhook_id, prospect_id, id);
CREATE INDEX webhook_outbox_forget ON webhook_outbox (prospect_id);

-- +goose StatementBegin
CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
WHEN NEW.kind IN ('sent', 'reply', 'auto_reply', 'deferred', 'bounce', 'unsubscribe', 'left', 'completed', 'failed')
BEGIN
    INSERT INTO webhook_outbox (webhook_id, event_key, prospect_id, kind, sequence, step, detail, at, next_at)
    SELECT w.id, 'ev-' || NEW.id, NEW.prospect_id, NEW.kind, NEW.sequence, NEW.step, NEW.detail, NEW.at, NEW.at
    FROM webhooks w
    WHERE (w.kinds = '' OR instr(w.kinds, ',' || NEW.kind || ',') > 0)
        AND NOT EXISTS (SELECT 1 FROM prospects p WHERE p.id = NEW.prospect_id AND p.forgotten_at IS NOT NULL)
    ORDER BY w.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER enrollments_webhook_outbox AFTER INSERT ON enrollments
BEGIN
    INSERT INTO webhook_outbox (webhook_id, event_key, prospect_id, kind, sequence, step, detail, at, next_at)
    SELECT w.id, 'en-' || NEW.id, NEW.prospect_id, 'enrolled', NEW.sequence, 0, '', NEW.created_at, NEW.created_at
    FROM webhooks w
    WHERE w.kinds = '' OR instr(w.kinds, ',enrolled,') > 0
    ORDER BY w.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER enrollments_webhook_outbox;
DROP TRIGGER events_webhook_outbox;
DROP TABLE webhook_outbox;
DROP TABLE webhooks;
