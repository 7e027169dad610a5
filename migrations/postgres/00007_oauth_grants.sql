-- OAuth2 grants of sender mailboxes (auth: oauth2), shared by every
-- instance. sealed is the token set encrypted with AES-GCM under the key in
-- DRIP_SECRET_KEY (or secret_key_file): never a token in clear. version
-- grows with every write; refreshes take the row lock, so of two instances
-- only one spends a refresh token and the other reads what it stored.
-- revoked: the token endpoint said invalid_grant; the sender is held until
-- `drip mailbox connect` stores a new grant.

-- +goose Up
CREATE TABLE oauth_grants (
    sender     text PRIMARY KEY,
    version    bigint NOT NULL,
    sealed     text NOT NULL,
    revoked    smallint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE oauth_grants;
