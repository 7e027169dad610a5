package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/drip-email/drip/store"
)

// Suppressed reports whether the address is on the suppression list.
func (s *Store) Suppressed(ctx context.Context, email string) (bool, error) {
	return s.suppressedHash(ctx, s.read, store.EmailHash(email))
}

// SuppressionAdd suppresses the address and ends its prospect's running
// enrollments in state (a terminal one; "" ends none), each with an event
// of kind.
func (s *Store) SuppressionAdd(ctx context.Context, email, reason string, state store.State, kind store.EventKind, at time.Time) error {
	norm := store.NormalizeEmail(email)
	if norm == "" {
		return errors.New("suppressing: empty email address")
	}
	return s.inTx(ctx, func(tx *txn) error {
		return s.suppress(ctx, tx, norm, reason, state, kind, at)
	})
}

// suppress adds the address (normalised) to the suppression list and ends
// the running enrollments of its prospect, if it has one.
func (s *Store) suppress(ctx context.Context, tx *txn, norm, reason string, state store.State, kind store.EventKind, at time.Time) error {
	if state != "" && !state.Terminal() {
		return fmt.Errorf("suppressing: %s is not a final state", state)
	}
	at = utc(at)
	if _, err := tx.ExecContext(ctx, s.q.SuppressionInsert, store.EmailHash(norm), reason, at); err != nil {
		return fmt.Errorf("adding suppression: %w", err)
	}
	if state == "" {
		return nil
	}
	var p prospectRow
	if err := tx.GetContext(ctx, &p, s.q.ProspectLockByNorm, norm); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil // an address we never wrote to
		}
		return fmt.Errorf("reading suppressed prospect: %w", err)
	}
	var open []enrollmentRow
	if err := tx.SelectContext(ctx, &open, s.q.EnrollmentsOpenOfProspect, p.ID); err != nil {
		return fmt.Errorf("reading enrollments to end: %w", err)
	}
	for _, r := range open {
		e := r.enrollment()
		e.State, e.NextSendAt, e.Reason = state, nil, reason
		saved, err := s.enrollmentSave(ctx, tx, e, at)
		if err != nil {
			return err
		}
		if kind != "" {
			if err := s.eventInsert(ctx, tx, store.Event{Kind: kind, Detail: reason, At: at}, saved); err != nil {
				return err
			}
		}
	}
	return nil
}

// EventAdd records a timeline entry. An entry tied to an enrollment may
// leave ProspectID and Sequence empty: they are taken from the enrollment.
func (s *Store) EventAdd(ctx context.Context, ev store.Event) error {
	return s.inTx(ctx, func(tx *txn) error { return s.eventAdd(ctx, tx, ev) })
}

// eventAdd records ev, reading its enrollment when it names one. An event
// about a forgotten prospect (a late reply, say) keeps no text: the person
// asked not to be on record.
func (s *Store) eventAdd(ctx context.Context, tx *txn, ev store.Event) error {
	var e store.Enrollment
	if ev.EnrollmentID != 0 {
		var row enrollmentRow
		if err := tx.GetContext(ctx, &row, s.q.EnrollmentByID, ev.EnrollmentID); err != nil {
			return notFound(err, fmt.Sprintf("enrollment %d of %s event", ev.EnrollmentID, ev.Kind))
		}
		e = row.enrollment()
	}
	pid := ev.ProspectID
	if pid == 0 {
		pid = e.ProspectID
	}
	var forgotten []bool
	if err := tx.SelectContext(ctx, &forgotten, s.q.ProspectForgotten, pid); err != nil {
		return fmt.Errorf("reading prospect %d: %w", pid, err)
	}
	if len(forgotten) == 1 && forgotten[0] {
		ev.Detail, ev.MessageID = "", ""
	}
	return s.eventInsert(ctx, tx, ev, e)
}

// eventInsert records ev, filling what it leaves empty from e (when e is
// an enrollment, not the zero value).
func (s *Store) eventInsert(ctx context.Context, tx *txn, ev store.Event, e store.Enrollment) error {
	ev, ok := completeEvent(ev, e)
	if !ok {
		return fmt.Errorf("recording %s event: no prospect", ev.Kind)
	}
	if _, err := tx.ExecContext(ctx, s.q.EventInsert, ev.ProspectID, nullID(ev.EnrollmentID),
		ev.Sequence, ev.Step, string(ev.Kind), ev.MessageID, ev.Detail, utc(ev.At)); err != nil {
		return fmt.Errorf("recording %s event: %w", ev.Kind, err)
	}
	return nil
}

// Timeline returns a prospect's events, oldest first. Each enrollment
// appears as an "enrolled" entry at its CreatedAt (ID 0): the enrollment row
// is that record, so enrolling, by hand or 100k at a time, writes no event.
func (s *Store) Timeline(ctx context.Context, prospectID int64) ([]store.Event, error) {
	var rows []eventRow
	if err := s.read.SelectContext(ctx, &rows, s.q.Timeline, prospectID); err != nil {
		return nil, fmt.Errorf("reading timeline of prospect %d: %w", prospectID, err)
	}
	out := make([]store.Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}
