package sequencer_test

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// late_start end to end, on both stores: an imported prospect whose first
// contact is 3 hours back on a 5-step hourly sequence (steps 1-4 past due)
// receives step 4 first under latest (R3: 1-3 skipped), and step 1 first
// under first, then step 2 an interval later with nothing skipped. The
// import's --late-start overrides the sequence's setting.
func TestLateStartImportSendsStepOneFirst(t *testing.T) {
	cases := []struct {
		name      string
		seq       configs.LateStart // the sequence's late_start
		override  string            // the import's
		firstStep int
	}{
		{"latest keeps R3", configs.LateStartLatest, "", 4},
		{"first starts at step 1", configs.LateStartFirst, "", 1},
		{"the import's first overrides the sequence's latest", configs.LateStartLatest, "first", 1},
		{"the import's latest overrides the sequence's first", configs.LateStartFirst, "latest", 4},
	}
	for _, sk := range testrig.Backends() {
		for _, tc := range cases {
			t.Run(sk.Name+"/"+tc.name, func(t *testing.T) {
				st := testrig.Open(t, sk.URL(t))
				r := newRig(t, st, 5, smtptest.Options{})
				r.seq.Config.LateStart = tc.seq
				c := &sequencer.Control{Store: st, Clock: r.clock, Config: &configs.Config{
					Senders:   []configs.Sender{{Name: "maria", From: "Maria Rossi <maria@example.com>"}},
					Sequences: map[string]*configs.Sequence{"demo": r.seq.Config},
					Engine:    configs.Engine{ImportBatch: 100},
				}}
				first := t0.Add(-3*time.Hour - time.Minute).Format(time.RFC3339)
				sum, err := c.Import(context.Background(), strings.NewReader("email,first_name,first_contact\nlate@example.net,Zoë,"+first+"\n"),
					sequencer.ImportRequest{Sequence: "demo", LateStart: tc.override})
				if err != nil || sum.Imported != 1 {
					t.Fatalf("import: %s, %v", sum, err)
				}
				r.run(r.engine("late-start", nil))
				testrig.WaitFor(t, "the first delivery", func() bool { return r.smtp.Total() == 1 && r.settled.Load() >= 1 })
				if got, want := subjectOf(t, r.smtp.Messages()[0].Data), fmt.Sprintf("Step %d for Zoë — perché", tc.firstStep); got != want {
					t.Fatalf("first message: subject %q, want %q", got, want)
				}
				e := onlyEnrollmentOf(t, st, "late@example.net")
				sends := sendsOf(t, st, "late@example.net")
				for k := 1; k < tc.firstStep; k++ {
					if sends[k].Status != store.SendSkipped {
						t.Errorf("step %d = %q, want skipped (R3)", k, sends[k].Status)
					}
				}
				if tc.firstStep != 1 {
					return
				}
				if len(sends) != 1 || e.LastStep != 1 {
					t.Fatalf("sends %v, last step %d: want only step 1", sends, e.LastStep)
				}
				// The spacing holds from step 1: step 2 an hour later.
				r.clock.Set(t0.Add(time.Hour))
				testrig.WaitFor(t, "step 2", func() bool { return r.smtp.Total() == 2 && r.settled.Load() >= 2 })
				if got := subjectOf(t, r.smtp.Messages()[1].Data); got != "Re: Step 1 for Zoë — perché" {
					t.Fatalf("second message: subject %q, want the reply in step 1's thread", got)
				}
				if s2 := sendsOf(t, st, "late@example.net"); len(s2) != 2 || s2[2].Status != store.SendSent {
					t.Fatalf("sends %v: want steps 1 and 2 sent", s2)
				}
			})
		}
	}
}

// subjectOf is a message's decoded Subject.
func subjectOf(t *testing.T, data []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A bad --late-start is the user's to fix, before anything is read.
func TestLateStartImportRefusesABadValue(t *testing.T) {
	r := newCtlRig(t, testrig.Open(t, testrig.SQLiteURL(t)))
	_, err := r.c.Import(context.Background(), strings.NewReader("email\na@example.com\n"), sequencer.ImportRequest{Sequence: "fair", LateStart: "earliest"})
	if err == nil || !strings.Contains(err.Error(), `late_start "earliest": want latest or first`) {
		t.Fatalf("import with late_start earliest: %v", err)
	}
}

// drip enroll honours the sequence's late_start too (and so does drip
// move, which enrols in the target sequence).
func TestLateStartEnroll(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			r.c.Config.Sequences["fair"].LateStart = configs.LateStartFirst
			late := ctlT0.AddDate(0, 0, -95).In(ctlRome).Format("2006-01-02")
			r.enroll("late@example.com", "fair", func(q *sequencer.EnrollRequest) { q.FirstContact = late })
			e := r.view("late@example.com").Enrollments[0]
			if e.NextStep == nil || *e.NextStep != 1 || e.NextSendAt == nil || !e.NextSendAt.Equal(ctlT0) {
				t.Fatalf("late enrollment: next step %v at %v, want step 1 now (%v)", e.NextStep, e.NextSendAt, ctlT0)
			}
			if e.FirstContact.In(ctlRome).Format("2006-01-02") != late {
				t.Fatalf("first contact %v, want %s kept", e.FirstContact, late)
			}
		})
	}
}

// A corrected first contact of a late_start: first enrollment that has
// sent nothing yet starts it again as a new one would: step 1 on the next
// window instant, not an interval of shift later.
func TestLateStartCorrectedFirstContact(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			r.c.Config.Sequences["fair"].LateStart = configs.LateStartFirst
			day := func(d int) string { return ctlT0.AddDate(0, 0, d).In(ctlRome).Format("2006-01-02") }
			r.enroll("late@example.com", "fair", func(q *sequencer.EnrollRequest) { q.FirstContact = day(-95) })
			res := r.enroll("late@example.com", "fair", func(q *sequencer.EnrollRequest) { q.FirstContact = day(-30) })
			if len(res.Replanned) != 1 {
				t.Fatalf("re-planned %d enrollments, want 1", len(res.Replanned))
			}
			e := r.view("late@example.com").Enrollments[0]
			if e.NextStep == nil || *e.NextStep != 1 || e.NextSendAt == nil || !e.NextSendAt.Equal(ctlT0) {
				t.Fatalf("after the correction: next step %v at %v, want step 1 now (%v)", e.NextStep, e.NextSendAt, ctlT0)
			}
			if got := e.FirstContact.In(ctlRome).Format("2006-01-02"); got != day(-30) {
				t.Errorf("first contact %s, want the corrected %s", got, day(-30))
			}
			// Once a step has gone out, a correction keeps the spacing
			// from the anchor as always (R1 from the moved anchor).
			r.sendDue()
			r.enroll("late@example.com", "fair", func(q *sequencer.EnrollRequest) { q.FirstContact = day(-31) })
			e = r.view("late@example.com").Enrollments[0]
			if e.NextStep == nil || *e.NextStep != 2 || e.NextSendAt == nil || !e.NextSendAt.Equal(ctlT0.AddDate(0, 0, 9)) {
				t.Errorf("after a second correction: next step %v at %v, want step 2 nine days on", e.NextStep, e.NextSendAt)
			}
		})
	}
}
