package sequencer_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// Issue 13.1: 200 steps due at one window opening for one mailbox paced
// 60–180 s. On the injected clock, moved to each turn the store says the
// mailbox has: every gap between two of its sends lies in [60 s, 180 s],
// the longest-due step goes first, and none is skipped for its wait (R3)
// though a second step falls due for many while they wait. On PostgreSQL
// two engines share the store: the same holds for the union of their
// sends.
func TestPaceSpacesOneMailboxsSendsOverEveryInstance(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			r := newRig(t, st, 2, smtptest.Options{})
			ctx := context.Background()
			seq := r.seq.Config
			// Step 2 9h40m after step 1: after the opening for all, and
			// for most due long before their step 1's turn comes.
			seq.Interval = configs.Span{Dur: 9*time.Hour + 40*time.Minute}
			seq.Window = mustWindow("", "09:30", "23:30")
			opening := at(time.UTC, 2026, 11, 24, 9, 30)
			r.clock.Set(opening)
			pace := &configs.Pace{Min: configs.Span{Dur: 60 * time.Second}, Max: configs.Span{Dur: 180 * time.Second}}
			maria, err := sequencer.NewSender(&configs.Sender{Name: "maria", From: "Maria Rossi <maria@example.com>", Pace: pace}, r.pool)
			if err != nil {
				t.Fatal(err)
			}

			// Found due at the opening (the night's list, planned before
			// its window was set): step 1 of prospect i was due at 00:00 +
			// i minutes. Enrolled in a shuffled order, so that the order
			// of the rows is not the order of their due times.
			const n = 200
			due := map[string]time.Time{}
			order := make([]int, n)
			for i := range order {
				order[i] = (i * 7) % n // 7 is prime to 200: a permutation
			}
			for _, i := range order {
				p := store.Prospect{Email: fmt.Sprintf("night%03d@example.net", i), FirstName: "Ola"}
				if _, err := st.ProspectUpsert(ctx, &p); err != nil {
					t.Fatal(err)
				}
				a := at(time.UTC, 2026, 11, 24, 0, 0).Add(time.Duration(i) * time.Minute)
				e := store.Enrollment{ProspectID: p.ID, Sequence: "demo", Sender: "maria", State: store.StateActive,
					FirstContact: a, Anchor: a, NextSendAt: &a}
				if _, err := st.EnrollmentCreate(ctx, &e); err != nil {
					t.Fatal(err)
				}
				due[p.Email] = a
			}

			owners := []string{"one"}
			if sk.Name == "postgres" {
				owners = append(owners, "two")
			}
			var engines []*sequencer.Engine
			for _, o := range owners {
				eng := r.engine(o, func(o *sequencer.Options) {
					o.Senders = map[string]*sequencer.Sender{"maria": maria}
					o.Batch = 32
				})
				r.run(eng)
				engines = append(engines, eng)
			}
			wake := func() {
				for _, e := range engines {
					e.Wake()
				}
			}
			wake()
			for k := 1; k <= n; k++ {
				testrig.WaitFor(t, fmt.Sprintf("send %d", k), func() bool { return r.smtp.Total() >= k })
				if got := r.smtp.Total(); got != k {
					t.Fatalf("%d sends at %s, want %d: a send before the mailbox's turn", got, r.clock.Now().Format(time.TimeOnly), k)
				}
				if k == n {
					break
				}
				var turn time.Time
				testrig.WaitFor(t, fmt.Sprintf("the turn after send %d", k), func() bool {
					ps, err := st.SenderPaces(ctx)
					if err != nil || len(ps) != 1 {
						return false
					}
					turn = ps[0].NotBefore
					return turn.After(r.clock.Now())
				})
				r.clock.Set(turn)
				wake()
			}

			// The union of the sends, in the order they started.
			type sent struct {
				email string
				at    time.Time
			}
			var all []sent
			testrig.WaitFor(t, "every step 1 recorded", func() bool {
				all = all[:0]
				for email := range due {
					s := sendsOf(t, st, email)[1]
					if s.Status != store.SendSent || s.StartedAt == nil {
						return false
					}
					all = append(all, sent{email, *s.StartedAt})
				}
				return true
			})
			sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
			for i := 1; i < len(all); i++ {
				if gap := all[i].at.Sub(all[i-1].at); gap < time.Minute || gap > 3*time.Minute {
					t.Errorf("sends %d and %d from maria %v apart, outside [1m, 3m]", i, i+1, gap)
				}
			}
			for i := 1; i < len(all); i++ {
				if due[all[i].email].Before(due[all[i-1].email]) {
					t.Errorf("not longest-due first: send %d to %s (due %s) before send %d to %s (due %s)",
						i, all[i-1].email, due[all[i-1].email].Format(time.TimeOnly), i+1, all[i].email, due[all[i].email].Format(time.TimeOnly))
				}
			}
			// None skipped: step 2 of the last ones fell due hours before
			// their step 1 went out.
			last := all[len(all)-1]
			if step2 := due[last.email].Add(seq.Interval.Dur); !step2.Before(last.at) {
				t.Fatalf("the test's premise: step 2 of %s due %v, not before its step 1 went out %v", last.email, step2, last.at)
			}
			r.mu.Lock()
			outs := slices.Clone(r.outs)
			r.mu.Unlock()
			for _, o := range outs {
				if o.Status == store.SendSkipped || o.Status == store.SendFailed {
					t.Errorf("%s step %d: %s", o.Email, o.Step, o.Status)
				}
			}
			for _, email := range []string{all[0].email, last.email} {
				if s := sendsOf(t, st, email); len(s) != 1 {
					t.Errorf("%s has send rows %v, want step 1 only so far (nothing skipped)", email, s)
				}
			}
		})
	}
}
