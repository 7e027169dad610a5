package sequencer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// The names here carry a ctl prefix: engine_test.go shares the package.

// ctlT0 is a Tuesday, 10:00 in Rome.
var ctlT0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

var ctlRome = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err)
	}
	return loc
}()

// ctlConfig has two sequences: fair (5 steps, every 10 days from day 10,
// no window) and booth (declares the custom field booth); two senders.
func ctlConfig() *configs.Config {
	return &configs.Config{
		Senders: []configs.Sender{{Name: "maria", From: "Maria <maria@example.com>"}, {Name: "piotr", From: "Piotr <piotr@example.com>"}},
		Sequences: map[string]*configs.Sequence{
			"fair": {Name: "fair", Steps: 5, Interval: configs.Span{Days: 10}, FirstStepAfter: configs.Span{Days: 10},
				Timezone: "Europe/Rome", Location: ctlRome},
			"booth": {Name: "booth", Steps: 3, Interval: configs.Span{Days: 7}, FirstStepAfter: configs.Span{Days: 1},
				Timezone: "Europe/Rome", Location: ctlRome, Fields: []string{"booth"}},
		},
		Engine: configs.Engine{ImportBatch: 100},
	}
}

type ctlRig struct {
	t     *testing.T
	st    store.Store
	clock *testrig.Clock
	c     *sequencer.Control
	wakes atomic.Int64
}

func newCtlRig(t *testing.T, st store.Store) *ctlRig {
	r := &ctlRig{t: t, st: st, clock: testrig.NewClock(ctlT0)}
	r.c = &sequencer.Control{Store: st, Clock: r.clock, Config: ctlConfig(), Wake: func() { r.wakes.Add(1) }}
	return r
}

func (r *ctlRig) enroll(email, sequence string, mod func(*sequencer.EnrollRequest)) sequencer.EnrollResult {
	r.t.Helper()
	req := sequencer.EnrollRequest{Sequence: sequence, Prospect: store.Prospect{Email: email, FirstName: "Anna"}}
	if mod != nil {
		mod(&req)
	}
	res, err := r.c.Enroll(context.Background(), req)
	if err != nil {
		r.t.Fatalf("enrolling %s: %v", email, err)
	}
	return res
}

func (r *ctlRig) view(email string) sequencer.ProspectView {
	r.t.Helper()
	v, err := r.c.ProspectView(context.Background(), email)
	if err != nil {
		r.t.Fatalf("viewing %s: %v", email, err)
	}
	return v
}

// sendDue plays the engine for the due enrollments, through the store's
// own gate: step LastStep+1 is sent at the clock's time, with a sent event.
func (r *ctlRig) sendDue() map[int64]string {
	r.t.Helper()
	ctx := context.Background()
	now := r.clock.Now()
	claimed, err := r.st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "test", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 100})
	if err != nil {
		r.t.Fatal(err)
	}
	ids := map[int64]string{}
	for _, e := range claimed {
		step := e.LastStep + 1
		msgID := fmt.Sprintf("<%d.%d@example.com>", e.ID, step)
		errs, err := r.st.SendsStart(ctx, []store.SendStart{{EnrollmentID: e.ID, Owner: "test", Step: step, Sender: e.Sender,
			MessageID: msgID, PlannedAt: *e.NextSendAt, StartedAt: now, Day: now.Format(time.DateOnly)}})
		if err != nil || errs[0] != nil {
			r.t.Fatalf("starting send: %v %v", err, errs)
		}
		sent := e
		sent.LastStep, sent.LastSentAt = step, &now
		next := sequencer.Plan(sent, r.c.Config.Sequences[e.Sequence], ctlRome, now)
		errs, err = r.st.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "test", State: store.StateActive,
			Sends:    []store.SendUpdate{{Step: step, Status: store.SendSent, MessageID: msgID, FinishedAt: &now}},
			Events:   []store.Event{{ProspectID: e.ProspectID, EnrollmentID: e.ID, Sequence: e.Sequence, Step: step, Kind: store.EventSent, MessageID: msgID, At: now}},
			LastStep: step, LastSentAt: &now, NextSendAt: next}})
		if err != nil || errs[0] != nil {
			r.t.Fatalf("settling send: %v %v", err, errs)
		}
		ids[e.ProspectID] = msgID
	}
	return ids
}

// inbound records a reply-like message about the prospect's enrollment in
// sequence, as the mailbox watcher does.
func (r *ctlRig) inbound(email, sequence string, kind store.EventKind, to store.State, uid uint32) {
	r.t.Helper()
	ctx := context.Background()
	p, err := r.st.ProspectGetByEmail(ctx, email)
	if err != nil {
		r.t.Fatal(err)
	}
	ens, err := r.st.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, e := range ens {
		if e.Sequence != sequence {
			continue
		}
		in := store.Inbound{Sender: "maria", UIDValidity: 1, UID: uid, Key: fmt.Sprint("msg", uid),
			Events: []store.Event{{ProspectID: p.ID, EnrollmentID: e.ID, Sequence: e.Sequence, Step: e.LastStep, Kind: kind, At: r.clock.Now()}}}
		if to != "" {
			in.Transitions = []store.Transition{{EnrollmentID: e.ID, From: []store.State{store.StateActive}, To: to, At: r.clock.Now()}}
		}
		if err := r.st.InboundRecord(ctx, in); err != nil {
			r.t.Fatal(err)
		}
	}
}

func TestControlEnroll(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()

			// Defaults: the first sender, first contact now, step 1 ten days on.
			res := r.enroll("Anna.Bianchi@Example.com", "fair", nil)
			if !res.Created || res.Enrollment.Sender != "maria" || !res.Enrollment.FirstContact.Equal(ctlT0) {
				t.Errorf("enrollment %+v: want created, sender maria, first contact now", res.Enrollment)
			}
			if n := res.Enrollment.NextSendAt; n == nil || !n.Equal(ctlT0.AddDate(0, 0, 10)) {
				t.Errorf("next send %v, want %v", n, ctlT0.AddDate(0, 0, 10))
			}
			if r.wakes.Load() != 1 {
				t.Errorf("engine woken %d times, want 1", r.wakes.Load())
			}

			// Again (another spelling): not duplicated, data updated.
			res = r.enroll("anna.bianchi@example.com", "fair", func(q *sequencer.EnrollRequest) {
				q.Prospect.Company = "Bianchi Srl"
				q.Sender = "piotr"
			})
			if res.Created {
				t.Error("second enrollment in the same sequence was created")
			}
			v := r.view("ANNA.BIANCHI@example.com")
			if len(v.Enrollments) != 1 || v.Enrollments[0].Sender != "maria" || v.Prospect.Company != "Bianchi Srl" {
				t.Errorf("after re-enrolling: %+v", v)
			}
			if r.wakes.Load() != 1 {
				t.Errorf("engine woken for an enrollment that was not created")
			}

			// A date alone is 00:00 that day in the prospect's zone.
			res = r.enroll("ny@example.com", "fair", func(q *sequencer.EnrollRequest) {
				q.Prospect.Timezone = "America/New_York"
				q.FirstContact = "20/11/2026"
			})
			if want := time.Date(2026, 11, 20, 5, 0, 0, 0, time.UTC); !res.Enrollment.FirstContact.Equal(want) {
				t.Errorf("first contact %v, want %v", res.Enrollment.FirstContact, want)
			}

			// 95 days ago: the latest past-due step (9 of a longer sequence;
			// here 5 steps end at day 50, so the last one) is due now.
			res = r.enroll("late@example.com", "fair", func(q *sequencer.EnrollRequest) {
				q.FirstContact = ctlT0.AddDate(0, 0, -95).Format(time.RFC3339)
			})
			if n := res.Enrollment.NextSendAt; n == nil || n.After(ctlT0) {
				t.Errorf("late enrollment's next send %v is not due now", n)
			}
			if e := r.view("late@example.com").Enrollments[0]; e.NextStep == nil || *e.NextStep != 5 {
				t.Errorf("late enrollment's next step %v, want 5 (the earlier ones are skipped)", e.NextStep)
			}

			// A declared field may come from the stored prospect.
			if _, err := r.c.Enroll(ctx, sequencer.EnrollRequest{Sequence: "booth", Prospect: store.Prospect{Email: "anna.bianchi@example.com"}}); err == nil ||
				!errors.Is(err, sequencer.ErrInvalid) || !strings.Contains(err.Error(), `missing custom field "booth"`) {
				t.Errorf("enrolling without a declared field: %v", err)
			}
			r.enroll("anna.bianchi@example.com", "fair", func(q *sequencer.EnrollRequest) { q.Prospect.Fields = map[string]string{"booth": "B12"} })
			r.enroll("anna.bianchi@example.com", "booth", nil)

			// Suppressed: refused, and nothing of it stored.
			if err := r.st.SuppressionAdd(ctx, "gone@example.com", "asked", "", "", ctlT0); err != nil {
				t.Fatal(err)
			}
			_, err := r.c.Enroll(ctx, sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "Gone@example.com", FirstName: "G"}})
			if !errors.Is(err, store.ErrSuppressed) || !strings.Contains(err.Error(), "Gone@example.com is suppressed") {
				t.Errorf("enrolling a suppressed address: %v", err)
			}
			if _, err := r.st.ProspectGetByEmail(ctx, "gone@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a suppressed address was stored: %v", err)
			}
		})
	}
}

func TestControlEnrollRefusesBadInput(t *testing.T) {
	r := newCtlRig(t, testrig.Open(t, testrig.SQLiteURL(t)))
	ok := store.Prospect{Email: "x@example.com"}
	for _, tc := range []struct {
		name string
		req  sequencer.EnrollRequest
		want string
	}{
		{"no sequence", sequencer.EnrollRequest{Prospect: ok}, "a sequence is required"},
		{"unknown sequence", sequencer.EnrollRequest{Sequence: "nope", Prospect: ok}, `no sequence "nope" (have: booth, fair)`},
		{"unknown sender", sequencer.EnrollRequest{Sequence: "fair", Sender: "bob", Prospect: ok}, `no sender "bob" (have: maria, piotr)`},
		{"no email", sequencer.EnrollRequest{Sequence: "fair"}, "missing email"},
		{"bad email", sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "x@localhost"}}, "the domain has no dot"},
		{"long email", sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: strings.Repeat("ż", 125) + "@example.com"}}, "invalid address: longer than 254 bytes"},
		{"display name", sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "X <x@example.com>"}}, "invalid address"},
		{"CR/LF in email", sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "x@example.com\r\nBcc: y@example.com"}}, "line break inside field email"},
		{"CR/LF in name", sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "x@example.com", LastName: "X\nBcc: y@example.com"}}, "line break inside field last_name"},
		{"CR in the title", sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "x@example.com", Title: "a\rb"}}, "line break inside field title"},
		{"bad field name", sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "x@example.com", Fields: map[string]string{"a b": "v"}}}, `custom field name "a b"`},
		{"NUL", sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "x@example.com", Company: "a\x00b"}}, "NUL character in field company"},
		{"unknown zone", sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "x@example.com", Timezone: "Europe/Atlantis"}}, `unknown time zone "Europe/Atlantis"`},
		{"bad date", sequencer.EnrollRequest{Sequence: "fair", Prospect: ok, FirstContact: "2026-02-30"}, `first_contact "2026-02-30" is not a valid date`},
		{"line break in date", sequencer.EnrollRequest{Sequence: "fair", Prospect: ok, FirstContact: "2026-02-03\n"}, "line break inside field first_contact"},
		{"missing field", sequencer.EnrollRequest{Sequence: "booth", Prospect: ok}, `missing custom field "booth": sequence booth uses it`},
	} {
		_, err := r.c.Enroll(context.Background(), tc.req)
		var ue *sequencer.UserError
		if !errors.As(err, &ue) || !errors.Is(err, sequencer.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an invalid-input error saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := r.st.ProspectGetByEmail(context.Background(), "x@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused enrollment stored its prospect: %v", err)
	}
}

func TestControlPauseResume(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			r.enroll("anna@example.com", "fair", nil)

			r.clock.Add(3 * 24 * time.Hour)
			paused, err := r.c.Pause(ctx, "Anna@example.com")
			if err != nil || len(paused) != 1 || paused[0].State != store.StatePaused {
				t.Fatalf("pause: %v %+v", err, paused)
			}
			e := r.view("anna@example.com").Enrollments[0]
			if e.State != store.StatePaused || e.NextSendAt != nil || e.NextStep != nil {
				t.Errorf("paused enrollment shows %+v: want nothing planned", e)
			}
			if again, err := r.c.Pause(ctx, "anna@example.com"); err != nil || len(again) != 0 {
				t.Errorf("second pause: %v %+v, want nothing paused", err, again)
			}

			// Five days paused move step 1 five days on (R5).
			r.clock.Add(5 * 24 * time.Hour)
			resumed, err := r.c.Resume(ctx, "anna@example.com")
			if err != nil || len(resumed) != 1 {
				t.Fatalf("resume: %v %+v", err, resumed)
			}
			want := ctlT0.AddDate(0, 0, 15)
			if n := resumed[0].NextSendAt; n == nil || !n.Equal(want) || resumed[0].PausedAt != nil {
				t.Errorf("resumed: next send %v, paused at %v; want %v and none", n, resumed[0].PausedAt, want)
			}
			e = r.view("anna@example.com").Enrollments[0]
			if e.State != store.StateActive || e.NextSendAt == nil || !e.NextSendAt.Equal(want) || *e.NextStep != 1 {
				t.Errorf("view after resume: %+v", e)
			}
			if r.wakes.Load() != 2 {
				t.Errorf("engine woken %d times, want 2 (enroll, resume)", r.wakes.Load())
			}

			// A reply pauses it as replied; resume works from there too.
			r.inbound("anna@example.com", "fair", store.EventReply, store.StateReplied, 1)
			if resumed, err := r.c.Resume(ctx, "anna@example.com"); err != nil || len(resumed) != 1 || resumed[0].State != store.StateActive {
				t.Errorf("resume from replied: %v %+v", err, resumed)
			}
			kinds := []store.EventKind{}
			for _, ev := range r.view("anna@example.com").Timeline {
				kinds = append(kinds, ev.Kind)
			}
			if got := fmt.Sprint(kinds); got != "[enrolled paused resumed reply resumed]" {
				t.Errorf("timeline %s", got)
			}

			for _, f := range []func(context.Context, string) ([]store.Enrollment, error){r.c.Pause, r.c.Resume} {
				if _, err := f(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) || err.Error() != "no prospect nobody@example.com" {
					t.Errorf("unknown prospect: %v", err)
				}
			}
		})
	}
}

// racingStore changes the enrollment between Resume's read and its write,
// once, as an in-flight send settling would.
type racingStore struct {
	store.Store
	raced atomic.Bool
}

func (s *racingStore) EnrollmentTransition(ctx context.Context, t store.Transition) (store.Enrollment, error) {
	if t.To == store.StateActive && s.raced.CompareAndSwap(false, true) {
		if _, err := s.Store.EnrollmentTransition(ctx, store.Transition{EnrollmentID: t.EnrollmentID,
			From: []store.State{store.StatePaused}, To: store.StatePaused, At: t.At}); err != nil {
			return store.Enrollment{}, err
		}
	}
	return s.Store.EnrollmentTransition(ctx, t)
}

func TestControlResumeRetriesAConflict(t *testing.T) {
	st := &racingStore{Store: testrig.Open(t, testrig.SQLiteURL(t))}
	r := newCtlRig(t, st)
	r.enroll("anna@example.com", "fair", nil)
	if _, err := r.c.Pause(context.Background(), "anna@example.com"); err != nil {
		t.Fatal(err)
	}
	resumed, err := r.c.Resume(context.Background(), "anna@example.com")
	if !st.raced.Load() || err != nil || len(resumed) != 1 || resumed[0].State != store.StateActive {
		t.Errorf("resume after a conflicting write: raced %v, %v, %+v", st.raced.Load(), err, resumed)
	}
}

func TestControlUnsubscribeAndForget(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			r.enroll("anna@example.com", "fair", nil)
			r.enroll("anna@example.com", "booth", func(q *sequencer.EnrollRequest) { q.Prospect.Fields = map[string]string{"booth": "B1"} })
			r.clock.Add(10 * 24 * time.Hour)
			r.sendDue()

			known, err := r.c.Unsubscribe(ctx, "ANNA@example.com", "unsubscribe link")
			if err != nil || !known {
				t.Fatalf("unsubscribe: %v %v", known, err)
			}
			v := r.view("anna@example.com")
			if !v.Prospect.Suppressed {
				t.Error("not suppressed after unsubscribe")
			}
			for _, e := range v.Enrollments {
				if e.State != store.StateUnsubscribed || e.NextSendAt != nil {
					t.Errorf("enrollment after unsubscribe: %+v", e)
				}
			}
			// Idempotent: a second click records nothing more.
			if _, err := r.c.Unsubscribe(ctx, "anna@example.com", "unsubscribe link"); err != nil {
				t.Fatal(err)
			}
			var unsubs []string
			for _, ev := range r.view("anna@example.com").Timeline {
				if ev.Kind == store.EventUnsubscribe {
					unsubs = append(unsubs, fmt.Sprintf("%s/%d/%s", ev.Sequence, ev.Step, ev.Detail))
				}
			}
			if got := strings.Join(unsubs, " "); got != "fair/1/unsubscribe link booth/1/unsubscribe link" {
				t.Errorf("unsubscribe events %q: want one per enrollment, on the step last sent", got)
			}
			st, err := r.c.Stats(ctx, "fair")
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Funnel) != 1 || st.Funnel[0].Unsubscribed != 1 || st.Enrollments[store.StateUnsubscribed] != 1 {
				t.Errorf("fair's stats after an unsubscribe: %+v", st)
			}
			if _, err := r.c.Enroll(ctx, sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "anna@example.com"}}); !errors.Is(err, store.ErrSuppressed) {
				t.Errorf("enrolling an unsubscribed address: %v", err)
			}

			// An address that is no prospect is suppressed all the same.
			if known, err := r.c.Unsubscribe(ctx, "stranger@example.com", "drip unsubscribe"); err != nil || known {
				t.Errorf("unsubscribing a stranger: %v %v", known, err)
			}
			if _, err := r.c.Enroll(ctx, sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "stranger@example.com"}}); !errors.Is(err, store.ErrSuppressed) {
				t.Errorf("enrolling a suppressed stranger: %v", err)
			}
			if _, err := r.c.Unsubscribe(ctx, "not an address", "x"); !errors.Is(err, sequencer.ErrInvalid) {
				t.Errorf("unsubscribing garbage: %v", err)
			}

			// Forget: gone from every view, still suppressed.
			r.enroll("bob@example.com", "fair", nil)
			if err := r.c.Forget(ctx, "Bob@example.com"); err != nil {
				t.Fatal(err)
			}
			if _, err := r.c.ProspectView(ctx, "bob@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("forgotten prospect still viewable: %v", err)
			}
			if sup, err := r.st.Suppressed(ctx, "bob@example.com"); err != nil || !sup {
				t.Errorf("forgotten address not suppressed: %v %v", sup, err)
			}
			if _, err := r.c.Enroll(ctx, sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "bob@example.com"}}); !errors.Is(err, store.ErrSuppressed) {
				t.Errorf("re-enrolling a forgotten address: %v", err)
			}
			if err := r.c.Forget(ctx, "bob@example.com"); !errors.Is(err, store.ErrNotFound) || err.Error() != "no prospect bob@example.com" {
				t.Errorf("forgetting twice: %v", err)
			}
		})
	}
}

func TestControlStats(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			for _, e := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
				r.enroll(e, "fair", nil)
			}
			r.clock.Add(10 * 24 * time.Hour)
			if n := len(r.sendDue()); n != 4 {
				t.Fatalf("sent %d, want 4", n)
			}
			r.inbound("a@example.com", "fair", store.EventReply, store.StateReplied, 1)
			r.inbound("b@example.com", "fair", store.EventAutoReply, "", 2)
			r.inbound("c@example.com", "fair", store.EventAutoReply, "", 3)

			st, err := r.c.Stats(ctx, "fair")
			if err != nil {
				t.Fatal(err)
			}
			want := sequencer.StepStats{Step: 1, Sent: 4, Replied: 1, AutoReplies: 2, ReplyRate: 0.25}
			if len(st.Funnel) != 1 || st.Funnel[0] != want {
				t.Errorf("funnel %+v, want [%+v]: auto-replies are not replies", st.Funnel, want)
			}
			if st.Total.Sent != 4 || st.Total.ReplyRate != 0.25 || st.Steps != 5 {
				t.Errorf("total %+v, steps %d", st.Total, st.Steps)
			}
			if st.Enrollments[store.StateActive] != 3 || st.Enrollments[store.StateReplied] != 1 || len(st.Enrollments) != len(store.States) {
				t.Errorf("enrollments by state %v", st.Enrollments)
			}
			if _, err := r.c.Stats(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("stats of an unknown sequence: %v", err)
			}
			all, err := r.c.StatsAll(ctx)
			if err != nil || len(all) != 2 || all[0].Sequence != "booth" || all[1].Sequence != "fair" {
				t.Errorf("StatsAll: %v %+v", err, all)
			}
			// The same funnel as CSV (the API's stats.csv, the web UI's funnel.csv).
			var csv strings.Builder
			if err := sequencer.WriteFunnelCSV(&csv, all...); err != nil {
				t.Fatal(err)
			}
			wantCSV := "sequence,step,sent,replied,reply_rate,auto_replies,bounced,unsubscribed,skipped,failed,unknown\n" +
				"booth,total,0,0,0.0000,0,0,0,0,0,0\n" +
				"fair,1,4,1,0.2500,2,0,0,0,0,0\n" +
				"fair,total,4,1,0.2500,2,0,0,0,0,0\n"
			if csv.String() != wantCSV {
				t.Errorf("funnel CSV:\n%s\nwant:\n%s", csv.String(), wantCSV)
			}
		})
	}
}

// TestProspectViewJSON pins the contract's GET /api/v1/prospects/{email} shape.
func TestProspectViewJSON(t *testing.T) {
	r := newCtlRig(t, testrig.Open(t, testrig.SQLiteURL(t)))
	r.enroll("anna@example.com", "fair", func(q *sequencer.EnrollRequest) {
		q.Prospect = store.Prospect{Email: "anna@example.com", FirstName: "Anna", LastName: "Bianchi", Company: "Bianchi Srl",
			MetAt: "EIMA 2026", Fields: map[string]string{"booth": "B12"}}
		q.FirstContact = "2026-11-20"
	})
	r.clock.Add(5 * 24 * time.Hour) // step 1 is due on the 30th at 00:00 Rome
	if msg := r.sendDue(); len(msg) != 0 {
		t.Fatalf("sent before due: %v", msg)
	}
	r.clock.Add(24 * time.Hour)
	var msgID string
	for _, id := range r.sendDue() {
		msgID = id
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r.view("anna@example.com")); err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(b.String())
	want := `{
  "prospect": {
    "email": "anna@example.com",
    "first_name": "Anna",
    "last_name": "Bianchi",
    "company": "Bianchi Srl",
    "title": "",
    "phone": "",
    "met_at": "EIMA 2026",
    "timezone": "Europe/Rome",
    "language": "",
    "notes": "",
    "suppressed": false,
    "fields": {
      "booth": "B12"
    },
    "basis": "",
    "basis_date": "",
    "basis_source": "",
    "country": ""
  },
  "enrollments": [
    {
      "sequence": "fair",
      "sender": "maria",
      "state": "active",
      "steps": 5,
      "last_step": 1,
      "next_step": 2,
      "next_send_at": "2026-12-10T00:00:00+01:00",
      "first_contact": "2026-11-20T00:00:00+01:00"
    }
  ],
  "timeline": [
    {
      "at": "2026-11-24T10:00:00+01:00",
      "kind": "enrolled",
      "sequence": "fair",
      "step": 0
    },
    {
      "at": "2026-11-30T10:00:00+01:00",
      "kind": "sent",
      "sequence": "fair",
      "step": 1,
      "message_id": "` + msgID + `"
    }
  ]
}`
	if got != want {
		t.Errorf("view JSON:\n%s\nwant:\n%s", got, want)
	}
}

func TestControlImport(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			if _, err := r.c.Unsubscribe(ctx, "gone@example.com", "asked"); err != nil {
				t.Fatal(err)
			}
			r.enroll("known@example.com", "fair", func(q *sequencer.EnrollRequest) { q.Prospect.Fields = map[string]string{"booth": "K1"} })
			late := ctlT0.AddDate(0, 0, -95).In(ctlRome).Format("2006-01-02")
			list := "email,first_contact,timezone,booth\n" +
				"a@example.com,,,A1\n" + // 2: now; step 1 in a day
				"b@example.com," + late + ",,B1\n" + // 3: late: due now
				"c@example.com,,America/New_York,\n" + // 4: no booth
				"gone@example.com,,,G1\n" + // 5: suppressed
				"known@example.com,,,\n" // 6: has a booth already
			sum, err := r.c.Import(ctx, strings.NewReader(list), sequencer.ImportRequest{Sequence: "booth"})
			if err != nil {
				t.Fatal(err)
			}
			if sum.String() != "imported=2 updated=1 rejected=2" {
				t.Errorf("summary %s", sum)
			}
			want := []string{`4: missing custom field "booth": sequence booth uses it in its templates`, "5: address is suppressed"}
			for i, rj := range sum.Rejects {
				if got := fmt.Sprintf("%d: %s", rj.Line, rj.Reason); i >= len(want) || got != want[i] {
					t.Errorf("reject %q, want %q", got, want)
				}
			}
			if a := r.view("a@example.com").Enrollments[0]; a.NextSendAt == nil || !a.NextSendAt.Equal(ctlT0.AddDate(0, 0, 1)) {
				t.Errorf("a's next send %v, want a day after the import", a.NextSendAt)
			}
			b := r.view("b@example.com").Enrollments[0]
			if b.NextSendAt == nil || b.NextSendAt.After(ctlT0) || *b.NextStep != 3 {
				t.Errorf("b (first contact 95 days ago): next step %v at %v, want the last step, due now", b.NextStep, b.NextSendAt)
			}
			if k := r.view("known@example.com").Enrollments; len(k) != 2 {
				t.Errorf("known prospect's enrollments %+v, want fair and booth", k)
			}
			if r.wakes.Load() != 2 {
				t.Errorf("engine woken %d times, want 2 (the enroll and the import)", r.wakes.Load())
			}

			// The file's own faults are the user's to fix.
			for _, bad := range []string{"", "name\nx\n"} {
				if _, err := r.c.Import(ctx, strings.NewReader(bad), sequencer.ImportRequest{Sequence: "booth"}); !errors.Is(err, sequencer.ErrInvalid) {
					t.Errorf("import of %q: %v, want invalid input", bad, err)
				}
			}
		})
	}
}
