package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/drip-email/drip/store"
)

// SendsStart is the at-most-once gate (R8) for a batch, in one transaction.
// Refusals are per item and never abort the others: every check is a read
// under the enrollment's row lock, not a failing statement.
func (s *Store) SendsStart(ctx context.Context, starts []store.SendStart) ([]error, error) {
	if len(starts) == 0 {
		return nil, nil
	}
	errs := make([]error, len(starts))
	if err := s.inTx(ctx, func(tx *txn) error { return s.startIn(ctx, tx, starts, errs) }); err != nil {
		return nil, fmt.Errorf("starting sends: %w", err)
	}
	return errs, nil
}

// startIn gates a batch in tx. A batch of distinct enrollments is decided
// in Go on one read of them all and written with a few statements (see
// startBatch); one that names an enrollment twice goes item by item, so
// that the second item sees the first one's row.
func (s *Store) startIn(ctx context.Context, tx *txn, starts []store.SendStart, errs []error) error {
	// Lock order: every enrollment of the batch first (by id), then the
	// daily-cap rows by (sender, day). Items of one sender keep the
	// caller's order, which decides who gets the last units of a cap.
	order := make([]int, len(starts))
	ids := make([]int64, len(starts))
	seen := make(map[int64]bool, len(starts))
	oneByOne := false
	for i := range starts {
		order[i] = i
		ids[i] = starts[i].EnrollmentID
		oneByOne = oneByOne || seen[ids[i]]
		seen[ids[i]] = true
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := starts[order[a]], starts[order[b]]
		if x.Sender != y.Sender {
			return x.Sender < y.Sender
		}
		return x.Day < y.Day
	})
	if !oneByOne {
		return s.startBatch(ctx, tx, ids, order, starts, errs)
	}
	return s.eachLocked(ctx, tx, ids, order, errs, func(i int) (error, error) {
		return s.sendStart(ctx, tx, starts[i])
	})
}

// capOf is the daily cap an item is held to (no cap: counted all the same).
func capOf(st store.SendStart) int {
	if st.DailyLimit <= 0 {
		return math.MaxInt32
	}
	return st.DailyLimit
}

// gateRow is what SendsStart decides on for one enrollment.
type gateRow struct {
	ID         int64  `db:"id"`
	State      string `db:"state"`
	LeaseOwner string `db:"lease_owner"`
	LeaseUntil dbTime `db:"lease_until"`
	Forgotten  bool   `db:"forgotten"`
	Suppressed bool   `db:"suppressed"`
	SendStatus string `db:"send_status"`
}

// refusal is the gate's answer for st given its row, nil when it may go on
// to the sender's pace and daily cap.
func (g gateRow) refusal(st store.SendStart) error {
	started := utc(st.StartedAt)
	switch {
	case g.State != string(store.StateActive):
		return fmt.Errorf("enrollment %d is %s: %w", st.EnrollmentID, g.State, store.ErrLeaseLost)
	case g.LeaseOwner != st.Owner || !g.LeaseUntil.Valid || !g.LeaseUntil.T.After(started):
		return fmt.Errorf("enrollment %d is not leased by %s: %w", st.EnrollmentID, st.Owner, store.ErrLeaseLost)
	case g.Suppressed || g.Forgotten:
		return fmt.Errorf("enrollment %d: %w", st.EnrollmentID, store.ErrSuppressed)
	case g.SendStatus != "" && g.SendStatus != string(store.SendRetry):
		return fmt.Errorf("step %d of enrollment %d is already %s: %w", st.Step, st.EnrollmentID, g.SendStatus, store.ErrConflict)
	}
	return nil
}

// startBatch is sendStart for a batch of distinct enrollments: one read
// (locking the enrollments, in id order) for every gate, the daily cap
// taken per (sender, day) under that row's lock in the caller's order,
// and the new rows written (one statement on PostgreSQL; see batch.go).
func (s *Store) startBatch(ctx context.Context, tx *txn, ids []int64, order []int, starts []store.SendStart, errs []error) error {
	stepOf := make(map[string]int, len(starts))
	for _, st := range starts {
		stepOf[strconv.FormatInt(st.EnrollmentID, 10)] = st.Step
	}
	stepsJSON, err := json.Marshal(stepOf)
	if err != nil {
		return err
	}
	var gates []gateRow
	if err := tx.SelectContext(ctx, &gates, s.q.SendGateBatch, jsonList(ids), string(stepsJSON)); err != nil {
		return fmt.Errorf("reading enrollments: %w", err)
	}
	gate := make(map[int64]gateRow, len(gates))
	for _, g := range gates {
		gate[g.ID] = g
	}

	// The gate, then the cap, in the caller's order per (sender, day).
	type capKey struct{ sender, day string }
	passed := map[capKey][]int{} // items through the gate, by cap
	var keys []capKey            // in the order first met
	var ok []int
	for _, i := range order {
		st := starts[i]
		g, found := gate[st.EnrollmentID]
		if !found {
			errs[i] = fmt.Errorf("enrollment %d does not exist: %w", st.EnrollmentID, store.ErrLeaseLost)
			continue
		}
		if errs[i] = g.refusal(st); errs[i] != nil {
			continue
		}
		if st.PaceGap > 0 {
			// R9: the sender's turn before its daily cap (a refused turn
			// takes nothing from the cap).
			refusal, err := s.paceTake(ctx, tx, st)
			if err != nil {
				return err
			}
			if errs[i] = refusal; refusal != nil {
				continue
			}
		}
		if st.Day == "" {
			ok = append(ok, i)
			continue
		}
		k := capKey{st.Sender, st.Day}
		if _, have := passed[k]; !have {
			keys = append(keys, k)
		}
		passed[k] = append(passed[k], i)
	}
	for _, k := range keys {
		items := passed[k]
		limit := capOf(starts[items[0]])
		same := true
		for _, i := range items {
			same = same && capOf(starts[i]) == limit
		}
		if same && len(items) <= limit {
			// Usually the whole group fits: one conditional upsert takes
			// all its units, or none.
			var n int
			err := tx.GetContext(ctx, &n, s.q.SenderDailyTakeN, k.sender, k.day, len(items), limit)
			if err == nil {
				ok = append(ok, items...)
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("taking from the daily cap of %s: %w", k.sender, err)
			}
		}
		// Not all fit: unit by unit, under the row's lock.
		var n int
		if err := tx.GetContext(ctx, &n, s.q.SenderDailyLock, k.sender, k.day); err != nil {
			return fmt.Errorf("reading the daily cap of %s: %w", k.sender, err)
		}
		before := n
		for _, i := range items {
			if n >= capOf(starts[i]) {
				errs[i] = fmt.Errorf("sender %s on %s: %w", k.sender, k.day, store.ErrDailyLimit)
				continue
			}
			n++
			ok = append(ok, i)
		}
		if n > before {
			if _, err := tx.ExecContext(ctx, s.q.SenderDailySet, k.sender, k.day, n); err != nil {
				return fmt.Errorf("taking from the daily cap of %s: %w", k.sender, err)
			}
		}
	}

	var begin []sendBeginRow
	for _, i := range ok {
		st := starts[i]
		planned, started := utc(st.PlannedAt), utc(st.StartedAt)
		if gate[st.EnrollmentID].SendStatus == string(store.SendRetry) {
			if _, err := tx.ExecContext(ctx, s.q.SendRetry, st.EnrollmentID, st.Step, st.Sender,
				st.MessageID, planned, started); err != nil {
				return fmt.Errorf("restarting step %d of enrollment %d: %w", st.Step, st.EnrollmentID, err)
			}
			continue
		}
		begin = append(begin, sendBeginRow{EnrollmentID: st.EnrollmentID, Step: st.Step, Sender: st.Sender,
			MessageID: st.MessageID, PlannedAt: micros(&planned), StartedAt: micros(&started)})
	}
	if len(begin) > 0 {
		var inserted []int64
		if s.d.RowsAsJSON {
			payload, err := jsonRows(begin)
			if err != nil {
				return err
			}
			if err := tx.SelectContext(ctx, &inserted, s.q.SendsBeginBatch, payload); err != nil {
				return fmt.Errorf("recording steps: %w", err)
			}
		} else {
			for _, r := range begin {
				var id int64
				err := tx.GetContext(ctx, &id, s.q.SendBegin, r.EnrollmentID, r.Step, r.Sender, r.MessageID,
					fromMicros(r.PlannedAt), fromMicros(r.StartedAt))
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return fmt.Errorf("recording step %d of enrollment %d: %w", r.Step, r.EnrollmentID, err)
				}
				inserted = append(inserted, r.EnrollmentID)
			}
		}
		if len(inserted) != len(begin) {
			// Cannot happen under the enrollments' locks; should it, the
			// cap unit goes back and the step is reported as taken.
			got := make(map[int64]bool, len(inserted))
			for _, id := range inserted {
				got[id] = true
			}
			for _, i := range ok {
				st := starts[i]
				if gate[st.EnrollmentID].SendStatus == string(store.SendRetry) || got[st.EnrollmentID] {
					continue
				}
				errs[i] = fmt.Errorf("step %d of enrollment %d: %w", st.Step, st.EnrollmentID, store.ErrConflict)
				if st.Day != "" {
					if _, err := tx.ExecContext(ctx, s.q.SenderDailyGiveBack, st.Sender, st.Day); err != nil {
						return fmt.Errorf("giving back a daily cap unit: %w", err)
					}
				}
			}
		}
	}
	return nil
}

// sendStart gates one attempt; the first result is the item's refusal, the
// second a failure of the whole batch.
func (s *Store) sendStart(ctx context.Context, tx *txn, st store.SendStart) (refusal, err error) {
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

	if st.PaceGap > 0 {
		if refusal, err := s.paceTake(ctx, tx, st); refusal != nil || err != nil {
			return refusal, err
		}
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

// EnrollmentsRunningByEmail lists the running enrollments of the prospect
// with this address, each with its latest send (Step 0 when none).
func (s *Store) EnrollmentsRunningByEmail(ctx context.Context, email string) ([]store.SentRef, error) {
	var rows []sentRefRow
	if err := s.read.SelectContext(ctx, &rows, s.q.EnrollmentsRunningByEmail, store.NormalizeEmail(email)); err != nil {
		return nil, fmt.Errorf("reading running enrollments of an address: %w", err)
	}
	out := make([]store.SentRef, len(rows))
	for i, r := range rows {
		out[i] = r.ref()
	}
	return out, nil
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
