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
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// oooMail is an auto-reply from addr written at sent with body.
func oooMail(addr string, sent time.Time, subject, body string) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nDate: %s\r\nSubject: %s\r\nMessage-ID: <ooo.%d@prospect.example>\r\n"+
		"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		addr, inFrom, sent.Format(time.RFC1123Z), subject, inSerial.Add(1), strings.ReplaceAll(body, "\n", "\r\n")))
}

// TestAbsence: on both stores, through the inbound handler, an
// out-of-office reply with a return date defers the enrollment to the
// first window instant after the return (R5b) with a `deferred` entry
// giving the date and its sentence; one returning before the next step,
// or giving no date, changes nothing; a human reply afterwards still
// pauses; "left the company" ends every running enrollment `left` with
// the successor, unsuppressed.
func TestAbsence(t *testing.T) {
	now := at(rome, 2026, 8, 6, 9, 0) // a Thursday
	fair := withSeq(tradeFair(), func(s *configs.Sequence) {
		s.Name, s.Window = "fair", mustWindow("tue,wed,thu", "09:30", "10:30")
	})
	booth := withSeq(tradeFair(), func(s *configs.Sequence) { s.Name = "booth" })
	seqs := map[string]*configs.Sequence{"fair": fair, "booth": booth}
	anchor := at(rome, 2026, 7, 23, 9, 30)  // step 2 nominally on Wednesday 12 August, 09:30
	planned := at(rome, 2026, 8, 12, 9, 30) // ... inside the window
	sentAt := at(rome, 2026, 8, 4, 9, 30)

	for _, b := range testrig.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := testrig.Open(t, b.URL(t))
			ctx := context.Background()
			h := &sequencer.InboundHandler{Store: st, Clock: fixedClock{now}, Sequences: seqs}
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
			enrol := func(email, seq string) store.Enrollment {
				t.Helper()
				p, err := st.ProspectGetByEmail(ctx, email)
				if err != nil {
					p = store.Prospect{Email: email, FirstName: "Test", Timezone: "Europe/Rome"}
					if _, err := st.ProspectUpsert(ctx, &p); err != nil {
						t.Fatal(err)
					}
				}
				e := store.Enrollment{ProspectID: p.ID, Sequence: seq, Sender: inSender, State: store.StateActive,
					FirstContact: anchor, Anchor: anchor, LastStep: 1, LastSentAt: &sentAt, NextSendAt: &planned, CreatedAt: anchor}
				if _, err := st.EnrollmentCreate(ctx, &e); err != nil {
					t.Fatal(err)
				}
				return e
			}
			get := func(e store.Enrollment) store.Enrollment {
				t.Helper()
				got, err := st.EnrollmentGet(ctx, e.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}

			t.Run("return after the next step defers it, a reply then pauses", func(t *testing.T) {
				e := enrol("away@prospect.example", "fair")
				got := handle(oooMail("away@prospect.example", now, "Risposta automatica: Valvole",
					"Buongiorno,\nsono assente fino al 21/08 con accesso limitato alla posta.\nCordiali saluti"))
				if got.Kind != inbound.LabelDeferred {
					t.Fatalf("handled as %s (%s)", got.Kind, got.Note)
				}
				d := get(e)
				// Back on Saturday 22 August: the window's next instant is Tuesday 25 at 09:30.
				want := at(rome, 2026, 8, 25, 9, 30)
				if d.State != store.StateActive || d.NextSendAt == nil || !d.NextSendAt.Equal(want) {
					t.Fatalf("after the out-of-office: %s, next_send_at %v, want active at %v", d.State, d.NextSendAt, want)
				}
				if next := sequencer.Plan(d, fair, rome, now); next == nil || !next.Equal(want) {
					t.Fatalf("the rules plan step 2 at %v, the store says %v", next, d.NextSendAt)
				}
				evs := inTimeline(t, st, e.ProspectID)
				var detail string
				for _, ev := range evs {
					if ev.Kind == store.EventDeferred && ev.EnrollmentID == e.ID {
						detail = ev.Detail
					}
				}
				if !strings.Contains(detail, "2026-08-22") || !strings.Contains(detail, "sono assente fino al 21/08") {
					t.Errorf("deferred entry %q, want the date read and its sentence", detail)
				}
				if n, _ := countEvents(evs, store.EventAutoReply); n != 1 {
					t.Errorf("%d auto_reply entries, want 1", n)
				}
				if got := handle(humanReply("away@prospect.example", "")); got.Kind != inbound.LabelReply {
					t.Fatalf("reply handled as %s (%s)", got.Kind, got.Note)
				}
				if d := get(e); d.State != store.StateReplied || d.NextSendAt != nil {
					t.Fatalf("after a reply during the deferral: %s, next %v, want replied with nothing planned", d.State, d.NextSendAt)
				}
			})

			t.Run("return before the next step changes nothing", func(t *testing.T) {
				e := enrol("short@prospect.example", "fair")
				got := handle(oooMail("short@prospect.example", now, "Risposta automatica",
					"Sono assente fino al 10/08, rientrerò l'11 agosto."))
				if got.Kind != inbound.LabelAutoReply {
					t.Fatalf("handled as %s (%s)", got.Kind, got.Note)
				}
				if d := get(e); !d.NextSendAt.Equal(planned) || !d.Anchor.Equal(anchor) || d.Version != e.Version {
					t.Fatalf("enrollment changed: next %v anchor %v version %d→%d", d.NextSendAt, d.Anchor, e.Version, d.Version)
				}
				if n, _ := countEvents(inTimeline(t, st, e.ProspectID), store.EventDeferred); n != 0 {
					t.Errorf("%d deferred entries", n)
				}
			})

			t.Run("no date: recorded, the sequence goes on", func(t *testing.T) {
				e := enrol("nodate@prospect.example", "fair")
				got := handle(oooMail("nodate@prospect.example", now, "Automatic reply",
					"I am out of the office with limited access to email."))
				if got.Kind != inbound.LabelAutoReply {
					t.Fatalf("handled as %s (%s)", got.Kind, got.Note)
				}
				if d := get(e); !d.NextSendAt.Equal(planned) || d.State != store.StateActive {
					t.Fatalf("enrollment changed: %s next %v", d.State, d.NextSendAt)
				}
			})

			t.Run("left the company ends every enrollment left, with the successor", func(t *testing.T) {
				e := enrol("jan.nowicki@firma-pl.example", "fair")
				other := enrol("jan.nowicki@firma-pl.example", "booth")
				got := handle(oooMail("jan.nowicki@firma-pl.example", now, "Autoodpowiedź",
					"Dzień dobry,\nPan Jan Nowicki nie pracuje już w naszej firmie. W sprawach handlowych prosimy o kontakt z Panią Ewą Mazur: ewa.mazur@firma-pl.example\n\nZ poważaniem"))
				if got.Kind != inbound.LabelLeft {
					t.Fatalf("handled as %s (%s)", got.Kind, got.Note)
				}
				evs := inTimeline(t, st, e.ProspectID)
				_, per := countEvents(evs, store.EventLeft)
				for _, en := range []store.Enrollment{e, other} {
					d := get(en)
					if d.State != store.StateLeft || d.NextSendAt != nil || d.Successor.Email != "ewa.mazur@firma-pl.example" {
						t.Errorf("%s: %s next %v successor %+v, want left with ewa.mazur@", en.Sequence, d.State, d.NextSendAt, d.Successor)
					}
					if per[en.ID] != 1 {
						t.Errorf("%s: %d left entries, want 1", en.Sequence, per[en.ID])
					}
				}
				if n, _ := countEvents(evs, store.EventAutoReply); n != 0 {
					t.Errorf("%d auto_reply entries beside the left ones", n)
				}
				if sup, err := st.Suppressed(ctx, "jan.nowicki@firma-pl.example"); err != nil || sup {
					t.Errorf("suppressed = %v (%v), want not suppressed", sup, err)
				}
			})
		})
	}
}
