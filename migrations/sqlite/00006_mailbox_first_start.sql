-- mailbox_cursors.old_below keeps where a watcher's very first start on a
-- mailbox drew the line between old and new mail: the UIDs below it (under
-- the cursor's uidvalidity) were in the box before drip ever connected, and
-- are matched by Message-ID only, never by the sender's address. Kept in
-- the store, the line survives a restart or a takeover in the middle of
-- that first read. 0: no such line (a cursor of before this migration, or
-- a new UIDVALIDITY).

-- +goose Up
ALTER TABLE mailbox_cursors ADD COLUMN old_below INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE mailbox_cursors DROP COLUMN old_below;
