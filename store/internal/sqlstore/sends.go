package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/jmoiron/sqlx"

	"github.com/drip-email/drip/store"
)

// SendsStart is the at-most-once gate (R8) for a batch, in one transaction.
// Refusals are per item and never abort the others: every check is a read
// under the enrollment's row lock, not a failing statement.
func (s *Store) SendsStart(ctx context.Context, starts []store.SendStart) ([]error, error) {
	if len(starts) == 0 {
		return nil, nil
	}
	// Lock order: every enrollment of the batch first (by id), then the
	// daily-cap rows by (sender, day). Items of one sender keep the
	// caller's order, which decides who gets the last units of a cap.
	order := make([]int, len(starts))
	ids := make([]int64, len(starts))
	for i := range starts {
		order[i] = i
		ids[i] = starts[i].EnrollmentID
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := starts[order[a]], starts[order[b]]
		if x.Sender != y.Sender {
			return x.Sender < y.Sender
		}
		return x.Day < y.Day
	})
	errs, err := s.eachLocked(ctx, ids, order, func(tx *sqlx.Tx, i int) (error, error) {
		return s.sendStart(ctx, tx, starts[i])
	})
	if err != nil {
		return nil, fmt.Errorf("starting sends: %w", err)
	}
	return errs, nil
}

// sendStart gates one attempt; the first result is the item's refusal, the
// second a failure of the whole batch.
func (s *Store) sendStart(ctx context.Context, tx *sqlx.Tx, st store.SendStart) (refusal, err error) {
	var g struct {
		State      string `db:"state"`
		LeaseOwner string `db:"lease_owner"`
		LeaseUntil dbTime `db:"lease_until"`
		Forgotten  bool   `db:"forgotten"`
		Suppressed bool   `db:"suppressed"`
		SendStatus string `db:"send_status"`
	}
	err = tx.GetContext(ctx, &g, s.q.SendGate, st.EnrollmentID, st.Step)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("enrollment %d does not exist: %w", st.EnrollmentID, store.ErrLeaseLost), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading enrollment %d: %w", st.EnrollmentID, err)
	}
	started := utc(st.StartedAt)
	switch {
	case g.State != string(store.StateActive):
		return fmt.Errorf("enrollment %d is %s: %w", st.EnrollmentID, g.State, store.ErrLeaseLost), nil
	case g.LeaseOwner != st.Owner || !g.LeaseUntil.Valid || !g.LeaseUntil.T.After(started):
		return fmt.Errorf("enrollment %d is not leased by %s: %w", st.EnrollmentID, st.Owner, store.ErrLeaseLost), nil
	case g.Suppressed || g.Forgotten:
		return fmt.Errorf("enrollment %d: %w", st.EnrollmentID, store.ErrSuppressed), nil
	case g.SendStatus != "" && g.SendStatus != string(store.SendRetry):
		return fmt.Errorf("step %d of enrollment %d is already %s: %w", st.Step, st.EnrollmentID, g.SendStatus, store.ErrConflict), nil
	}

	capped := st.Day != ""
	if capped {
		limit := int64(st.DailyLimit)
		if limit <= 0 {
			limit = math.MaxInt32 // no cap, but the attempts are still counted
		}
		var used int
		err := tx.GetContext(ctx, &used, s.q.SenderDailyTake, st.Sender, st.Day, limit)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sender %s on %s: %w", st.Sender, st.Day, store.ErrDailyLimit), nil
		}
		if err != nil {
			return nil, fmt.Errorf("taking from the daily cap of %s: %w", st.Sender, err)
		}
	}

	planned := utc(st.PlannedAt)
	if g.SendStatus == string(store.SendRetry) {
		if _, err := tx.ExecContext(ctx, s.q.SendRetry, st.EnrollmentID, st.Step, st.Sender,
			st.MessageID, planned, started); err != nil {
			return nil, fmt.Errorf("restarting step %d of enrollment %d: %w", st.Step, st.EnrollmentID, err)
		}
		return nil, nil
	}
	var id int64
	err = tx.GetContext(ctx, &id, s.q.SendBegin, st.EnrollmentID, st.Step, st.Sender, st.MessageID, planned, started)
	if errors.Is(err, sql.ErrNoRows) {
		// Cannot happen under the enrollment's lock; should it, the cap
		// unit goes back and the step is reported as taken.
		if capped {
			if _, err := tx.ExecContext(ctx, s.q.SenderDailyGiveBack, st.Sender, st.Day); err != nil {
				return nil, fmt.Errorf("giving back a daily cap unit: %w", err)
			}
		}
		return fmt.Errorf("step %d of enrollment %d: %w", st.Step, st.EnrollmentID, store.ErrConflict), nil
	}
	if err != nil {
		return nil, fmt.Errorf("recording step %d of enrollment %d: %w", st.Step, st.EnrollmentID, err)
	}
	return nil, nil
}

// SendGet returns the row of one step.
func (s *Store) SendGet(ctx context.Context, enrollmentID int64, step int) (store.Send, error) {
	var row sendRow
	if err := s.read.GetContext(ctx, &row, s.q.SendGet, enrollmentID, step); err != nil {
		return store.Send{}, notFound(err, fmt.Sprintf("send of step %d of enrollment %d", step, enrollmentID))
	}
	return row.send(), nil
}

// SendsByEnrollment returns an enrollment's send rows by step.
func (s *Store) SendsByEnrollment(ctx context.Context, enrollmentID int64) ([]store.Send, error) {
	var rows []sendRow
	if err := s.read.SelectContext(ctx, &rows, s.q.SendsByEnrollment, enrollmentID); err != nil {
		return nil, fmt.Errorf("reading sends of enrollment %d: %w", enrollmentID, err)
	}
	out := make([]store.Send, len(rows))
	for i, r := range rows {
		out[i] = r.send()
	}
	return out, nil
}

type sentRefRow struct {
	EnrollmentID int64  `db:"enrollment_id"`
	ProspectID   int64  `db:"prospect_id"`
	Sequence     string `db:"sequence"`
	Sender       string `db:"sender"`
	Step         int    `db:"step"`
	MessageID    string `db:"message_id"`
	Email        string `db:"email"`
	State        string `db:"state"`
}

func (r sentRefRow) ref() store.SentRef {
	return store.SentRef{
		EnrollmentID: r.EnrollmentID, ProspectID: r.ProspectID, Sequence: r.Sequence,
		Sender: r.Sender, Step: r.Step, MessageID: r.MessageID, Email: r.Email,
		State: store.State(r.State),
	}
}

// SentByMessageIDs finds the send of the first of ids that is ours.
func (s *Store) SentByMessageIDs(ctx context.Context, ids []string) (store.SentRef, error) {
	if len(ids) == 0 {
		return store.SentRef{}, fmt.Errorf("send by Message-ID: %w", store.ErrNotFound)
	}
	var rows []sentRefRow
	if err := s.read.SelectContext(ctx, &rows, s.q.SentByMessageIDs, jsonList(ids)); err != nil {
		return store.SentRef{}, fmt.Errorf("finding sends by Message-ID: %w", err)
	}
	for _, id := range ids {
		for _, r := range rows {
			if r.MessageID == id {
				return r.ref(), nil
			}
		}
	}
	return store.SentRef{}, fmt.Errorf("send by Message-ID: %w", store.ErrNotFound)
}

// SentLatestToEmail finds the latest send (sent, in flight or unknown) to
// an address, in any sequence.
func (s *Store) SentLatestToEmail(ctx context.Context, email string) (store.SentRef, error) {
	var r sentRefRow
	if err := s.read.GetContext(ctx, &r, s.q.SentLatestToEmail, store.NormalizeEmail(email)); err != nil {
		return store.SentRef{}, notFound(err, "latest send to address")
	}
	return r.ref(), nil
}

// SenderDailyUsed is how many attempts sender began on day (0 when none).
func (s *Store) SenderDailyUsed(ctx context.Context, sender, day string) (int, error) {
	var n int
	err := s.read.GetContext(ctx, &n, s.q.SenderDailyUsed, sender, day)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading daily use of %s: %w", sender, err)
	}
	return n, nil
}
