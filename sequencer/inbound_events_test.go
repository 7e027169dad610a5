package sequencer_test

import (
	"context"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// TestOneEventPerStop: a stop request, a bounce and a hand unsubscribe
// each leave exactly one event of their kind on the prospect's timeline
// per enrollment they end, on both stores (before, a stop request left two
// unsubscribe entries: one from the message, one the store made up).
func TestOneEventPerStop(t *testing.T) {
	for _, b := range testrig.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := testrig.Open(t, b.URL(t))
			ctx := context.Background()
			h := &sequencer.InboundHandler{Store: st}
			uid := uint32(0)
			handle := func(raw []byte) inbound.Handled {
				t.Helper()
				uid++
				got, err := h.Handle(ctx, inbound.Fetched{Sender: inSender, UIDValidity: 7, UID: uid, Raw: raw, Own: []string{inFrom}})
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			// one checks the enrollment ended in state with one event of kind.
			one := func(t *testing.T, e store.Enrollment, state store.State, kind store.EventKind, step int) {
				t.Helper()
				got, err := st.EnrollmentGet(ctx, e.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != state {
					t.Errorf("enrollment %s is %s, want %s", e.Sequence, got.State, state)
				}
				evs := inTimeline(t, st, e.ProspectID)
				total, per := countEvents(evs, kind)
				if per[e.ID] != 1 {
					t.Errorf("%d %s events on enrollment %s (%d on the timeline), want 1", per[e.ID], kind, e.Sequence, total)
				}
				for _, ev := range evs {
					if ev.Kind == kind && ev.EnrollmentID == e.ID && ev.Step != step {
						t.Errorf("%s event of %s at step %d, want %d", kind, e.Sequence, ev.Step, step)
					}
				}
			}

			t.Run("stop request", func(t *testing.T) {
				e, m1 := inSeedSent(t, st, "stop@prospect.example", "fair")
				other := inEnroll(t, st, "stop@prospect.example", "webinar")
				if got := handle(stopRequest("it", "stop@prospect.example", m1)); got.Kind != inbound.LabelUnsubscribe {
					t.Fatalf("handled as %s (%s)", got.Kind, got.Note)
				}
				one(t, e, store.StateUnsubscribed, store.EventUnsubscribe, 1)
				one(t, other, store.StateUnsubscribed, store.EventUnsubscribe, 0)
				if n, _ := countEvents(inTimeline(t, st, e.ProspectID), store.EventUnsubscribe); n != 2 {
					t.Errorf("%d unsubscribe events for two enrollments", n)
				}
			})
			t.Run("bounce", func(t *testing.T) {
				e, m1 := inSeedSent(t, st, "gone@prospect.example", "fair")
				other := inEnroll(t, st, "gone@prospect.example", "webinar")
				if got := handle(dsn(m1, [3]string{"gone@prospect.example", "5.1.1", "failed"})); got.Kind != inbound.LabelBounce {
					t.Fatalf("handled as %s (%s)", got.Kind, got.Note)
				}
				one(t, e, store.StateBounced, store.EventBounce, 1)
				one(t, other, store.StateBounced, store.EventBounce, 0)
			})
			t.Run("hand unsubscribe", func(t *testing.T) {
				e, _ := inSeedSent(t, st, "hand@prospect.example", "fair")
				other := inEnroll(t, st, "hand@prospect.example", "webinar")
				c := &sequencer.Control{Store: st}
				if known, err := c.Unsubscribe(ctx, "hand@prospect.example", "asked on the phone"); err != nil || !known {
					t.Fatalf("Unsubscribe = %v, %v", known, err)
				}
				one(t, e, store.StateUnsubscribed, store.EventUnsubscribe, 1)
				one(t, other, store.StateUnsubscribed, store.EventUnsubscribe, 0)
				// Again: nothing more.
				if _, err := c.Unsubscribe(ctx, "hand@prospect.example", "asked again"); err != nil {
					t.Fatal(err)
				}
				if n, _ := countEvents(inTimeline(t, st, e.ProspectID), store.EventUnsubscribe); n != 2 {
					t.Errorf("%d unsubscribe events after a second unsubscribe, want still 2", n)
				}
			})
		})
	}
}
