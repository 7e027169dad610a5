-- The running instances of drip, for crash recovery: each one holds a
-- session-level advisory lock on (0x64726970, id) while it lives, and the
-- server drops that lock the moment the instance's connection ends. A row
-- whose lock nobody holds is a dead instance, whose claim and mailbox
-- leases the others release at once (store.LeasesRescue). SQLite needs no
-- table: its instances hold OS file locks beside the database file.

-- +goose Up
CREATE TABLE instances (
    id         serial PRIMARY KEY,
    owner      text NOT NULL UNIQUE,
    started_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE instances;
