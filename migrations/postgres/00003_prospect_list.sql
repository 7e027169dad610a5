-- What the web UI's prospect list needs to stay fast with 100,000s of
-- prospects (see store/internal/sqlstore/prospect_list.go for how the list
-- uses them).
--
-- prospects_live: the live prospects in address order, for a page, deep
-- or not, and a search, which checks every row. Not with the company, as
-- on SQLite: a b-tree entry holds at most 2,704 bytes here, and a company
-- of 1,000 characters (the importer's limit) may take 4,000.
--
-- enrollments_state: the prospects in a state and/or a sequence, and the
-- funnel's counts by sequence and state. It costs every enrollment an
-- import adds an index entry, and every settle of a send another (a settle
-- moves next_send_at, which enrollments_due holds, so it is never a HOT
-- update anyway).

-- +goose Up
CREATE INDEX prospects_live ON prospects (email_norm) WHERE forgotten_at IS NULL;
CREATE INDEX enrollments_state ON enrollments (state, sequence, prospect_id);

-- +goose Down
DROP INDEX enrollments_state;
DROP INDEX prospects_live;
