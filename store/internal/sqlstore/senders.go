package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/drip-email/drip/store"
)

// SenderHoldSet records a hold unless the sender is held longer already.
func (s *Store) SenderHoldSet(ctx context.Context, h store.SenderHold) error {
	if h.Since.IsZero() {
		h.Since = time.Now()
	}
	if _, err := s.write.ExecContext(ctx, s.q.SenderHoldSet, h.Sender, h.Reason, utc(h.Until), utc(h.Since), h.Detail); err != nil {
		return fmt.Errorf("holding sender %s: %w", h.Sender, err)
	}
	return nil
}

type senderHoldRow struct {
	Sender string `db:"sender"`
	Reason string `db:"reason"`
	Until  dbTime `db:"until"`
	Since  dbTime `db:"since"`
	Detail string `db:"detail"`
}

// SenderHolds lists the holds in force at now, by sender.
func (s *Store) SenderHolds(ctx context.Context, now time.Time) ([]store.SenderHold, error) {
	var rows []senderHoldRow
	if err := s.read.SelectContext(ctx, &rows, s.q.SenderHolds, utc(now)); err != nil {
		return nil, fmt.Errorf("reading sender holds: %w", err)
	}
	out := make([]store.SenderHold, len(rows))
	for i, r := range rows {
		out[i] = store.SenderHold{Sender: r.Sender, Reason: r.Reason, Until: r.Until.T, Since: r.Since.T, Detail: r.Detail}
	}
	return out, nil
}

// SenderHoldClear ends the sender's hold if its reason is one of reasons
// (any when none is given).
func (s *Store) SenderHoldClear(ctx context.Context, sender string, reasons ...string) error {
	if _, err := s.write.ExecContext(ctx, s.q.SenderHoldClear, sender, jsonList(reasons)); err != nil {
		return fmt.Errorf("ending the hold of sender %s: %w", sender, err)
	}
	return nil
}

// EnrollmentsRedecide makes the sender's active enrollments planned at or
// after from due at now.
func (s *Store) EnrollmentsRedecide(ctx context.Context, sender string, from, now time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, s.q.EnrollmentsRedecide, sender, utc(from), utc(now))
	if err != nil {
		return 0, fmt.Errorf("planning sender %s's enrollments again: %w", sender, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
