-- secrets: keys drip generates itself and every instance shares (the
-- unsubscribe links' HMAC key). The first instance to start writes the
-- key; concurrent first starts insert-or-keep and then all read the one
-- row that won.
--
-- sessions_revoked: web sessions signed out before their expiry, by a
-- hash of their id, until that expiry: sign-out holds across restarts and
-- on every instance.

-- users: web UI accounts (drip user add): a rep sees and acts on the
-- prospects of its senders (a JSON list), ops on everything. Passwords are
-- bcrypt hashes; updated_at moves with every password change, and sessions
-- signed in before it end.

-- +goose Up
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions_revoked (
    id_hash    TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('rep', 'ops')),
    senders       TEXT NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE users;
DROP TABLE sessions_revoked;
DROP TABLE secrets;
