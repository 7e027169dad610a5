package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
)

// `drip status EMAIL` of a prospect whose auto-reply said they left the
// company: the enrollment is `left`, names the successor, and the timeline
// has the left entry with the sentence it came from.
func TestStatusLeft(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "jan.nowicki@firma-pl.example", "--met-at", "Targi Kielce")
			c := e.control()
			raw := fmt.Sprintf("From: <jan.nowicki@firma-pl.example>\r\nTo: Maria Rossi <maria@example.com>\r\nDate: %s\r\n"+
				"Subject: Autoodpowiedź\r\nMessage-ID: <left.2@firma-pl.example>\r\nAuto-Submitted: auto-replied\r\n"+
				"Content-Type: text/plain; charset=utf-8\r\n\r\nPan Jan Nowicki nie pracuje już w naszej firmie. "+
				"Prosimy o kontakt z Panią Ewa Mazur: ewa.mazur@firma-pl.example\r\n", time.Now().Format(time.RFC1123Z))
			h := &sequencer.InboundHandler{Store: c.Store}
			got, err := h.Handle(context.Background(), inbound.Fetched{Sender: "maria", UIDValidity: 1, UID: 1, Raw: []byte(raw),
				Own: []string{"Maria Rossi <maria@example.com>"}})
			if err != nil || got.Kind != inbound.LabelLeft {
				t.Fatalf("handled as %s (%s), %v", got.Kind, got.Note, err)
			}
			out := e.mustDrip("status", "jan.nowicki@firma-pl.example")
			for _, want := range []string{
				"trade-fair  maria   left",
				"left the company; successor Ewa Mazur <ewa.mazur@firma-pl.example>",
				"nie pracuje już w naszej firmie",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("status lacks %q:\n%s", want, out)
				}
			}
			if out := e.mustDrip("status"); !strings.Contains(out, "left 1, unenrolled 0") {
				t.Errorf("status by state lacks the left enrollment:\n%s", out)
			}
		})
	}
}
