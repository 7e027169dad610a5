package sequencer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// heldGauge is drip_sender_held{sender, reason} as scraped from reg.
func heldGauge(t *testing.T, reg *prometheus.Registry, sender, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "drip_sender_held" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["sender"] == sender && labels["reason"] == reason {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no drip_sender_held{sender=%q, reason=%q}", sender, reason)
	return 0
}

// Issue 13.5: a mailbox's list where 1 in 10 recipients does not exist
// (550 5.1.1 at RCPT). With the breaker's defaults (more than 5 % of the
// last 100 sends bounced, judged from 20 sends on) it trips at the 20th
// send, the list's second bounce: no further send from that mailbox, no
// enrollment fails (the two bounced are the prospects' own R7), the
// metric says so; after drip sender resume sending goes on, and the
// bounces that tripped it do not trip it again.
func TestBreakerTripsOnABouncingList(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			r := newRig(t, st, 1, smtptest.Options{})
			ctx := context.Background()
			emails := r.enroll(35)
			var unknown []string
			for i := 9; i < len(emails); i += 10 {
				unknown = append(unknown, emails[i])
			}
			r.smtp.SetFault(smtptest.UnknownUser(unknown...))
			eng := r.engine("breaker", func(o *sequencer.Options) {
				o.Workers = 1 // one send at a time: the point it trips is exact
			})
			reg := prometheus.NewRegistry()
			sequencer.NewStoreGauges(reg, st, r.clock, []*sequencer.Sender{r.sender}, 0)
			r.run(eng)
			eng.Wake()

			testrig.WaitFor(t, "the breaker tripped", func() bool {
				holds, err := st.SenderHolds(ctx, r.clock.Now())
				return err == nil && len(holds) == 1 && holds[0].Reason == store.HoldBreaker
			})
			holds, _ := st.SenderHolds(ctx, r.clock.Now())
			t.Logf("held: %s", holds[0].Detail)
			// Everything due is planned past the hold, once the claims
			// have passed over the sender's steps.
			testrig.WaitFor(t, "the held sender's steps planned after the hold", func() bool {
				for _, e := range emails[20:] {
					en := onlyEnrollmentOf(t, st, e)
					if en.NextSendAt == nil || !en.NextSendAt.After(r.clock.Now().Add(24*time.Hour)) {
						return false
					}
				}
				return true
			})
			attempted := 0
			for _, e := range emails {
				if s, ok := sendsOf(t, st, e)[1]; ok && s.Status != store.SendRetry {
					attempted++
				}
			}
			if attempted != 20 || r.smtp.Total() != 18 {
				t.Fatalf("%d attempted, %d accepted when it tripped; want 20 and 18 (trips at the 20th send, the second bounce)", attempted, r.smtp.Total())
			}
			if got := r.states(); got[store.StateBounced] != 2 || got[store.StateActive] != 15 || got[store.StateFailed] != 0 {
				t.Fatalf("states %v; want 2 bounced (their own addresses), 15 active, none failed", got)
			}
			if g := heldGauge(t, reg, "maria", store.HoldBreaker); g != 1 {
				t.Errorf("drip_sender_held{reason=breaker} = %v, want 1", g)
			}

			// A day later, nothing more from that mailbox.
			r.clock.Add(24 * time.Hour)
			eng.Wake()
			testrig.WaitFor(t, "a claim after a day", func() bool {
				holds, err := st.SenderHolds(ctx, r.clock.Now())
				return err == nil && len(holds) == 1
			})
			if r.smtp.Total() != 18 {
				t.Fatalf("%d accepted while the breaker holds the sender, want 18", r.smtp.Total())
			}

			// drip sender resume: the rest goes out (one more unknown
			// address among 15 sends: under min_sends, no new trip).
			cfg := &configs.Config{Senders: []configs.Sender{{Name: "maria"}}}
			c := &sequencer.Control{Store: st, Clock: r.clock, Config: cfg, Wake: eng.Wake}
			if lifted, err := c.SenderResume(ctx, "maria"); err != nil || lifted.Reason != store.HoldBreaker {
				t.Fatalf("SenderResume = %+v, %v", lifted, err)
			}
			testrig.WaitFor(t, "the rest sent after resume", func() bool { return r.smtp.Total() == 18+14 })
			testrig.WaitFor(t, "the rest recorded", func() bool {
				got := r.states()
				return got[store.StateCompleted] == 32 && got[store.StateBounced] == 3
			})
			if holds, err := st.SenderHolds(ctx, r.clock.Now()); err != nil || len(holds) != 0 {
				t.Errorf("holds after resume: %+v, %v; want none", holds, err)
			}
			if g := heldGauge(t, reg, "maria", store.HoldBreaker); g != 0 {
				t.Errorf("drip_sender_held{reason=breaker} = %v after resume, want 0", g)
			}
			for _, e := range emails {
				if n := r.smtp.Count(e); n > 1 {
					t.Errorf("%s received %d", e, n)
				}
			}
		})
	}
}

// A personal mailbox's server takes any recipient and reports the unknown
// ones later by mail: those bounce reports trip the breaker as well, at
// the same point (the second of twenty sends), and only once the report
// is recorded.
func TestBreakerTripsOnBounceReportsByMail(t *testing.T) {
	for _, b := range testrig.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := testrig.Open(t, b.URL(t))
			ctx := context.Background()
			h := &sequencer.InboundHandler{Store: st, Breakers: &sequencer.Breakers{Store: st,
				Protect: map[string]configs.Shield{inSender: {}}}}
			var ids []string
			var emails []string
			for i := range 20 {
				email := fmt.Sprintf("dsn%02d@ferrovalvole.example", i)
				_, id := inSeedSent(t, st, email, "fiera")
				ids, emails = append(ids, id), append(emails, email)
			}
			held := func() []store.SenderHold {
				holds, err := st.SenderHolds(ctx, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				return holds
			}
			for n, i := range []int{9, 19} {
				got, err := h.Handle(ctx, inbound.Fetched{Sender: inSender, UIDValidity: 7, UID: uint32(n + 1),
					Raw: dsn(ids[i], [3]string{emails[i], "5.1.1", "failed"}), Own: []string{inFrom}})
				if err != nil || got.Kind != inbound.LabelBounce {
					t.Fatalf("bounce report %d: %+v, %v", n+1, got, err)
				}
				if hs := held(); n == 0 && len(hs) != 0 {
					t.Fatalf("held after one bounce of twenty: %+v", hs)
				}
			}
			hs := held()
			if len(hs) != 1 || hs[0].Sender != inSender || hs[0].Reason != store.HoldBreaker {
				t.Fatalf("holds after two bounce reports of twenty sends: %+v; want %s held for its breaker", hs, inSender)
			}
		})
	}
}
