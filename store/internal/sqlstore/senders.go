package sqlstore

import (
	"context"
	"database/sql"
	"errors"
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

// paceTake is the pace gate of one start of a paced sender (R9): refused
// (ErrPaced) while another instance holds an earlier due enrollment of the
// sender, or before the sender's turn; else it takes the turn.
func (s *Store) paceTake(ctx context.Context, tx *txn, st store.SendStart) (refusal, err error) {
	started := utc(st.StartedAt)
	var earlier bool
	if err := tx.GetContext(ctx, &earlier, s.q.SenderPaceEarlier, st.Owner, st.EnrollmentID, started); err != nil {
		return nil, fmt.Errorf("reading the turn of sender %s: %w", st.Sender, err)
	}
	if earlier {
		return fmt.Errorf("sender %s: a step due earlier goes first: %w", st.Sender, store.ErrPaced), nil
	}
	var next dbTime
	err = tx.GetContext(ctx, &next, s.q.SenderPaceTake, st.Sender, started, utc(started.Add(st.PaceGap)), utc(started.Add(-st.PaceSlack)))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sender %s: %w", st.Sender, store.ErrPaced), nil
	}
	if err != nil {
		return nil, fmt.Errorf("taking the turn of sender %s: %w", st.Sender, err)
	}
	return nil, nil
}

// SenderPaces lists the paced senders' turns.
func (s *Store) SenderPaces(ctx context.Context) ([]store.SenderPace, error) {
	var rows []struct {
		Sender    string `db:"sender"`
		NotBefore dbTime `db:"not_before"`
		RunSince  dbTime `db:"run_since"`
	}
	if err := s.read.SelectContext(ctx, &rows, s.q.SenderPaces); err != nil {
		return nil, fmt.Errorf("reading the senders' pace: %w", err)
	}
	out := make([]store.SenderPace, len(rows))
	for i, r := range rows {
		out[i] = store.SenderPace{Sender: r.Sender, NotBefore: r.NotBefore.T, RunSince: r.RunSince.T}
	}
	return out, nil
}

// SenderBounces counts the breaker's window of the sender.
func (s *Store) SenderBounces(ctx context.Context, sender string, window int) (store.BounceCount, error) {
	var c struct {
		Sends   int `db:"sends"`
		Bounced int `db:"bounced"`
	}
	if err := s.read.GetContext(ctx, &c, s.q.SenderBounces, sender, window, utc(time.Unix(0, 0))); err != nil {
		return store.BounceCount{}, fmt.Errorf("counting the bounces of sender %s: %w", sender, err)
	}
	return store.BounceCount{Sends: c.Sends, Bounced: c.Bounced}, nil
}

// SenderBreakerReset makes the breaker count from at on.
func (s *Store) SenderBreakerReset(ctx context.Context, sender string, at time.Time) error {
	if _, err := s.write.ExecContext(ctx, s.q.SenderBreakerReset, sender, utc(at)); err != nil {
		return fmt.Errorf("resetting the breaker of sender %s: %w", sender, err)
	}
	return nil
}
