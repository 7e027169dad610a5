-- Two enrollment states of the contract the schema did not allow yet:
-- `unenrolled` (ended by hand without suppressing: drip unenroll, drip
-- move) and `left` (an auto-reply said the person left the company). Both
-- are added at once, so that whichever feature lands first finds the
-- other's state allowed too.
--
-- SQLite cannot alter a CHECK constraint. Rebuilding the table would need
-- foreign keys off (sends and events reference enrollments), which cannot
-- be switched inside goose's transaction. Widening a CHECK changes nothing
-- stored, which is the case SQLite's documentation allows editing the
-- schema text for (https://sqlite.org/lang_altertable.html, "making other
-- kinds of table schema changes"): the table's CREATE statement is edited
-- in sqlite_schema, and a throwaway table's CREATE and DROP bump
-- schema_version so that every open connection re-reads the schema.

-- +goose Up
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (state IN (''active'', ''paused'', ''replied'', ''bounced'', ''unsubscribed'', ''completed'', ''failed''))',
    'CHECK (state IN (''active'', ''paused'', ''replied'', ''bounced'', ''unsubscribed'', ''completed'', ''failed'', ''left'', ''unenrolled''))')
WHERE type = 'table' AND name = 'enrollments';
PRAGMA writable_schema = RESET;
CREATE TABLE schema_version_bump (x INTEGER);
DROP TABLE schema_version_bump;

-- +goose Down
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (state IN (''active'', ''paused'', ''replied'', ''bounced'', ''unsubscribed'', ''completed'', ''failed'', ''left'', ''unenrolled''))',
    'CHECK (state IN (''active'', ''paused'', ''replied'', ''bounced'', ''unsubscribed'', ''completed'', ''failed''))')
WHERE type = 'table' AND name = 'enrollments';
PRAGMA writable_schema = RESET;
CREATE TABLE schema_version_bump (x INTEGER);
DROP TABLE schema_version_bump;
