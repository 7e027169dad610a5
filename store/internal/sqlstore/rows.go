package sqlstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/drip-email/drip/store"
)

// dbTime reads a time column of either driver: SQLite gives INTEGER unix
// microseconds, PostgreSQL a time.Time. Both come back in UTC. (Writing is
// symmetric: the SQLite driver is opened with _time_integer_format=unix_micro,
// so a time.Time argument is stored as microseconds.)
type dbTime struct {
	T     time.Time
	Valid bool
}

func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t = dbTime{}
	case int64:
		*t = dbTime{T: time.UnixMicro(v).UTC(), Valid: true}
	case time.Time:
		*t = dbTime{T: v.UTC(), Valid: true}
	default:
		return fmt.Errorf("scanning a time: unexpected %T", src)
	}
	return nil
}

func (t dbTime) ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.T
	return &v
}

// utc normalises a time argument: the stored precision is microseconds in
// both databases, and the instant is what counts.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := utc(*t)
	return &v
}

// nullID stores 0 as NULL (an event not tied to an enrollment).
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// jsonList encodes a list parameter; the dialects' {{anyID}}, {{anyText}}
// and {{texts}} macros unpack it in SQL, so one encoding serves both
// databases.
func jsonList[T any](xs []T) string {
	if xs == nil {
		return "[]"
	}
	b, _ := json.Marshal(xs) // a slice of ints or strings always encodes
	return string(b)
}

type prospectRow struct {
	ID          int64  `db:"id"`
	Email       string `db:"email"`
	EmailNorm   string `db:"email_norm"`
	EmailHash   string `db:"email_hash"`
	FirstName   string `db:"first_name"`
	LastName    string `db:"last_name"`
	Company     string `db:"company"`
	Title       string `db:"title"`
	Phone       string `db:"phone"`
	MetAt       string `db:"met_at"`
	Timezone    string `db:"timezone"`
	Language    string `db:"language"`
	Notes       string `db:"notes"`
	Fields      string `db:"fields"`
	SearchFold  string `db:"search_fold"` // store.SearchFold of the names and company
	ForgottenAt dbTime `db:"forgotten_at"`
	CreatedAt   dbTime `db:"created_at"`
	UpdatedAt   dbTime `db:"updated_at"`
}

func (r prospectRow) prospect() (store.Prospect, error) {
	p := store.Prospect{
		ID: r.ID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		Company: r.Company, Title: r.Title, Phone: r.Phone, MetAt: r.MetAt,
		Timezone: r.Timezone, Language: r.Language, Notes: r.Notes,
		CreatedAt: r.CreatedAt.T, UpdatedAt: r.UpdatedAt.T,
	}
	fields, err := decodeFields(r.Fields)
	if err != nil {
		return store.Prospect{}, fmt.Errorf("prospect %d: %w", r.ID, err)
	}
	p.Fields = fields
	return p, nil
}

func encodeFields(f map[string]string) string {
	if len(f) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(f) // a map of strings always encodes
	return string(b)
}

func decodeFields(s string) (map[string]string, error) {
	f := map[string]string{}
	if s == "" {
		return f, nil
	}
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		return nil, fmt.Errorf("decoding custom fields: %w", err)
	}
	return f, nil
}

type enrollmentRow struct {
	ID            int64  `db:"id"`
	ProspectID    int64  `db:"prospect_id"`
	Sequence      string `db:"sequence"`
	Sender        string `db:"sender"`
	State         string `db:"state"`
	FirstContact  dbTime `db:"first_contact"`
	Anchor        dbTime `db:"anchor"`
	PausedAt      dbTime `db:"paused_at"`
	LastStep      int    `db:"last_step"`
	LastSentAt    dbTime `db:"last_sent_at"`
	NextSendAt    dbTime `db:"next_send_at"`
	ThreadSubject string `db:"thread_subject"`
	ThreadRefs    string `db:"thread_refs"`
	Reason        string `db:"reason"`
	SuccessorMail string `db:"successor_email"`
	SuccessorName string `db:"successor_name"`
	Version       int64  `db:"version"`
	LeaseOwner    string `db:"lease_owner"`
	LeaseUntil    dbTime `db:"lease_until"`
	CreatedAt     dbTime `db:"created_at"`
	UpdatedAt     dbTime `db:"updated_at"`
}

func (r enrollmentRow) enrollment() store.Enrollment {
	return store.Enrollment{
		ID: r.ID, ProspectID: r.ProspectID, Sequence: r.Sequence, Sender: r.Sender,
		State: store.State(r.State), FirstContact: r.FirstContact.T, Anchor: r.Anchor.T,
		PausedAt: r.PausedAt.ptr(), LastStep: r.LastStep, LastSentAt: r.LastSentAt.ptr(),
		NextSendAt: r.NextSendAt.ptr(), ThreadSubject: r.ThreadSubject, ThreadRefs: r.ThreadRefs,
		Reason: r.Reason, Successor: store.Successor{Email: r.SuccessorMail, Name: r.SuccessorName},
		Version: r.Version, LeaseOwner: r.LeaseOwner,
		LeaseUntil: r.LeaseUntil.ptr(), CreatedAt: r.CreatedAt.T, UpdatedAt: r.UpdatedAt.T,
	}
}

func enrollments(rows []enrollmentRow) []store.Enrollment {
	out := make([]store.Enrollment, len(rows))
	for i, r := range rows {
		out[i] = r.enrollment()
	}
	return out
}

type sendRow struct {
	ID           int64  `db:"id"`
	EnrollmentID int64  `db:"enrollment_id"`
	Step         int    `db:"step"`
	Sender       string `db:"sender"`
	MessageID    string `db:"message_id"`
	Status       string `db:"status"`
	Attempts     int    `db:"attempts"`
	PlannedAt    dbTime `db:"planned_at"`
	StartedAt    dbTime `db:"started_at"`
	FinishedAt   dbTime `db:"finished_at"`
	Error        string `db:"error"`
}

func (r sendRow) send() store.Send {
	return store.Send{
		ID: r.ID, EnrollmentID: r.EnrollmentID, Step: r.Step, Sender: r.Sender,
		MessageID: r.MessageID, Status: store.SendStatus(r.Status), Attempts: r.Attempts,
		PlannedAt: r.PlannedAt.ptr(), StartedAt: r.StartedAt.ptr(), FinishedAt: r.FinishedAt.ptr(),
		Error: r.Error,
	}
}

type eventRow struct {
	ID           int64  `db:"id"`
	ProspectID   int64  `db:"prospect_id"`
	EnrollmentID *int64 `db:"enrollment_id"`
	Sequence     string `db:"sequence"`
	Step         int    `db:"step"`
	Kind         string `db:"kind"`
	MessageID    string `db:"message_id"`
	Detail       string `db:"detail"`
	At           dbTime `db:"at"`
}

func (r eventRow) event() store.Event {
	e := store.Event{
		ID: r.ID, ProspectID: r.ProspectID, Sequence: r.Sequence, Step: r.Step,
		Kind: store.EventKind(r.Kind), MessageID: r.MessageID, Detail: r.Detail, At: r.At.T,
	}
	if r.EnrollmentID != nil {
		e.EnrollmentID = *r.EnrollmentID
	}
	return e
}
