package imapwatch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// fakeStore answers the matching lookups from memory: one prospect with
// two enrollments and sends with known Message-IDs and addresses. The
// mailbox methods do nothing.
type fakeStore struct{}

var fakeRefs = []store.SentRef{
	{EnrollmentID: 11, ProspectID: 1, Sequence: "trade-fair", Sender: senderName, Step: 3,
		MessageID: "<drip.s3.c41e07d2f9b5@ferrovalvole.example>", Email: "old.buyer@nordstahl.example", State: store.StateActive},
	{EnrollmentID: 12, ProspectID: 2, Sequence: "fiera", Sender: senderName, Step: 1,
		MessageID: "<drip.s1.6f2c9a41b7e3@ferrovalvole.example>", Email: "luca.verdi@acciaierie.example", State: store.StateActive},
}

func (fakeStore) SentByMessageIDs(_ context.Context, ids []string) (store.SentRef, error) {
	for _, id := range ids {
		for _, r := range fakeRefs {
			if r.MessageID == id {
				return r, nil
			}
		}
	}
	return store.SentRef{}, store.ErrNotFound
}

func (fakeStore) SentLatestToEmail(_ context.Context, email string) (store.SentRef, error) {
	for _, r := range fakeRefs {
		if store.NormalizeEmail(r.Email) == store.NormalizeEmail(email) {
			return r, nil
		}
	}
	// Any address of the example domains matches, so that fuzzed
	// addresses reach the matched paths too.
	if filepath.Ext(email) == ".example" {
		return fakeRefs[0], nil
	}
	return store.SentRef{}, store.ErrNotFound
}

func (fakeStore) EnrollmentsByProspect(_ context.Context, id int64) ([]store.Enrollment, error) {
	return []store.Enrollment{
		{ID: 10*id + 1, ProspectID: id, State: store.StateActive},
		{ID: 10*id + 2, ProspectID: id, State: store.StatePaused},
		{ID: 10*id + 3, ProspectID: id, State: store.StateCompleted},
	}, nil
}

func (fakeStore) MailboxCursorGet(context.Context, string) (store.MailboxCursor, error) {
	return store.MailboxCursor{}, store.ErrNotFound
}
func (fakeStore) InboundRecord(context.Context, store.Inbound) error { return nil }
func (fakeStore) MailboxLease(context.Context, string, string, time.Time, time.Time) (bool, error) {
	return false, nil
}
func (fakeStore) MailboxLeaseRelease(context.Context, string, string) error { return nil }

// FuzzHandle feeds arbitrary bytes through parse, classify and match: it
// never panics, and what it decides is always recordable.
func FuzzHandle(f *testing.F) {
	for _, pattern := range []string{"../inbound/testdata/*.eml", "../../../shared/fixtures/inbound/*/*.eml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if raw, err := os.ReadFile(file); err == nil {
				f.Add(raw, true)
			}
		}
	}
	f.Add(humanReply("luca.verdi@acciaierie.example", fakeRefs[1].MessageID), true)
	f.Add(stopRequest("x@y.example", ""), true)
	f.Add(dsn(fakeRefs[0].MessageID, [3]string{"old.buyer@nordstahl.example", "5.1.1", "failed"},
		[3]string{"b@c.example", "4.2.2", "delayed"}), false)
	f.Add([]byte(""), true)
	f.Add([]byte("From: <>\r\n\r\n"), true)

	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte, byAddress bool) {
		d, err := decide(context.Background(), fakeStore{}, []string{ourFrom}, raw, now, byAddress)
		if err != nil {
			t.Fatalf("decide failed with a store that never fails: %v", err)
		}
		if !slices.Contains(Kinds, d.kind) {
			t.Fatalf("kind %q is not a metric label", d.kind)
		}
		if d.in.Key == "" {
			t.Fatal("no dedup key")
		}
		matched := d.kind != KindUnmatched && d.kind != KindOwn
		if matched != (len(d.in.Events) > 0) {
			t.Fatalf("kind %s with %d events", d.kind, len(d.in.Events))
		}
		for _, ev := range d.in.Events {
			if ev.ProspectID == 0 || ev.EnrollmentID == 0 || ev.Kind == "" || ev.At != now || len(ev.Detail) > maxDetail+len("…") {
				t.Fatalf("event %+v is not recordable", ev)
			}
		}
		for _, tr := range d.in.Transitions {
			if tr.To != store.StateReplied || tr.EnrollmentID == 0 {
				t.Fatalf("transition %+v", tr)
			}
		}
		if len(d.in.Suppress) > 0 && !d.in.SuppressState.Terminal() {
			t.Fatalf("suppression into non-final state %q", d.in.SuppressState)
		}
		for _, a := range d.in.Suppress {
			if store.NormalizeEmail(a) == "" {
				t.Fatal("empty address suppressed")
			}
		}
	})
}
