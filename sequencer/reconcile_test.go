package sequencer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// TestCompletePastEnd: a sequence shortened under running enrollments
// completes those already sent its new last step, leaves the others
// going and never touches a finished one; nothing more is sent to them.
func TestCompletePastEnd(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			r.enroll("anna@example.com", "fair", nil)
			r.enroll("bruno@example.com", "fair", nil)
			r.enroll("carla@example.com", "fair", nil)
			// Three steps for all three, 10 days apart.
			for range 3 {
				r.clock.Add(10 * 24 * time.Hour)
				if got := len(r.sendDue()); got != 3 {
					t.Fatalf("sent %d, want 3", got)
				}
			}
			if _, err := r.c.Unsubscribe(ctx, "carla@example.com", "test"); err != nil {
				t.Fatal(err)
			}
			r.enroll("dario@example.com", "fair", nil) // not sent anything yet

			seqs := ctlConfig().Sequences
			seqs["fair"].Steps = 4
			done, err := sequencer.CompletePastEnd(ctx, r.st, seqs, r.clock.Now())
			if err != nil || len(done) != 0 {
				t.Fatalf("shortened to 4 under step 3: completed %v, %v; want none", done, err)
			}
			seqs["fair"].Steps = 3
			done, err = sequencer.CompletePastEnd(ctx, r.st, seqs, r.clock.Now())
			if err != nil || done["fair"] != 2 || len(done) != 1 {
				t.Fatalf("shortened to 3 under step 3: completed %v, %v; want fair: 2", done, err)
			}
			want := map[string]store.State{"anna@example.com": store.StateCompleted, "bruno@example.com": store.StateCompleted,
				"carla@example.com": store.StateUnsubscribed, "dario@example.com": store.StateActive}
			for email, state := range want {
				if got := r.view(email).Enrollments[0].State; got != state {
					t.Errorf("%s: %s, want %s", email, got, state)
				}
			}
			// Idempotent, and nothing is due for the completed ones.
			done, err = sequencer.CompletePastEnd(ctx, r.st, seqs, r.clock.Now())
			if err != nil || len(done) != 0 {
				t.Errorf("a second pass completed %v, %v", done, err)
			}
			r.clock.Add(30 * 24 * time.Hour)
			if sent := r.sendDue(); len(sent) != 1 {
				t.Errorf("after shortening, %d enrollments were due; want only dario's", len(sent))
			}
		})
	}
}

// TestDroppedSequences: a configuration without a sequence that still has
// unfinished enrollments is refused with a line naming the sequence, the
// count and the file to keep; once they are finished it is accepted.
func TestDroppedSequences(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newCtlRig(t, testrig.Open(t, sk.URL(t)))
			ctx := context.Background()
			booth := func(q *sequencer.EnrollRequest) { q.Prospect.Fields = map[string]string{"booth": "B1"} }
			r.enroll("anna@example.com", "booth", booth)
			r.enroll("bruno@example.com", "booth", booth)
			r.enroll("anna@example.com", "fair", nil)

			full := ctlConfig()
			full.SequencesDir = "configs/sequences"
			if problems, err := sequencer.DroppedSequences(ctx, r.st, full); err != nil || len(problems) != 0 {
				t.Fatalf("every sequence configured: %v, %v", problems, err)
			}
			dropped := ctlConfig()
			dropped.SequencesDir = "configs/sequences"
			delete(dropped.Sequences, "booth")
			problems, err := sequencer.DroppedSequences(ctx, r.st, dropped)
			if err != nil || len(problems) != 1 {
				t.Fatalf("booth dropped: %v, %v; want one problem", problems, err)
			}
			for _, want := range []string{`sequence "booth" is not configured`, "2 enrollment(s)", "keep configs/sequences/booth.yaml"} {
				if !strings.Contains(problems[0], want) {
					t.Errorf("problem %q does not say %q", problems[0], want)
				}
			}
			// Finished (one paused counts as unfinished until it ends).
			if _, err := r.c.Pause(ctx, "bruno@example.com"); err != nil {
				t.Fatal(err)
			}
			if problems, _ := sequencer.DroppedSequences(ctx, r.st, dropped); len(problems) != 1 || !strings.Contains(problems[0], "2 enrollment(s)") {
				t.Errorf("with one paused: %v; want the 2 still counted", problems)
			}
			for _, email := range []string{"anna@example.com", "bruno@example.com"} {
				if _, err := r.c.Unsubscribe(ctx, email, "test"); err != nil {
					t.Fatal(err)
				}
			}
			if problems, err := sequencer.DroppedSequences(ctx, r.st, dropped); err != nil || len(problems) != 0 {
				t.Errorf("every booth enrollment finished: %v, %v; want none", problems, err)
			}
		})
	}
}
