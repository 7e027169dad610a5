package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/drip-email/drip/store"
)

// Settle records a batch of outcomes in one transaction. Sends and events
// are facts and are always recorded; the enrollment's new schedule only
// while the settler still holds the lease (else ErrLeaseLost for that item).
func (s *Store) Settle(ctx context.Context, settles []store.Settle) ([]error, error) {
	if len(settles) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(settles))
	order := make([]int, len(settles))
	for i, st := range settles {
		ids[i], order[i] = st.EnrollmentID, i
	}
	errs, err := s.eachLocked(ctx, ids, order, func(tx *sqlx.Tx, i int) (error, error) {
		return s.settle(ctx, tx, settles[i])
	})
	if err != nil {
		return nil, fmt.Errorf("settling: %w", err)
	}
	return errs, nil
}

func (s *Store) settle(ctx context.Context, tx *sqlx.Tx, st store.Settle) (refusal, err error) {
	var row enrollmentRow
	err = tx.GetContext(ctx, &row, s.q.EnrollmentLock, st.EnrollmentID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("enrollment %d does not exist: %w", st.EnrollmentID, store.ErrLeaseLost), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading enrollment %d: %w", st.EnrollmentID, err)
	}
	e := row.enrollment()
	for _, u := range st.Sends {
		if _, err := tx.ExecContext(ctx, s.q.SendSettle, e.ID, u.Step, e.Sender, u.MessageID,
			string(u.Status), utcPtr(u.PlannedAt), utcPtr(u.FinishedAt), u.Error); err != nil {
			return nil, fmt.Errorf("recording step %d of enrollment %d: %w", u.Step, e.ID, err)
		}
	}
	for _, ev := range st.Events {
		if err := s.eventInsert(ctx, tx, ev, e); err != nil {
			return nil, err
		}
	}
	if st.Owner == "" || e.LeaseOwner != st.Owner {
		return fmt.Errorf("enrollment %d is not leased by %q: %w", e.ID, st.Owner, store.ErrLeaseLost), nil
	}

	// An enrollment paused or stopped meanwhile keeps its state and gets
	// no plan; what was sent is recorded all the same.
	if st.State.Terminal() && !e.State.Terminal() {
		e.State = st.State
	}
	e.NextSendAt = nil
	if e.State == store.StateActive {
		e.NextSendAt = st.NextSendAt
	}
	e.LastStep = max(e.LastStep, st.LastStep)
	if st.LastSentAt != nil {
		e.LastSentAt = st.LastSentAt
	}
	if st.ThreadSubject != "" {
		e.ThreadSubject = st.ThreadSubject
	}
	if st.ThreadRefs != "" {
		e.ThreadRefs = st.ThreadRefs
	}
	if st.Reason != "" {
		e.Reason = st.Reason
	}
	e.LeaseOwner, e.LeaseUntil = "", nil
	at := settleTime(st)
	if _, err := s.enrollmentSave(ctx, tx, e, at); err != nil {
		return nil, err
	}

	if st.Suppress != "" {
		var p prospectRow
		if err := tx.GetContext(ctx, &p, s.q.ProspectLock, e.ProspectID); err != nil {
			return nil, notFound(err, fmt.Sprintf("prospect %d", e.ProspectID))
		}
		state := st.State
		if !state.Terminal() {
			state = store.StateUnsubscribed
		}
		if err := s.suppress(ctx, tx, p.EmailNorm, st.Suppress, state, kindOf(state), at); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// settleTime is the moment a settle describes: its latest event, else the
// last send, else now.
func settleTime(st store.Settle) time.Time {
	at := latestEvent(st.Events)
	if at.IsZero() && st.LastSentAt != nil {
		at = *st.LastSentAt
	}
	if at.IsZero() {
		at = time.Now()
	}
	return at
}

// latestEvent is the time of the latest of events (zero when none).
func latestEvent(events []store.Event) time.Time {
	var at time.Time
	for _, ev := range events {
		if ev.At.After(at) {
			at = ev.At
		}
	}
	return at
}

// kindOf is the timeline entry that explains why an enrollment ended in state.
func kindOf(state store.State) store.EventKind {
	switch state {
	case store.StateBounced:
		return store.EventBounce
	case store.StateUnsubscribed:
		return store.EventUnsubscribe
	case store.StateCompleted:
		return store.EventCompleted
	default:
		return store.EventFailed
	}
}
