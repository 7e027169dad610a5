package sqlite

import (
	"context"
	"fmt"
	"time"
)

// ProspectForget erases the prospect (see sqlstore), then makes sure no
// copy of what it held stays in the files: the writer runs with
// secure_delete, so freed space in the database is zeroed, and a TRUNCATE
// checkpoint copies the new pages into the database file and empties the
// write-ahead log, whose older frames still held the old rows.
func (s *Store) ProspectForget(ctx context.Context, email string, at time.Time) error {
	if err := s.Store.ProspectForget(ctx, email, at); err != nil {
		return err
	}
	return s.truncateWAL(ctx)
}

// truncateWAL checkpoints the whole WAL and truncates it, retrying while
// readers hold older snapshots.
func (s *Store) truncateWAL(ctx context.Context) error {
	var lastErr error
	for range 50 {
		var busy, logFrames, checkpointed int
		err := s.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed)
		if err == nil && busy == 0 {
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("forget: emptying the write-ahead log: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("readers kept older snapshots")
	}
	return fmt.Errorf("forget: the prospect is erased, but the write-ahead log could not be emptied (it is at the next checkpoint): %w", lastErr)
}
