-- A sender that sends nothing until `until` (R9): its daily cap is used
-- up, its server refused AUTH or cannot be reached, ... Kept in the store
-- so that every instance skips it in its claims and `drip status` shows it.

-- +goose Up
CREATE TABLE sender_holds (
    sender TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    until  INTEGER NOT NULL,
    since  INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
) STRICT;

-- +goose Down
DROP TABLE sender_holds;
