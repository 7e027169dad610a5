-- A sender that sends nothing until `until` (R9): its daily cap is used
-- up, its server refused AUTH or cannot be reached, ... Kept in the store
-- so that every instance skips it in its claims and `drip status` shows it.

-- +goose Up
CREATE TABLE sender_holds (
    sender text PRIMARY KEY,
    reason text NOT NULL,
    until  timestamptz NOT NULL,
    since  timestamptz NOT NULL,
    detail text NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE sender_holds;
