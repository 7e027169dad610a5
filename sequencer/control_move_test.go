package sequencer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

func lastKind(v sequencer.ProspectView) sequencer.TimelineEntry {
	return v.Timeline[len(v.Timeline)-1]
}

func enrollmentOf(t *testing.T, v sequencer.ProspectView, sequence string) sequencer.EnrollmentView {
	t.Helper()
	for _, e := range v.Enrollments {
		if e.Sequence == sequence {
			return e
		}
	}
	t.Fatalf("%s has no enrollment in %s: %+v", v.Prospect.Email, sequence, v.Enrollments)
	return sequencer.EnrollmentView{}
}

// Unenroll ends one enrollment, leaves the others running and the
// address unsuppressed, and shows in the timeline; an ended enrollment or
// an unknown pair is refused.
func TestControlUnenroll(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			r.enroll("anna@example.com", "fair", nil)
			r.enroll("anna@example.com", "booth", func(q *sequencer.EnrollRequest) { q.Prospect.Fields = map[string]string{"booth": "B1"} })

			e, err := r.c.Unenroll(ctx, "ANNA@example.com", "fair")
			if err != nil || e.State != store.StateUnenrolled || e.NextSendAt != nil {
				t.Fatalf("unenroll: %+v %v", e, err)
			}
			v := r.view("anna@example.com")
			if f := enrollmentOf(t, v, "fair"); f.State != store.StateUnenrolled || f.NextSendAt != nil {
				t.Errorf("fair after unenroll: %+v", f)
			}
			if b := enrollmentOf(t, v, "booth"); b.State != store.StateActive || b.NextSendAt == nil {
				t.Errorf("booth must keep running: %+v", b)
			}
			if v.Prospect.Suppressed {
				t.Error("unenroll suppressed the address")
			}
			if ev := lastKind(v); ev.Kind != store.EventUnenrolled || ev.Sequence != "fair" {
				t.Errorf("last timeline entry %+v, want unenrolled in fair", ev)
			}
			// Nothing of fair is claimable any more.
			r.clock.Add(30 * 24 * time.Hour)
			sent := r.sendDue()
			if len(sent) != 1 {
				t.Errorf("%d sends after unenroll, want booth's only", len(sent))
			}

			if _, err := r.c.Unenroll(ctx, "anna@example.com", "fair"); !errors.Is(err, store.ErrConflict) {
				t.Errorf("second unenroll: %v, want a conflict", err)
			}
			if _, err := r.c.Unenroll(ctx, "anna@example.com", "webinar"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unenroll from a sequence it is not in: %v", err)
			}
			// Enrolled again later? No: the pair exists (unique); a new
			// enrollment in another sequence is fine, it is not suppressed.
			if _, err := r.c.Unenroll(ctx, "nobody@example.com", "fair"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown prospect: %v", err)
			}
		})
	}
}

// Move ends the old enrollment and starts the new one from the same first
// contact and sender; what would refuse the new one leaves the old as it
// was.
func TestControlMove(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			first := ctlT0.AddDate(0, 0, -2).In(ctlRome).Format("2006-01-02")
			r.enroll("anna@example.com", "fair", func(q *sequencer.EnrollRequest) { q.Sender, q.FirstContact = "piotr", first })
			r.enroll("bob@example.com", "fair", nil)

			// booth needs a custom field bob lacks: refused, fair untouched.
			if _, err := r.c.Move(ctx, "bob@example.com", "fair", "booth"); !errors.Is(err, sequencer.ErrInvalid) || !strings.Contains(err.Error(), `missing custom field "booth"`) {
				t.Errorf("move without the field: %v", err)
			}
			if f := enrollmentOf(t, r.view("bob@example.com"), "fair"); f.State != store.StateActive || f.NextSendAt == nil {
				t.Errorf("a refused move changed fair: %+v", f)
			}

			r.enroll("anna@example.com", "fair", func(q *sequencer.EnrollRequest) { q.Prospect.Fields = map[string]string{"booth": "A1"} })
			res, err := r.c.Move(ctx, "anna@example.com", "fair", "booth")
			if err != nil {
				t.Fatal(err)
			}
			if res.From.State != store.StateUnenrolled || res.To.Sequence != "booth" || res.To.Sender != "piotr" || len(res.Warnings) != 0 {
				t.Errorf("move result %+v", res)
			}
			v := r.view("anna@example.com")
			b := enrollmentOf(t, v, "booth")
			wantFirst := time.Date(2026, 11, 22, 0, 0, 0, 0, ctlRome)
			if !b.FirstContact.Equal(wantFirst) || b.State != store.StateActive || b.NextSendAt == nil ||
				b.NextSendAt.After(ctlT0) || *b.NextStep != 1 {
				t.Errorf("booth after the move: %+v (want first contact %v; step 1 was due a day after it: now)", b, wantFirst)
			}
			if f := enrollmentOf(t, v, "fair"); f.State != store.StateUnenrolled || f.Reason != "moved to booth" {
				t.Errorf("fair after the move: %+v", f)
			}
			for _, tc := range []struct {
				email, from, to string
				want            error
			}{
				{"anna@example.com", "fair", "booth", store.ErrConflict}, // fair has ended
				{"anna@example.com", "booth", "booth", sequencer.ErrInvalid},
				{"anna@example.com", "booth", "webinar", sequencer.ErrInvalid},
				{"bob@example.com", "booth", "fair", store.ErrNotFound},
			} {
				if _, err := r.c.Move(ctx, tc.email, tc.from, tc.to); !errors.Is(err, tc.want) {
					t.Errorf("move %s %s -> %s: %v, want %v", tc.email, tc.from, tc.to, err, tc.want)
				}
			}
		})
	}
}

// A prospect enrolled in a second running sequence is allowed with a
// warning, unless that sequence is exclusive; import and move obey the
// same rule.
func TestControlSecondSequence(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			r.enroll("anna@example.com", "fair", nil)
			res := r.enroll("anna@example.com", "booth", func(q *sequencer.EnrollRequest) { q.Prospect.Fields = map[string]string{"booth": "B"} })
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "anna@example.com is also running in sequence fair (active)") {
				t.Errorf("warnings %q", res.Warnings)
			}
			if res := r.enroll("solo@example.com", "fair", nil); len(res.Warnings) != 0 {
				t.Errorf("a first enrollment warned: %q", res.Warnings)
			}

			r.c.Config.Sequences["booth"].Exclusive = true
			r.enroll("bob@example.com", "fair", nil)
			_, err := r.c.Enroll(ctx, sequencer.EnrollRequest{Sequence: "booth",
				Prospect: store.Prospect{Email: "bob@example.com", Fields: map[string]string{"booth": "B"}}})
			if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "sequence booth is exclusive") {
				t.Errorf("exclusive sequence: %v", err)
			}
			if n := len(r.view("bob@example.com").Enrollments); n != 1 {
				t.Errorf("bob has %d enrollments after a refusal", n)
			}
			// Moving is fine: the sequence left does not count.
			if _, err := r.c.Enroll(ctx, sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: "bob@example.com", Fields: map[string]string{"booth": "B"}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.c.Move(ctx, "bob@example.com", "fair", "booth"); err != nil {
				t.Errorf("move into an exclusive sequence: %v", err)
			}

			// Import: a dry run and the import refuse the same row, and warn.
			r.c.Config.Sequences["booth"].Exclusive = false
			r.enroll("carl@example.com", "fair", nil)
			list := "email,booth\nsolo@example.com,S\ncarl@example.com,C\nnew@example.com,N\n"
			for _, dry := range []bool{true, false} {
				sum, err := r.c.Import(ctx, strings.NewReader(list), sequencer.ImportRequest{Sequence: "booth", DryRun: dry})
				if err != nil || sum.String() != "imported=1 updated=2 rejected=0" || sum.Warned != 2 ||
					sum.Warnings[0].Line != 2 || !strings.Contains(sum.Warnings[0].Reason, "solo@example.com is also running in sequence fair") {
					t.Errorf("import (dry %v): %v %+v %v", dry, sum, sum.Warnings, err)
				}
			}
			r.c.Config.Sequences["booth"].Exclusive = true
			r.enroll("dora@example.com", "fair", nil)
			list = "email,booth\ndora@example.com,D\neve@example.com,E\n"
			for _, dry := range []bool{true, false} {
				sum, err := r.c.Import(ctx, strings.NewReader(list), sequencer.ImportRequest{Sequence: "booth", DryRun: dry})
				if err != nil || sum.String() != "imported=1 updated=0 rejected=1" || !strings.Contains(sum.Rejects[0].Reason, "sequence booth is exclusive") {
					t.Errorf("exclusive import (dry %v): %v %+v %v", dry, sum, sum.Rejects, err)
				}
			}
			if n := len(r.view("dora@example.com").Enrollments); n != 1 {
				t.Errorf("dora has %d enrollments after an exclusive import refused her", n)
			}
		})
	}
}

// A corrected first contact re-plans the running enrollments: R1 from the
// new anchor, nothing sent again, R3 for what became past due; a paused one
// keeps its pause.
func TestControlReplanFirstContact(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			day := func(d time.Time) string { return d.In(ctlRome).Format("02.01.2006") }
			midnight := func(d time.Time) time.Time {
				y, m, dd := d.In(ctlRome).Date()
				return time.Date(y, m, dd, 0, 0, 0, 0, ctlRome)
			}
			// Imported with today as first contact (the mistake): step 1 in 10 days.
			list := "email;Data contatto\nanna@example.com;" + day(ctlT0) + "\npaul@example.com;" + day(ctlT0) + "\n"
			if _, err := r.c.Import(ctx, strings.NewReader(list), sequencer.ImportRequest{Sequence: "fair"}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.c.Pause(ctx, "paul@example.com"); err != nil {
				t.Fatal(err)
			}
			// Ten days on, step 1 goes out.
			r.clock.Add(10 * 24 * time.Hour)
			if n := len(r.sendDue()); n != 1 {
				t.Fatalf("%d sends, want anna's step 1", n)
			}

			// The fair was 3 days later than recorded: step 2 moves 3 days on.
			fixed := ctlT0.AddDate(0, 0, 3)
			list = "email;Data contatto\nanna@example.com;" + day(fixed) + "\npaul@example.com;" + day(fixed) + "\n"
			sum, err := r.c.Import(ctx, strings.NewReader(list), sequencer.ImportRequest{Sequence: "fair"})
			if err != nil || sum.String() != "imported=0 updated=2 rejected=0" {
				t.Fatalf("re-import: %v %v", sum, err)
			}
			v := r.view("anna@example.com")
			a := enrollmentOf(t, v, "fair")
			if want := midnight(fixed).AddDate(0, 0, 20); !a.FirstContact.Equal(midnight(fixed)) || *a.NextStep != 2 || a.NextSendAt == nil || !a.NextSendAt.Equal(want) {
				t.Errorf("anna re-planned: first contact %v, step %v at %v; want step 2 at %v (R1 from the new anchor)", a.FirstContact, a.NextStep, a.NextSendAt, want)
			}
			updated := 0
			for _, ev := range v.Timeline {
				if ev.Kind == store.EventUpdated && strings.Contains(ev.Detail, "first contact") {
					updated++
				}
			}
			if updated != 1 {
				t.Errorf("timeline %+v: want one re-plan entry", v.Timeline)
			}
			p := enrollmentOf(t, r.view("paul@example.com"), "fair")
			if p.State != store.StatePaused || p.NextSendAt != nil || !p.FirstContact.Equal(midnight(fixed)) {
				t.Errorf("paul (paused): %+v, want the new first contact and still paused", p)
			}

			// Now the fair turns out to be 40 days earlier: steps 2–4 are
			// past due; only the latest is sent (R3) and step 1 never again.
			early := ctlT0.AddDate(0, 0, -40)
			res := r.enroll("anna@example.com", "fair", func(q *sequencer.EnrollRequest) { q.FirstContact = early.Format(time.DateOnly) })
			if res.Created || len(res.Replanned) != 1 {
				t.Fatalf("enroll with a new first contact: %+v", res)
			}
			// Every step is past due but step 1 was sent just now: R4 holds
			// the next send min_gap (5 days) after it, and at that moment
			// the engine sends only the latest step (R3), skipping the rest.
			now := r.clock.Now()
			a = enrollmentOf(t, r.view("anna@example.com"), "fair")
			if want := now.AddDate(0, 0, 5); a.NextSendAt == nil || !a.NextSendAt.Equal(want) || *a.NextStep != 5 {
				t.Errorf("anna after the earlier date: step %v at %v, want step 5 at %v (R4 after step 1, R3)", *a.NextStep, a.NextSendAt, want)
			}
			p2, _ := r.st.ProspectGetByEmail(ctx, "anna@example.com")
			ens, _ := r.st.EnrollmentsByProspect(ctx, p2.ID)
			d := sequencer.Decide(ens[0], r.c.Config.Sequences["fair"], ctlRome, *a.NextSendAt)
			if d.Action != sequencer.Send || d.Step != 5 || len(d.Skip) != 3 || d.Skip[0] != 2 {
				t.Errorf("at the next send the engine decides %+v, want step 5 with 2-4 skipped (R3)", d)
			}
			sends, err := r.st.SendsByEnrollment(ctx, ens[0].ID)
			if err != nil || len(sends) != 1 || sends[0].Step != 1 {
				t.Errorf("sends %+v %v: step 1 only, never again", sends, err)
			}
		})
	}
}
