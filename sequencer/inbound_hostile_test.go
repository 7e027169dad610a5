package sequencer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// withAuth puts Authentication-Results fields on top of raw, the first
// one topmost, as receiving servers prepend them.
func withAuth(raw []byte, fields ...string) []byte {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString("Authentication-Results: " + f + "\r\n")
	}
	return append([]byte(b.String()), raw...)
}

// proseBounce is a bounce in prose naming addrs, with no copy of the
// message it is about: anyone can write one.
func proseBounce(addrs ...string) []byte {
	var body strings.Builder
	body.WriteString("This is the mail system at host mx.evil.example.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n")
	for _, a := range addrs {
		fmt.Fprintf(&body, "<%s>: host mx.example said: 550 5.1.1 user unknown\n", a)
	}
	return inMail{from: "Mail Delivery System <MAILER-DAEMON@mx.evil.example>", subject: "Undelivered Mail Returned to Sender",
		body: body.String()}.raw()
}

// TestHostileInbound is issue 18's third acceptance point: mail anyone can
// write to the rep's mailbox suppresses nobody beyond the documented bound
// (MaxFallbackProspects), and what it would have done is flagged for a
// person to review, on both stores.
func TestHostileInbound(t *testing.T) {
	for _, b := range testrig.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := testrig.Open(t, b.URL(t))
			ctx := context.Background()
			clock := testrig.NewClock(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
			topmost := &sequencer.InboundHandler{Store: st, Clock: clock}
			gmail := &sequencer.InboundHandler{Store: st, Clock: clock, Trust: sequencer.Trust{AuthservID: "mx.google.com"}}
			uid := uint32(0)
			handle := func(t *testing.T, h *sequencer.InboundHandler, raw []byte, want string) {
				t.Helper()
				uid++
				got, err := h.Handle(ctx, inbound.Fetched{Sender: inSender, UIDValidity: 1, UID: uid, Raw: raw, Own: []string{inFrom}})
				if err != nil {
					t.Fatal(err)
				}
				if got.Kind != want {
					t.Fatalf("handled as %s (%s), want %s", got.Kind, got.Note, want)
				}
			}
			suppressed := func(t *testing.T, addrs ...string) int {
				t.Helper()
				n := 0
				for _, a := range addrs {
					s, err := st.Suppressed(ctx, a)
					if err != nil {
						t.Fatal(err)
					}
					if s {
						n++
					}
				}
				return n
			}
			// flaggedFor checks that e is flagged on its timeline, is in
			// state, and has no event of the kinds it was spared.
			flaggedFor := func(t *testing.T, e store.Enrollment, state store.State, reason string) {
				t.Helper()
				got, err := st.EnrollmentGet(ctx, e.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != state || got.Reason != reason {
					t.Errorf("%s/%s is %s (%q), want %s (%q)", e.Sequence, got.Sender, got.State, got.Reason, state, reason)
				}
				evs := inTimeline(t, st, e.ProspectID)
				if _, per := countEvents(evs, store.EventFlagged); per[e.ID] != 1 {
					t.Errorf("%d flagged entries on enrollment %d, want 1", per[e.ID], e.ID)
				}
				for _, k := range []store.EventKind{store.EventUnsubscribe, store.EventBounce, store.EventReply} {
					if n, _ := countEvents(evs, k); n > 0 {
						t.Errorf("%d %s entries on a prospect whose mail was only flagged", n, k)
					}
				}
			}
			const dmarcFail = "mx.google.com; spf=pass (google.com: domain of x@evil.example designates 192.0.2.7 as permitted sender) smtp.mailfrom=x@evil.example; dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=acciaierie.example"
			const dmarcPass = "mx.google.com; dkim=pass header.i=@evil.example; spf=pass smtp.mailfrom=evil.example; dmarc=pass header.from=evil.example"

			t.Run("forged stop request with dmarc=fail", func(t *testing.T) {
				e, _ := inSeedSent(t, st, "luca@acciaierie.example", "fair")
				handle(t, topmost, withAuth(stopRequest("en", "luca@acciaierie.example", ""), dmarcFail), inbound.LabelFlagged)
				flaggedFor(t, e, store.StatePaused, sequencer.FlaggedReason)
				if n := suppressed(t, "luca@acciaierie.example"); n != 0 {
					t.Error("a forged stop request suppressed the prospect")
				}
			})
			t.Run("forged stop request with a pass the sender wrote above the provider's fail", func(t *testing.T) {
				e, _ := inSeedSent(t, st, "marco@acciaierie.example", "fair")
				raw := withAuth(stopRequest("it", "marco@acciaierie.example", ""),
					"mail.evil.example; dmarc=pass header.from=acciaierie.example", dmarcFail)
				handle(t, gmail, raw, inbound.LabelFlagged)
				flaggedFor(t, e, store.StatePaused, sequencer.FlaggedReason)
				if n := suppressed(t, "marco@acciaierie.example"); n != 0 {
					t.Error("a forged stop request suppressed the prospect")
				}
			})
			t.Run("outsider's reply quoting a prospect's Message-ID", func(t *testing.T) {
				e, m1 := inSeedSent(t, st, "anna@ferramenta.example", "fair")
				handle(t, topmost, withAuth(humanReply("mallory@evil.example", m1), dmarcPass), inbound.LabelFlagged)
				flaggedFor(t, e, store.StatePaused, sequencer.FlaggedReason)
			})
			t.Run("outsider's stop request quoting a prospect's Message-ID", func(t *testing.T) {
				e, m1 := inSeedSent(t, st, "piotr@stal.example", "fair")
				handle(t, topmost, withAuth(stopRequest("pl", "mallory@evil.example", m1), dmarcPass), inbound.LabelFlagged)
				flaggedFor(t, e, store.StatePaused, sequencer.FlaggedReason)
				if n := suppressed(t, "piotr@stal.example", "mallory@evil.example"); n != 0 {
					t.Errorf("%d addresses suppressed by an outsider's stop request", n)
				}
			})
			t.Run("plain-text bounce without our headers", func(t *testing.T) {
				var addrs []string
				var ens []store.Enrollment
				for i := range 50 {
					a := fmt.Sprintf("buyer%02d@prose.example", i)
					addrs = append(addrs, a)
					ens = append(ens, inEnroll(t, st, a, "fair"))
				}
				handle(t, topmost, proseBounce(addrs...), inbound.LabelFlagged)
				if n := suppressed(t, addrs...); n != 0 {
					t.Errorf("%d addresses suppressed by a bounce in prose", n)
				}
				for _, e := range ens {
					flaggedFor(t, e, store.StateActive, "")
				}
			})
			t.Run("RFC 3464 report naming 10,000 enrolled addresses", func(t *testing.T) {
				const n = 10_000
				now := clock.Now()
				next := now.Add(240 * time.Hour)
				rows := make([]store.ImportRow, n)
				recips := make([][3]string, n)
				for i := range n {
					a := fmt.Sprintf("p%05d@flood.example", i)
					rows[i] = store.ImportRow{Line: i + 2, Prospect: store.Prospect{Email: a}, Sequence: "flood", Sender: inSender,
						FirstContact: now, NextSendAt: &next}
					recips[i] = [3]string{a, "5.1.1", "failed"}
				}
				res, err := st.ImportBatch(ctx, rows)
				if err != nil {
					t.Fatal(err)
				}
				handle(t, topmost, dsn("", recips...), inbound.LabelBounce)
				counts, err := st.EnrollmentCounts(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got := counts["flood"][store.StateBounced]; got != sequencer.MaxFallbackProspects {
					t.Errorf("%d enrollments bounced by one report without a message of ours, want %d", got, sequencer.MaxFallbackProspects)
				}
				if got := counts["flood"][store.StateActive]; got != n-sequencer.MaxFallbackProspects {
					t.Errorf("%d enrollments still active, want %d", got, n-sequencer.MaxFallbackProspects)
				}
				// The report is read up to its first 100 recipients: the one
				// acted on, then each other one flagged.
				flagged := 0
				for i, r := range res[:100] {
					evs := inTimeline(t, st, r.ProspectID)
					f, _ := countEvents(evs, store.EventFlagged)
					b, _ := countEvents(evs, store.EventBounce)
					switch {
					case i < sequencer.MaxFallbackProspects && b != 1:
						t.Errorf("recipient %d: %d bounce entries, want 1", i, b)
					case i >= sequencer.MaxFallbackProspects && (f != 1 || b != 0):
						t.Errorf("recipient %d: %d flagged and %d bounce entries, want 1 and 0", i, f, b)
					}
					flagged += f
				}
				if s := suppressed(t, rows[0].Prospect.Email, rows[1].Prospect.Email, rows[99].Prospect.Email, rows[n-1].Prospect.Email); s != 1 {
					t.Errorf("%d of the first, second, 100th and last addresses suppressed, want the first only", s)
				}
				t.Logf("one report naming %d enrolled addresses: %d bounced, %d flagged", n, counts["flood"][store.StateBounced], flagged)
			})
			t.Run("a report returning our message acts on its recipient only", func(t *testing.T) {
				e, m1 := inSeedSent(t, st, "gone@returned.example", "fair")
				other := inEnroll(t, st, "bystander@returned.example", "fair")
				handle(t, topmost, dsn(m1, [3]string{"gone@returned.example", "5.1.1", "failed"},
					[3]string{"bystander@returned.example", "5.1.1", "failed"}), inbound.LabelBounce)
				if got, _ := st.EnrollmentGet(ctx, e.ID); got.State != store.StateBounced {
					t.Errorf("the recipient of the returned message is %s, want bounced", got.State)
				}
				flaggedFor(t, other, store.StateActive, "")
				if n := suppressed(t, "gone@returned.example", "bystander@returned.example"); n != 1 {
					t.Errorf("%d addresses suppressed, want the returned message's recipient only", n)
				}
			})
			t.Run("a genuine stop request still unsubscribes", func(t *testing.T) {
				e, m1 := inSeedSent(t, st, "real@genuine.example", "fair")
				raw := withAuth(stopRequest("en", "real@genuine.example", m1),
					"mx.google.com; dkim=pass header.i=@genuine.example; spf=pass smtp.mailfrom=genuine.example; dmarc=pass header.from=genuine.example")
				handle(t, gmail, raw, inbound.LabelUnsubscribe)
				if got, _ := st.EnrollmentGet(ctx, e.ID); got.State != store.StateUnsubscribed {
					t.Errorf("enrollment is %s, want unsubscribed", got.State)
				}
				if n := suppressed(t, "real@genuine.example"); n != 1 {
					t.Error("a genuine stop request did not suppress")
				}
			})
		})
	}
}

// TestUnsuppressAfterBoundedBounce: the one prospect a report without a
// message of ours may bounce is written to again after `drip unsuppress`
// (Control.Unsuppress) and resume, by a real engine over SMTP; the
// prospects it flagged were never stopped.
func TestUnsuppressAfterBoundedBounce(t *testing.T) {
	for _, b := range testrig.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := testrig.Open(t, b.URL(t))
			ctx := context.Background()
			r := newRig(t, st, 2, smtptest.Options{})
			emails := r.enroll(3)
			h := &sequencer.InboundHandler{Store: st, Clock: r.clock}
			var recips [][3]string
			for _, a := range emails {
				recips = append(recips, [3]string{a, "5.1.1", "failed"})
			}
			got, err := h.Handle(ctx, inbound.Fetched{Sender: "maria", UIDValidity: 1, UID: 1, Raw: dsn("", recips...)})
			if err != nil || got.Kind != inbound.LabelBounce {
				t.Fatalf("report handled as %s, %v", got.Kind, err)
			}
			if s := r.states(); s[store.StateBounced] != 1 || s[store.StateActive] != 2 {
				t.Fatalf("after the report: %v, want 1 bounced and 2 active", s)
			}
			c := &sequencer.Control{Store: st, Clock: r.clock,
				Config: &configs.Config{Sequences: map[string]*configs.Sequence{"demo": r.seq.Config}}}
			if _, err := c.Unsuppress(ctx, emails[0], "bounce report without our headers"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Resume(ctx, emails[0]); err != nil {
				t.Fatal(err)
			}
			r.run(r.engine("a", nil))
			testrig.WaitFor(t, "step 1 delivered to all three", func() bool {
				for _, a := range emails {
					if r.smtp.Count(a) < 1 {
						return false
					}
				}
				return true
			})
			evs := inTimeline(t, st, mustProspect(t, st, emails[0]).ID)
			if n, _ := countEvents(evs, store.EventUnsuppressed); n == 0 {
				t.Error("no unsuppressed entry on the timeline")
			}
		})
	}
}

func mustProspect(t testing.TB, st store.Store, email string) store.Prospect {
	t.Helper()
	p, err := st.ProspectGetByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
