package imapwatch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

type fixedNow time.Time

func (f fixedNow) Now() time.Time { return time.Time(f) }

// TestDovecotOutOfOfficeDefers (R5b), against a real Dovecot, on both
// stores: an out-of-office reply saying its writer returns in 20 days
// defers the next step to the first window instant after the return; one
// returning before the next step changes nothing; a human reply during
// the deferral pauses as before.
func TestDovecotOutOfOfficeDefers(t *testing.T) {
	addr, user, password := dovecot(t)
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 8, 6, 9, 0, 0, 0, rome) // a Thursday; drip's clock
	seq := &configs.Sequence{Name: "trade-fair", Steps: 60, Timezone: "Europe/Rome", Location: rome,
		Interval: configs.Span{Days: 10}, FirstStepAfter: configs.Span{Days: 10},
		Window: &configs.Window{Days: []configs.Weekday{2, 3, 4}, From: 9*60 + 30, To: 10*60 + 30}}
	anchor := time.Date(2026, 7, 23, 9, 30, 0, 0, rome)
	planned := time.Date(2026, 8, 12, 9, 30, 0, 0, rome) // step 2: Wednesday 12 August, in the window
	sentAt := time.Date(2026, 8, 4, 9, 30, 0, 0, rome)

	for _, b := range testrig.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			c, mailbox := dovecotMailbox(t, addr, user, password)

			st := testrig.Open(t, b.URL(t))
			ctx := context.Background()
			enrol := func(email string) store.Enrollment {
				t.Helper()
				p := store.Prospect{Email: email, FirstName: "Test", Timezone: "Europe/Rome"}
				if _, err := st.ProspectUpsert(ctx, &p); err != nil {
					t.Fatal(err)
				}
				e := store.Enrollment{ProspectID: p.ID, Sequence: seq.Name, Sender: senderName, State: store.StateActive,
					FirstContact: anchor, Anchor: anchor, LastStep: 1, LastSentAt: &sentAt, NextSendAt: &planned, CreatedAt: anchor}
				if _, err := st.EnrollmentCreate(ctx, &e); err != nil {
					t.Fatal(err)
				}
				return e
			}
			away, short := enrol("giulia.away@officine.example"), enrol("marco.short@officine.example")

			host, port := splitHostPort(t, addr)
			cfg := testConfig(host, port, "instance-a")
			cfg.Username, cfg.Password, cfg.Mailbox = user, password, mailbox
			cfg.Poll = 200 * time.Millisecond
			h := &sequencer.InboundHandler{Store: st, Clock: fixedNow(now), Sequences: map[string]*configs.Sequence{seq.Name: seq}}
			r := start(t, cfg, h, nil)
			testrig.WaitFor(t, "watcher connected to Dovecot", r.w.Connected)

			// 20 days after the message: back on Wednesday 26 August.
			appendTo(t, c, mailbox, autoReplyAt("Giulia Away <giulia.away@officine.example>", now,
				"Risposta automatica: Valvole a sfera", "Buongiorno,\nsono in ferie e rientrerò in ufficio il 26 agosto.\nCordiali saluti\nGiulia"))
			// Back on Monday 10 August, before step 2.
			appendTo(t, c, mailbox, autoReplyAt("Marco Short <marco.short@officine.example>", now,
				"Out of Office: Valvole a sfera", "I am out of the office until Sunday 9 August and will be back on Monday 10 August."))
			testrig.WaitFor(t, "both auto-replies handled", func() bool { return len(r.handledList()) >= 2 })

			got := enrollment(t, st, away.ID)
			want := time.Date(2026, 8, 26, 9, 30, 0, 0, rome)
			if got.State != store.StateActive || got.NextSendAt == nil || !got.NextSendAt.Equal(want) {
				t.Fatalf("away 20 days: %s, next_send_at %v, want active at the window's first instant %v", got.State, got.NextSendAt, want)
			}
			if next := sequencer.Plan(got, seq, rome, now); next == nil || !next.Equal(want) {
				t.Errorf("the rules plan step 2 at %v, the store says %v", next, got.NextSendAt)
			}
			evs := timeline(t, st, away.ProspectID)
			if k := kinds(evs); k[store.EventDeferred] != 1 || k[store.EventAutoReply] != 1 {
				t.Errorf("timeline kinds %v, want one auto_reply and one deferred", k)
			}
			for _, ev := range evs {
				if ev.Kind == store.EventDeferred && (!strings.Contains(ev.Detail, "2026-08-26") || !strings.Contains(ev.Detail, "rientrerò in ufficio il 26 agosto")) {
					t.Errorf("deferred entry %q lacks the date or its sentence", ev.Detail)
				}
			}
			if got := enrollment(t, st, short.ID); got.NextSendAt == nil || !got.NextSendAt.Equal(planned) || !got.Anchor.Equal(anchor) {
				t.Errorf("back before step 2: next_send_at %v anchor %v, want unchanged %v", got.NextSendAt, got.Anchor, planned)
			}
			byKind := map[string]int{}
			for _, h := range r.handledList() {
				byKind[h.Kind]++
			}
			if byKind[KindDeferred] != 1 || byKind[KindAutoReply] != 1 {
				t.Errorf("handled %v, want one deferred and one auto_reply", byKind)
			}

			appendTo(t, c, mailbox, humanReply("Giulia Away <giulia.away@officine.example>", ""))
			testrig.WaitFor(t, "the reply handled", func() bool { return len(r.handledList()) >= 3 })
			if got := enrollment(t, st, away.ID); got.State != store.StateReplied || got.NextSendAt != nil {
				t.Errorf("a reply during the deferral: %s, next_send_at %v; want replied, nothing planned", got.State, got.NextSendAt)
			}
		})
	}
}

// autoReplyAt is an RFC 3834 auto-reply from `from`, dated at.
func autoReplyAt(from string, at time.Time, subject, body string) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nDate: %s\r\nSubject: %s\r\nMessage-ID: <ooo.%d@officine.example>\r\n"+
		"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		from, ourFrom, at.Format(time.RFC1123Z), subject, seedSerial.Add(1), strings.ReplaceAll(body, "\n", "\r\n")))
}
