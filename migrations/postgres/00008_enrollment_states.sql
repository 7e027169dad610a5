-- Two enrollment states of the contract the schema did not allow yet:
-- `unenrolled` (ended by hand without suppressing: drip unenroll, drip
-- move) and `left` (an auto-reply said the person left the company). Both
-- are added at once, so that whichever feature lands first finds the
-- other's state allowed too. NOT VALID then VALIDATE: the check of the
-- existing rows does not hold a lock that blocks writers.

-- +goose Up
ALTER TABLE enrollments DROP CONSTRAINT enrollments_state_check;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_state_check
    CHECK (state IN ('active', 'paused', 'replied', 'bounced', 'unsubscribed', 'completed', 'failed', 'left', 'unenrolled')) NOT VALID;
ALTER TABLE enrollments VALIDATE CONSTRAINT enrollments_state_check;

-- +goose Down
ALTER TABLE enrollments DROP CONSTRAINT enrollments_state_check;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_state_check
    CHECK (state IN ('active', 'paused', 'replied', 'bounced', 'unsubscribed', 'completed', 'failed'));
