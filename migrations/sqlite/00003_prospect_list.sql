-- What the web UI's prospect list needs to stay fast with 100,000s of
-- prospects (see store/internal/sqlstore/prospect_list.go for how the list
-- uses them).
--
-- prospects_live: the live prospects in address order, with the company:
-- a page, deep or not, and a search, which checks every row, walk it
-- without reading the table.
--
-- enrollments_state: the prospects in a state and/or a sequence, and the
-- funnel's counts by sequence and state (the whole table was read for
-- those). It costs every enrollment an import adds an index entry (the
-- import of 1,000,000 rows went from 31,400 to 29,400 rows/s) and every
-- change of state a rewritten one; a settle that keeps the state does not
-- name it (enrollment-advance), and the claim names its index
-- (INDEXED BY enrollments_due), which the planner passed over for this one.

-- +goose Up
CREATE INDEX prospects_live ON prospects (email_norm, company) WHERE forgotten_at IS NULL;
CREATE INDEX enrollments_state ON enrollments (state, sequence, prospect_id);

-- +goose Down
DROP INDEX enrollments_state;
DROP INDEX prospects_live;
