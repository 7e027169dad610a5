package sequencer_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// fakeLookup answers the matching lookups from memory: two prospects with
// sends with known Message-IDs and addresses, each with three enrollments.
type fakeLookup struct{}

var fakeRefs = []store.SentRef{
	{EnrollmentID: 11, ProspectID: 1, Sequence: "trade-fair", Sender: inSender, Step: 3,
		MessageID: "<drip.s3.c41e07d2f9b5@ferrovalvole.example>", Email: "old.buyer@nordstahl.example", State: store.StateActive},
	{EnrollmentID: 21, ProspectID: 2, Sequence: "fiera", Sender: inSender, Step: 1,
		MessageID: "<drip.s1.6f2c9a41b7e3@ferrovalvole.example>", Email: "luca.verdi@acciaierie.example", State: store.StateActive},
}

func (fakeLookup) SentByMessageIDs(_ context.Context, ids []string) (store.SentRef, error) {
	for _, id := range ids {
		for _, r := range fakeRefs {
			if r.MessageID == id {
				return r, nil
			}
		}
	}
	return store.SentRef{}, store.ErrNotFound
}

func (fakeLookup) SentLatestToEmail(_ context.Context, email string) (store.SentRef, error) {
	for _, r := range fakeRefs {
		if store.NormalizeEmail(r.Email) == store.NormalizeEmail(email) {
			return r, nil
		}
	}
	return store.SentRef{}, store.ErrNotFound
}

func (fakeLookup) EnrollmentsRunningByEmail(_ context.Context, email string) ([]store.SentRef, error) {
	// Any address of the example domains is an enrolled prospect, so that
	// fuzzed addresses reach the matched paths too.
	if filepath.Ext(email) == ".example" {
		r := fakeRefs[0]
		second := r
		second.EnrollmentID, second.Step, second.MessageID, second.State = 12, 0, "", store.StatePaused
		return []store.SentRef{r, second}, nil
	}
	return nil, nil
}

func (fakeLookup) EnrollmentsByProspect(_ context.Context, id int64) ([]store.Enrollment, error) {
	return []store.Enrollment{
		{ID: 10*id + 1, ProspectID: id, State: store.StateActive},
		{ID: 10*id + 2, ProspectID: id, State: store.StatePaused},
		{ID: 10*id + 3, ProspectID: id, State: store.StateCompleted},
	}, nil
}

// FuzzDecideInbound feeds arbitrary bytes through parse, classify and
// match: it never panics, and what it decides is always recordable.
func FuzzDecideInbound(f *testing.F) {
	for _, pattern := range []string{"../mailer/inbound/testdata/*.eml", "../../shared/fixtures/inbound/*/*.eml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if raw, err := os.ReadFile(file); err == nil {
				f.Add(raw, true)
			}
		}
	}
	f.Add(humanReply("luca.verdi@acciaierie.example", fakeRefs[1].MessageID), true)
	f.Add(stopRequest("en", "x@y.example", ""), true)
	f.Add(dsn(fakeRefs[0].MessageID, [3]string{"old.buyer@nordstahl.example", "5.1.1", "failed"},
		[3]string{"b@c.example", "4.2.2", "delayed"}), false)
	f.Add([]byte(""), true)
	f.Add([]byte("From: <>\r\n\r\n"), true)

	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte, byAddress bool) {
		d, err := sequencer.DecideInbound(context.Background(), fakeLookup{}, raw, []string{inFrom}, now, byAddress)
		if err != nil {
			t.Fatalf("deciding failed with a store that never fails: %v", err)
		}
		if !slices.Contains(inbound.Labels, d.Kind) {
			t.Fatalf("kind %q is not a metric label", d.Kind)
		}
		if d.Record.Key == "" {
			t.Fatal("no dedup key")
		}
		evs := slices.Clone(d.Record.Events)
		for _, tr := range d.Record.Transitions {
			if tr.EnrollmentID == 0 || tr.Event == nil || len(tr.From) == 0 {
				t.Fatalf("transition %+v", tr)
			}
			if tr.To != store.StateReplied && !tr.To.Terminal() && (tr.To != store.StatePaused || tr.Reason != sequencer.FlaggedReason) {
				t.Fatalf("transition into %s", tr.To)
			}
			if tr.To.Terminal() {
				evs = append(evs, *tr.Event)
			}
		}
		matched := d.Kind != inbound.LabelUnmatched && d.Kind != inbound.LabelOwn
		if matched != (len(evs) > 0) || matched != (len(d.Matched) > 0) {
			t.Fatalf("kind %s with %d events and %d matches", d.Kind, len(evs), len(d.Matched))
		}
		for _, ev := range evs {
			if ev.ProspectID == 0 || ev.EnrollmentID == 0 || ev.Kind == "" || ev.At != now || len(ev.Detail) > 200+len("…") {
				t.Fatalf("event %+v is not recordable", ev)
			}
		}
		if len(d.Record.Suppress) > 0 && (!d.Record.SuppressState.Terminal() || d.Record.SuppressEvent == "") {
			t.Fatalf("suppression into %q with event %q", d.Record.SuppressState, d.Record.SuppressEvent)
		}
		for _, a := range d.Record.Suppress {
			if store.NormalizeEmail(a) == "" {
				t.Fatal("empty address suppressed")
			}
		}
	})
}
