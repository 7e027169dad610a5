-- enrollments (sequence, state) is dropped: it served only reads that
-- touch most of a sequence's rows anyway (counts for /metrics, per-step
-- statistics, completing a shortened sequence at start), while every
-- enrollment an import adds and every settle of a send paid for an entry
-- in it.
--
-- enrollments_due also holds lease_until: a claim passes over the due
-- rows that are leased (claimed a moment ago, being sent) by reading the
-- index alone, instead of looking each one up in the table. With 1,000
-- due among 1,000,000 enrolled, claiming them all took 1.5-2x as long as
-- among 10,000 without it (the lookups in a deeper table), 1.2-1.5x with
-- it. (PostgreSQL keeps the lease out of its index: there a lease change
-- is a HOT update that touches no index at all.)

-- +goose Up
DROP INDEX IF EXISTS enrollments_sequence_state;
DROP INDEX enrollments_due;
CREATE INDEX enrollments_due ON enrollments (next_send_at, lease_until) WHERE state = 'active';

-- +goose Down
DROP INDEX enrollments_due;
CREATE INDEX enrollments_due ON enrollments (next_send_at) WHERE state = 'active';
CREATE INDEX IF NOT EXISTS enrollments_sequence_state ON enrollments (sequence, state);
