package api_test

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

// leftReply is an auto-reply from addr saying its writer left the company
// and naming Ewa Mazur as who took over.
func leftReply(addr string, at time.Time) []byte {
	return []byte(fmt.Sprintf("From: <%s>\r\nTo: Maria <maria@example.com>\r\nDate: %s\r\nSubject: Autoodpowiedź\r\n"+
		"Message-ID: <left.1@firma-pl.example>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\nDzień dobry,\r\nPan Jan Nowicki nie pracuje już w naszej firmie. "+
		"W sprawach handlowych prosimy o kontakt z Panią Ewa Mazur: ewa.mazur@firma-pl.example\r\n", addr, at.Format(time.RFC1123Z)))
}

// A "left the company" auto-reply ends the enrollment `left`; the API
// shows the successor and enrols them in the same sequence, from the same
// sender, with the same "met at", in one call.
func TestEnrollSuccessor(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newRig(t, sk.URL(t), nil)
			resp := r.api("POST", "/api/v1/enrollments", `{"sequence": "trade-fair", "prospect": {"email": "jan.nowicki@firma-pl.example",
				"first_name": "Jan", "company": "Firma", "met_at": "Targi Kielce 2026", "timezone": "Europe/Warsaw"}}`)
			if resp.status != 201 {
				t.Fatalf("enrol: %d %s", resp.status, resp.body)
			}
			wantError(t, "successor of an active enrollment", r.api("POST", "/api/v1/prospects/jan.nowicki@firma-pl.example/enroll-successor?sequence=trade-fair", ""), 409, "not left")

			h := &sequencer.InboundHandler{Store: r.st, Clock: r.clock}
			got, err := h.Handle(context.Background(), inbound.Fetched{Sender: "maria", UIDValidity: 1, UID: 1,
				Raw: leftReply("jan.nowicki@firma-pl.example", r.clock.Now()), Own: []string{"Maria <maria@example.com>"}})
			if err != nil || got.Kind != inbound.LabelLeft {
				t.Fatalf("handled as %s (%s), %v", got.Kind, got.Note, err)
			}

			resp = r.api("GET", "/api/v1/prospects/jan.nowicki@firma-pl.example", "")
			v := resp.json(t)
			e := v["enrollments"].([]any)[0].(map[string]any)
			succ, _ := e["successor"].(map[string]any)
			if e["state"] != "left" || e["next_send_at"] != nil || succ["email"] != "ewa.mazur@firma-pl.example" || succ["name"] != "Ewa Mazur" {
				t.Fatalf("left enrollment: %s", resp.body)
			}
			if v["prospect"].(map[string]any)["suppressed"] != false || !strings.Contains(resp.body, `"kind": "left"`) {
				t.Errorf("left prospect: %s", resp.body)
			}

			wantError(t, "without a sequence", r.api("POST", "/api/v1/prospects/jan.nowicki@firma-pl.example/enroll-successor", ""), 400, "sequence is required")
			resp = r.api("POST", "/api/v1/prospects/jan.nowicki@firma-pl.example/enroll-successor?sequence=trade-fair", "")
			if resp.status != 201 || resp.header.Get("Location") != "/api/v1/prospects/ewa.mazur@firma-pl.example" {
				t.Fatalf("enroll-successor: %d %s", resp.status, resp.body)
			}
			v = resp.json(t)
			p := v["prospect"].(map[string]any)
			e = v["enrollments"].([]any)[0].(map[string]any)
			if p["email"] != "ewa.mazur@firma-pl.example" || p["first_name"] != "Ewa" || p["last_name"] != "Mazur" ||
				p["met_at"] != "Targi Kielce 2026" || p["company"] != "Firma" || p["timezone"] != "Europe/Warsaw" ||
				e["sequence"] != "trade-fair" || e["sender"] != "maria" || e["state"] != "active" || e["next_send_at"] == nil {
				t.Errorf("successor: %s", resp.body)
			}
			// Twice: the successor already runs, nothing new.
			if resp := r.api("POST", "/api/v1/prospects/jan.nowicki@firma-pl.example/enroll-successor?sequence=trade-fair", ""); resp.status != 200 {
				t.Errorf("again: %d %s", resp.status, resp.body)
			}
		})
	}
}
