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
    name       text PRIMARY KEY,
    value      text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE sessions_revoked (
    id_hash    text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE TABLE users (
    name          text PRIMARY KEY,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('rep', 'ops')),
    senders       text NOT NULL DEFAULT '[]',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- +goose Down
DROP TABLE users;
DROP TABLE sessions_revoked;
DROP TABLE secrets;
