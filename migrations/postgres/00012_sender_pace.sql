-- R9's pace and circuit breaker, kept in the store so that every instance
-- obeys them together.
--
-- sender_pace: no send from the sender starts before not_before (the last
-- start plus a gap drawn in its pace); run_since is when its current run
-- of back-to-back paced sends began (a step that became due during the
-- run waited for its turn, and R3 does not skip it for that wait).
--
-- sender_breaker: the breaker counts the sender's sends started from
-- counts_from on (drip sender resume sets it, so that old bounces do not
-- trip it again at once).

-- +goose Up
CREATE TABLE sender_pace (
    sender     text PRIMARY KEY,
    not_before timestamptz NOT NULL,
    run_since  timestamptz NOT NULL
);
CREATE TABLE sender_breaker (
    sender      text PRIMARY KEY,
    counts_from timestamptz NOT NULL
);
-- The breaker reads a sender's last sends after each bounce.
CREATE INDEX sends_sender_started ON sends (sender, started_at);

-- +goose Down
DROP INDEX sends_sender_started;
DROP TABLE sender_breaker;
DROP TABLE sender_pace;
