package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/drip-email/drip/store"
)

// EnrollmentCreate enrols a prospect in a sequence once. Zero values get
// defaults: State active, Anchor = FirstContact, CreatedAt = now. The new
// row is its own "enrolled" timeline entry (see Timeline).
func (s *Store) EnrollmentCreate(ctx context.Context, e *store.Enrollment) (created bool, err error) {
	if e.State == "" {
		e.State = store.StateActive
	}
	if e.Anchor.IsZero() {
		e.Anchor = e.FirstContact
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	err = s.inTx(ctx, func(tx *txn) error {
		// The prospect's row lock also keeps a concurrent import from
		// enrolling it in the same sequence meanwhile.
		var p prospectRow
		if err := tx.GetContext(ctx, &p, s.q.ProspectLock, e.ProspectID); err != nil {
			return notFound(err, fmt.Sprintf("prospect %d", e.ProspectID))
		}
		if p.ForgottenAt.Valid {
			return fmt.Errorf("enrolling forgotten prospect %d: %w", p.ID, store.ErrSuppressed)
		}
		if sup, err := s.suppressedHash(ctx, tx, p.EmailHash); err != nil {
			return err
		} else if sup {
			return fmt.Errorf("enrolling prospect %d: %w", p.ID, store.ErrSuppressed)
		}
		var row enrollmentRow
		err := tx.GetContext(ctx, &row, s.q.EnrollmentInsert, e.ProspectID, e.Sequence, e.Sender,
			string(e.State), utc(e.FirstContact), utc(e.Anchor), utcPtr(e.PausedAt), e.LastStep,
			utcPtr(e.LastSentAt), utcPtr(e.NextSendAt), e.ThreadSubject, e.ThreadRefs, e.Reason,
			utc(e.CreatedAt))
		if errors.Is(err, sql.ErrNoRows) {
			if err := tx.GetContext(ctx, &row, s.q.EnrollmentByPair, e.ProspectID, e.Sequence); err != nil {
				return notFound(err, "existing enrollment")
			}
			*e = row.enrollment()
			return nil
		}
		if err != nil {
			return fmt.Errorf("inserting enrollment: %w", err)
		}
		*e = row.enrollment()
		created = true
		return nil
	})
	return created, err
}

// EnrollmentGet returns one enrollment.
func (s *Store) EnrollmentGet(ctx context.Context, id int64) (store.Enrollment, error) {
	var row enrollmentRow
	if err := s.read.GetContext(ctx, &row, s.q.EnrollmentByID, id); err != nil {
		return store.Enrollment{}, notFound(err, fmt.Sprintf("enrollment %d", id))
	}
	return row.enrollment(), nil
}

// EnrollmentsByProspect returns a prospect's enrollments, oldest first.
func (s *Store) EnrollmentsByProspect(ctx context.Context, prospectID int64) ([]store.Enrollment, error) {
	var rows []enrollmentRow
	if err := s.read.SelectContext(ctx, &rows, s.q.EnrollmentsByProspect, prospectID); err != nil {
		return nil, fmt.Errorf("reading enrollments of prospect %d: %w", prospectID, err)
	}
	return enrollments(rows), nil
}

// EnrollmentClaimDue leases due enrollments to p.Owner (the driver's
// enrollment-claim query). Taking a lease is not a change of the
// enrollment: Version stays.
func (s *Store) EnrollmentClaimDue(ctx context.Context, p store.ClaimParams) ([]store.Enrollment, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	// One statement, atomic by itself: no transaction around it (that
	// would only add a BEGIN and a COMMIT to every claim).
	var rows []enrollmentRow
	err := s.write.SelectContext(ctx, &rows, s.q.EnrollmentClaim, utc(p.Now), p.Owner,
		utc(p.LeaseUntil), p.Limit, jsonList(p.Sequences), p.Held, jsonList(p.SkipSenders))
	if err != nil {
		return nil, fmt.Errorf("claiming due enrollments: %w", err)
	}
	out := enrollments(rows)
	// RETURNING gives no order; callers want the earliest first.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].NextSendAt, out[j].NextSendAt
		if !a.Equal(*b) {
			return a.Before(*b)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// EnrollmentRelease drops owner's leases on ids.
func (s *Store) EnrollmentRelease(ctx context.Context, owner string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.write.ExecContext(ctx, s.q.EnrollmentsRelease, owner, jsonList(ids)); err != nil {
		return fmt.Errorf("releasing enrollments: %w", err)
	}
	return nil
}

// EnrollmentTransition applies t in one transaction (see transition).
func (s *Store) EnrollmentTransition(ctx context.Context, t store.Transition) (store.Enrollment, error) {
	var e store.Enrollment
	err := s.inTx(ctx, func(tx *txn) error {
		var err error
		e, err = s.transition(ctx, tx, t)
		return err
	})
	return e, err
}

// transition changes the state of an enrollment if it is in one of t.From
// (and at t.ExpectVersion when given), else ErrConflict. Entering a paused
// state keeps the first PausedAt; leaving active drops the plan. The lease
// is kept when the enrollment stops, so that the send in flight can still
// record its step (Settle), and dropped when it becomes active again, so
// that the resumed plan is claimable at once.
func (s *Store) transition(ctx context.Context, tx *txn, t store.Transition) (store.Enrollment, error) {
	var row enrollmentRow
	if err := tx.GetContext(ctx, &row, s.q.EnrollmentLock, t.EnrollmentID); err != nil {
		return store.Enrollment{}, notFound(err, fmt.Sprintf("enrollment %d", t.EnrollmentID))
	}
	e := row.enrollment()
	if !slices.Contains(t.From, e.State) {
		return store.Enrollment{}, fmt.Errorf("enrollment %d is %s, not one of %v: %w", e.ID, e.State, t.From, store.ErrConflict)
	}
	if t.ExpectVersion > 0 && e.Version != t.ExpectVersion {
		return store.Enrollment{}, fmt.Errorf("enrollment %d is at version %d, not %d: %w", e.ID, e.Version, t.ExpectVersion, store.ErrConflict)
	}
	at := utc(t.At)
	wasActive := e.State == store.StateActive
	e.State = t.To
	switch {
	case t.To.Paused():
		if e.PausedAt == nil {
			e.PausedAt = &at
		}
	case t.ClearPaused:
		e.PausedAt = nil
	}
	if t.Anchor != nil {
		e.Anchor = *t.Anchor
	}
	e.NextSendAt = nil
	if t.To == store.StateActive {
		e.NextSendAt = t.NextSendAt
		if !wasActive {
			e.LeaseOwner, e.LeaseUntil = "", nil
		}
	}
	e.Reason = t.Reason
	if t.FirstContact != nil {
		if _, err := tx.ExecContext(ctx, s.q.EnrollmentFirstContact, e.ID, utc(*t.FirstContact)); err != nil {
			return store.Enrollment{}, fmt.Errorf("updating enrollment %d: %w", e.ID, err)
		}
	}
	if t.Successor != nil {
		if _, err := tx.ExecContext(ctx, s.q.EnrollmentSuccessor, e.ID, t.Successor.Email, t.Successor.Name); err != nil {
			return store.Enrollment{}, fmt.Errorf("recording the successor of enrollment %d: %w", e.ID, err)
		}
	}
	saved, err := s.enrollmentSave(ctx, tx, e, at)
	if err != nil {
		return store.Enrollment{}, err
	}
	if t.Event != nil {
		ev := *t.Event
		if ev.At.IsZero() {
			ev.At = at
		}
		if err := s.eventInsert(ctx, tx, ev, saved); err != nil {
			return store.Enrollment{}, err
		}
	}
	return saved, nil
}

// enrollmentSave writes every mutable column of e and bumps its version.
func (s *Store) enrollmentSave(ctx context.Context, tx *txn, e store.Enrollment, at time.Time) (store.Enrollment, error) {
	var row enrollmentRow
	err := tx.GetContext(ctx, &row, s.q.EnrollmentUpdate, e.ID, string(e.State), utc(e.Anchor),
		utcPtr(e.PausedAt), e.LastStep, utcPtr(e.LastSentAt), utcPtr(e.NextSendAt), e.ThreadSubject,
		e.ThreadRefs, e.Reason, e.LeaseOwner, utcPtr(e.LeaseUntil), utc(at))
	if err != nil {
		return store.Enrollment{}, fmt.Errorf("updating enrollment %d: %w", e.ID, err)
	}
	return row.enrollment(), nil
}

// EnrollmentsCompletePastEnd completes what a shortened sequence has no
// step left for, each with a completed event.
func (s *Store) EnrollmentsCompletePastEnd(ctx context.Context, sequence string, steps int, at time.Time) (int, error) {
	at = utc(at)
	reason := fmt.Sprintf("sequence shortened to %d steps", steps)
	var n int
	err := s.inTx(ctx, func(tx *txn) error {
		var rows []enrollmentRow
		if err := tx.SelectContext(ctx, &rows, s.q.EnrollmentsCompletePastEnd, sequence, steps, at, reason); err != nil {
			return fmt.Errorf("completing enrollments of %s: %w", sequence, err)
		}
		for _, r := range rows {
			ev := store.Event{Kind: store.EventCompleted, Detail: reason, At: at}
			if err := s.eventInsert(ctx, tx, ev, r.enrollment()); err != nil {
				return err
			}
		}
		n = len(rows)
		return nil
	})
	return n, err
}

// EnrollmentCounts returns sequence -> state -> count (non-zero ones).
func (s *Store) EnrollmentCounts(ctx context.Context) (map[string]map[store.State]int, error) {
	var rows []struct {
		Sequence string `db:"sequence"`
		State    string `db:"state"`
		N        int    `db:"n"`
	}
	if err := s.read.SelectContext(ctx, &rows, s.q.EnrollmentCounts); err != nil {
		return nil, fmt.Errorf("counting enrollments: %w", err)
	}
	out := map[string]map[store.State]int{}
	for _, r := range rows {
		if out[r.Sequence] == nil {
			out[r.Sequence] = map[store.State]int{}
		}
		out[r.Sequence][store.State(r.State)] = r.N
	}
	return out, nil
}

// DueBacklog counts active enrollments due at now and not leased.
func (s *Store) DueBacklog(ctx context.Context, now time.Time) (int, error) {
	var n int
	if err := s.read.GetContext(ctx, &n, s.q.DueBacklog, utc(now)); err != nil {
		return 0, fmt.Errorf("counting due enrollments: %w", err)
	}
	return n, nil
}

// eachLocked runs a batch in tx: it first locks the batch's enrollments in
// id order (before any other lock, so that two batches never wait on each
// other in a cycle), then calls item for each index of order. An item's
// refusal fills its slot of errs; any other error ends the whole batch.
func (s *Store) eachLocked(ctx context.Context, tx *txn, ids []int64, order []int, errs []error, item func(i int) (refusal, err error)) error {
	var locked []int64
	if err := tx.SelectContext(ctx, &locked, s.q.EnrollmentsLock, jsonList(ids)); err != nil {
		return fmt.Errorf("locking enrollments: %w", err)
	}
	for _, i := range order {
		refusal, err := item(i)
		if err != nil {
			return err
		}
		errs[i] = refusal
	}
	return nil
}
