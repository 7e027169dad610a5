-- OAuth2 grants of sender mailboxes (auth: oauth2), shared by every
-- instance. sealed is the token set encrypted with AES-GCM under the key in
-- DRIP_SECRET_KEY (or secret_key_file): never a token in clear. version
-- grows with every write; refreshes run in one transaction on the single writer, so
-- one refresh token is never spent twice.
-- revoked: the token endpoint said invalid_grant; the sender is held until
-- `drip mailbox connect` stores a new grant.

-- +goose Up
CREATE TABLE oauth_grants (
    sender     TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    sealed     TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE oauth_grants;
