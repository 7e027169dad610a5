package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/drip-email/drip/store"
)

// Settle records a batch of outcomes in one transaction. Sends and events
// are facts and are always recorded; the enrollment's new schedule only
// while the settler still holds the lease (else ErrLeaseLost for that item).
func (s *Store) Settle(ctx context.Context, settles []store.Settle) ([]error, error) {
	if len(settles) == 0 {
		return nil, nil
	}
	errs := make([]error, len(settles))
	if err := s.inTx(ctx, func(tx *txn) error { return s.settleIn(ctx, tx, settles, errs) }); err != nil {
		return nil, fmt.Errorf("settling: %w", err)
	}
	return errs, nil
}

// SettleAndStart is Settle(settles) then SendsStart(starts) in one
// transaction, so that a batch of outcomes and the sends that take their
// workers' places cost one commit; the results are those of the two calls.
// Every enrollment of both is locked first, in id order. An enrollment in
// both lists makes it the two calls, one after the other.
func (s *Store) SettleAndStart(ctx context.Context, settles []store.Settle, starts []store.SendStart) (settleErrs, startErrs []error, err error) {
	ids := make([]int64, 0, len(settles)+len(starts))
	seen := make(map[int64]bool, cap(ids))
	overlap := false
	for _, st := range settles {
		ids = append(ids, st.EnrollmentID)
		seen[st.EnrollmentID] = true
	}
	for _, st := range starts {
		overlap = overlap || seen[st.EnrollmentID]
		ids = append(ids, st.EnrollmentID)
	}
	if overlap || len(settles) == 0 || len(starts) == 0 {
		if settleErrs, err = s.Settle(ctx, settles); err != nil {
			return nil, nil, err
		}
		startErrs, err = s.SendsStart(ctx, starts)
		return settleErrs, startErrs, err
	}
	settleErrs, startErrs = make([]error, len(settles)), make([]error, len(starts))
	err = s.inTx(ctx, func(tx *txn) error {
		// Every row of both lists, locked in one go; the settles' rows are
		// what settling reads.
		var rows []enrollmentRow
		if err := tx.SelectContext(ctx, &rows, s.q.EnrollmentsLockRows, jsonList(ids)); err != nil {
			return fmt.Errorf("locking enrollments: %w", err)
		}
		mine := make([]enrollmentRow, 0, len(settles))
		for _, r := range rows {
			if seen[r.ID] {
				mine = append(mine, r)
			}
		}
		if err := s.settleInWith(ctx, tx, settles, settleErrs, mine); err != nil {
			return fmt.Errorf("settling: %w", err)
		}
		if err := s.startIn(ctx, tx, starts, startErrs); err != nil {
			return fmt.Errorf("starting sends: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return settleErrs, startErrs, nil
}

// settleIn settles a batch in tx. A batch is written with one statement
// per table (see settleBatch); one that names an enrollment twice, or asks
// for a suppression (which ends other enrollments of the prospect), goes
// item by item instead, so that each item sees what the ones before it did.
func (s *Store) settleIn(ctx context.Context, tx *txn, settles []store.Settle, errs []error) error {
	return s.settleInWith(ctx, tx, settles, errs, nil)
}

// settleInWith is settleIn with the batch's enrollments already read and
// locked (nil: read them here).
func (s *Store) settleInWith(ctx context.Context, tx *txn, settles []store.Settle, errs []error, locked []enrollmentRow) error {
	ids := make([]int64, len(settles))
	order := make([]int, len(settles))
	seen := make(map[int64]bool, len(settles))
	oneByOne := false
	for i, st := range settles {
		ids[i], order[i] = st.EnrollmentID, i
		oneByOne = oneByOne || seen[st.EnrollmentID] || st.Suppress != ""
		seen[st.EnrollmentID] = true
	}
	if !oneByOne {
		return s.settleBatch(ctx, tx, ids, settles, errs, locked)
	}
	return s.eachLocked(ctx, tx, ids, order, errs, func(i int) (error, error) {
		return s.settle(ctx, tx, settles[i])
	})
}

// settleBatch is settle for a batch of distinct enrollments and no
// suppression: the same decisions, made in Go on the rows read (and
// locked, in id order) at once, then written with one statement per table.
func (s *Store) settleBatch(ctx context.Context, tx *txn, ids []int64, settles []store.Settle, errs []error, rows []enrollmentRow) error {
	if rows == nil {
		if err := tx.SelectContext(ctx, &rows, s.q.EnrollmentsLockRows, jsonList(ids)); err != nil {
			return fmt.Errorf("locking enrollments: %w", err)
		}
	}
	byID := make(map[int64]store.Enrollment, len(rows))
	for _, r := range rows {
		byID[r.ID] = r.enrollment()
	}
	var sends []sendSettleRow
	var events []eventBatchRow
	var saves []enrollmentSaveRow
	steps := map[[2]int64]bool{}
	for i, st := range settles {
		e, ok := byID[st.EnrollmentID]
		if !ok {
			errs[i] = fmt.Errorf("enrollment %d does not exist: %w", st.EnrollmentID, store.ErrLeaseLost)
			continue
		}
		for _, u := range st.Sends {
			if k := [2]int64{e.ID, int64(u.Step)}; steps[k] {
				// One statement cannot write a row twice: this rare batch
				// (a step updated twice in one settle) goes item by item.
				return s.settleEach(ctx, tx, settles, errs)
			} else {
				steps[k] = true
			}
			sends = append(sends, sendSettleRow{EnrollmentID: e.ID, Step: u.Step, Sender: e.Sender,
				MessageID: u.MessageID, Status: string(u.Status), PlannedAt: micros(utcPtr(u.PlannedAt)),
				FinishedAt: micros(utcPtr(u.FinishedAt)), Error: u.Error, Attempts: attemptsDelta(u)})
		}
		for _, ev := range st.Events {
			row, ok := eventFor(ev, e)
			if !ok {
				return fmt.Errorf("recording %s event: no prospect", ev.Kind)
			}
			events = append(events, row)
		}
		if st.Owner == "" || e.LeaseOwner != st.Owner {
			errs[i] = fmt.Errorf("enrollment %d is not leased by %q: %w", e.ID, st.Owner, store.ErrLeaseLost)
			continue
		}
		after := settled(e, st)
		row := saveRowOf(after, settleTime(st))
		row.sameState = after.State == e.State
		saves = append(saves, row)
	}
	if !s.d.RowsAsJSON {
		return s.settleRows(ctx, tx, sends, events, saves)
	}
	saveIDs := make([]int64, len(saves))
	for i, r := range saves {
		saveIDs[i] = r.ID
	}
	args := make([]any, 0, 4)
	for _, rows := range []any{sends, events, saves} {
		payload, err := jsonRows(rows)
		if err != nil {
			return err
		}
		args = append(args, payload)
	}
	if _, err := tx.ExecContext(ctx, s.q.SettleWrite, append(args, jsonList(saveIDs))...); err != nil {
		return fmt.Errorf("recording outcomes: %w", err)
	}
	return nil
}

// settleRows writes settleBatch's rows with a prepared statement per row.
func (s *Store) settleRows(ctx context.Context, tx *txn, sends []sendSettleRow, events []eventBatchRow, saves []enrollmentSaveRow) error {
	for _, r := range sends {
		if _, err := tx.ExecContext(ctx, s.q.SendSettle, r.EnrollmentID, r.Step, r.Sender, r.MessageID,
			r.Status, fromMicros(r.PlannedAt), fromMicros(r.FinishedAt), r.Error, r.Attempts); err != nil {
			return fmt.Errorf("recording step %d of enrollment %d: %w", r.Step, r.EnrollmentID, err)
		}
	}
	for _, r := range events {
		var eid any
		if r.EnrollmentID != nil {
			eid = *r.EnrollmentID
		}
		if _, err := tx.ExecContext(ctx, s.q.EventInsert, r.ProspectID, eid, r.Sequence, r.Step, r.Kind,
			r.MessageID, r.Detail, fromMicros(r.At)); err != nil {
			return fmt.Errorf("recording %s event: %w", r.Kind, err)
		}
	}
	for _, r := range saves {
		args := []any{r.ID, r.State, fromMicros(r.Anchor),
			fromMicros(r.PausedAt), r.LastStep, fromMicros(r.LastSentAt), fromMicros(r.NextSendAt),
			r.ThreadSubject, r.ThreadRefs, r.Reason, r.LeaseOwner, fromMicros(r.LeaseUntil),
			fromMicros(r.UpdatedAt)}
		query := s.q.EnrollmentUpdate
		if r.sameState {
			// Most settles: the state stays, and an UPDATE that does not
			// name it leaves enrollments_state alone.
			query, args = s.q.EnrollmentAdvance, append(args[:1:1], args[2:]...)
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("updating enrollment %d: %w", r.ID, err)
		}
	}
	return nil
}

// settleEach is the item-by-item path inside a transaction whose
// enrollments are already locked.
func (s *Store) settleEach(ctx context.Context, tx *txn, settles []store.Settle, errs []error) error {
	for i, st := range settles {
		refusal, err := s.settle(ctx, tx, st)
		if err != nil {
			return err
		}
		errs[i] = refusal
	}
	return nil
}

// settled is e after settle st (whose lease was checked).
func settled(e store.Enrollment, st store.Settle) store.Enrollment {
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
	return e
}

func (s *Store) settle(ctx context.Context, tx *txn, st store.Settle) (refusal, err error) {
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
			string(u.Status), utcPtr(u.PlannedAt), utcPtr(u.FinishedAt), u.Error, attemptsDelta(u)); err != nil {
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

	e = settled(e, st)
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
		if err := s.suppress(ctx, tx, p.EmailNorm, st.Suppress, state, st.SuppressEvent, at); err != nil {
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

// attemptsDelta is what a settle adds to a send row's attempts.
func attemptsDelta(u store.SendUpdate) int {
	if u.Uncount {
		return -1
	}
	return 0
}
