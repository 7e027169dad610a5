package sqlstore

import (
	"encoding/json"
	"time"

	"github.com/drip-email/drip/store"
)

// The engine's batches (SendsStart, Settle) are decided in Go on one read
// of their enrollments, then written. On PostgreSQL (Dialect.RowsAsJSON)
// the rows go in as JSON list parameters that the driver's SQL unpacks
// with json_to_recordset: a settle batch is one statement, a start batch
// two or three, whatever their size, where a statement per row and table
// cost a round trip each (two, unprepared). Times travel as unix
// microseconds, the stored precision. SQLite, in-process, runs a prepared
// statement per row instead: no round trips to save there, and taking
// every field out of JSON cost more than the statements.

// micros is a time as JSON: unix microseconds, null for none.
func micros(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMicro()
	return &v
}

// fromMicros is micros backwards, as a time argument (nil for none).
func fromMicros(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := time.UnixMicro(*v).UTC()
	return &t
}

// jsonRows is a list of rows as one JSON parameter ([] for none).
func jsonRows(v any) (string, error) {
	b, err := json.Marshal(v)
	if string(b) == "null" {
		return "[]", err
	}
	return string(b), err
}

// sendSettleRow is one row of sends-settle-batch.
type sendSettleRow struct {
	EnrollmentID int64  `json:"enrollment_id"`
	Step         int    `json:"step"`
	Sender       string `json:"sender"`
	MessageID    string `json:"message_id"`
	Status       string `json:"status"`
	PlannedAt    *int64 `json:"planned_at"`
	FinishedAt   *int64 `json:"finished_at"`
	Error        string `json:"error"`
	Attempts     int    `json:"attempts"` // -1: take back the start's attempt (SendUpdate.Uncount)
}

// eventBatchRow is one row of events-insert-batch.
type eventBatchRow struct {
	ProspectID   int64  `json:"prospect_id"`
	EnrollmentID *int64 `json:"enrollment_id"`
	Sequence     string `json:"sequence"`
	Step         int    `json:"step"`
	Kind         string `json:"kind"`
	MessageID    string `json:"message_id"`
	Detail       string `json:"detail"`
	At           *int64 `json:"at"`
}

// completeEvent fills what ev leaves empty: from its enrollment e (when e
// is one, not the zero value), and the time; ok is false when it has no
// prospect.
func completeEvent(ev store.Event, e store.Enrollment) (store.Event, bool) {
	if e.ID != 0 {
		if ev.EnrollmentID == 0 {
			ev.EnrollmentID = e.ID
		}
		if ev.ProspectID == 0 {
			ev.ProspectID = e.ProspectID
		}
		if ev.Sequence == "" && ev.EnrollmentID == e.ID {
			ev.Sequence = e.Sequence
		}
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	return ev, ev.ProspectID != 0
}

// eventFor is ev completed from e (see completeEvent) as a batch row.
func eventFor(ev store.Event, e store.Enrollment) (eventBatchRow, bool) {
	ev, ok := completeEvent(ev, e)
	if !ok {
		return eventBatchRow{}, false
	}
	at := utc(ev.At)
	var eid *int64
	if ev.EnrollmentID != 0 {
		eid = &ev.EnrollmentID
	}
	return eventBatchRow{ProspectID: ev.ProspectID, EnrollmentID: eid, Sequence: ev.Sequence, Step: ev.Step,
		Kind: string(ev.Kind), MessageID: ev.MessageID, Detail: ev.Detail, At: micros(&at)}, true
}

// enrollmentSaveRow is one row of enrollments-save-batch: every mutable
// column, as enrollment-update writes them.
type enrollmentSaveRow struct {
	ID            int64  `json:"id"`
	State         string `json:"state"`
	Anchor        *int64 `json:"anchor"`
	PausedAt      *int64 `json:"paused_at"`
	LastStep      int    `json:"last_step"`
	LastSentAt    *int64 `json:"last_sent_at"`
	NextSendAt    *int64 `json:"next_send_at"`
	ThreadSubject string `json:"thread_subject"`
	ThreadRefs    string `json:"thread_refs"`
	Reason        string `json:"reason"`
	LeaseOwner    string `json:"lease_owner"`
	LeaseUntil    *int64 `json:"lease_until"`
	UpdatedAt     *int64 `json:"updated_at"`
	// sameState: the write leaves the state as it was (see
	// enrollment-advance).
	sameState bool
}

func saveRowOf(e store.Enrollment, at time.Time) enrollmentSaveRow {
	anchor, at := utc(e.Anchor), utc(at)
	return enrollmentSaveRow{
		ID: e.ID, State: string(e.State), Anchor: micros(&anchor), PausedAt: micros(utcPtr(e.PausedAt)),
		LastStep: e.LastStep, LastSentAt: micros(utcPtr(e.LastSentAt)), NextSendAt: micros(utcPtr(e.NextSendAt)),
		ThreadSubject: e.ThreadSubject, ThreadRefs: e.ThreadRefs, Reason: e.Reason,
		LeaseOwner: e.LeaseOwner, LeaseUntil: micros(utcPtr(e.LeaseUntil)), UpdatedAt: micros(&at),
	}
}

// sendBeginRow is one row of sends-begin-batch.
type sendBeginRow struct {
	EnrollmentID int64  `json:"enrollment_id"`
	Step         int    `json:"step"`
	Sender       string `json:"sender"`
	MessageID    string `json:"message_id"`
	PlannedAt    *int64 `json:"planned_at"`
	StartedAt    *int64 `json:"started_at"`
}
