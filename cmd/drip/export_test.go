package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// Acceptance (issue 15, 3): `drip export` holds every field, message and
// event of a prospect as the store has them, each message's text
// re-rendered in the prospect's language; after `drip forget` the
// prospect is unknown (exit 1).
func TestExportRoundTrip(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			wd, _ := os.Getwd()
			copyTree(t, filepath.Join(wd, "..", "..", "templates", "trade-fair"), filepath.Join(e.dir, "templates", "trade-fair"))
			const email = "giulia@example.it"
			e.mustDrip("enroll", "--sequence", "trade-fair", "--email", email, "--first-name", "Giulia", "--last-name", "Ferri",
				"--company", "Ferri Utensili S.r.l.", "--title", "Responsabile acquisti", "--phone", "+39 02 5550123",
				"--met-at", "EIMA 2026", "--first-contact", time.Now().AddDate(0, 0, -12).Format(time.DateOnly),
				"--timezone", "Europe/Rome", "--language", "it", "--notes", "vuole i campioni", "--field", "booth=B12",
				"--basis", "consent", "--basis-date", "2026-11-20", "--basis-source", "biglietto da visita allo stand", "--country", "IT")
			c := e.control()
			sent := sendStepOne(t, c.Store)
			if len(sent) != 1 {
				t.Fatalf("sent %d", len(sent))
			}
			answer(t, c, email, store.EventAutoReply, "", 1)
			answer(t, c, email, store.EventReply, store.StateReplied, 2)

			out := e.mustDrip("export", email)
			var x sequencer.ProspectExport
			if err := json.Unmarshal([]byte(out), &x); err != nil {
				t.Fatalf("export is not JSON: %v\n%s", err, out)
			}
			ctx := context.Background()
			p, err := c.Store.ProspectGetByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			// Every field as stored.
			xp := x.Prospect
			for name, pair := range map[string][2]string{
				"email": {p.Email, xp.Email}, "first_name": {p.FirstName, xp.FirstName}, "last_name": {p.LastName, xp.LastName},
				"company": {p.Company, xp.Company}, "title": {p.Title, xp.Title}, "phone": {p.Phone, xp.Phone},
				"met_at": {p.MetAt, xp.MetAt}, "timezone": {p.Timezone, xp.Timezone}, "language": {p.Language, xp.Language},
				"notes": {p.Notes, xp.Notes},
			} {
				if pair[0] == "" || pair[0] != pair[1] {
					t.Errorf("prospect %s: stored %q, exported %q", name, pair[0], pair[1])
				}
			}
			exported := map[string]string{"basis": xp.Basis.Basis, "basis_date": xp.Basis.Date, "basis_source": xp.Basis.Source, "country": xp.Country}
			for k, v := range xp.Fields {
				exported[k] = v
			}
			if len(p.Fields) != 5 || len(exported) != len(p.Fields) {
				t.Errorf("fields: stored %v, exported %v", p.Fields, exported)
			}
			for k, v := range p.Fields {
				if exported[k] != v {
					t.Errorf("field %s: stored %q, exported %q", k, v, exported[k])
				}
			}
			if !xp.CreatedAt.Equal(p.CreatedAt) || !xp.UpdatedAt.Equal(p.UpdatedAt) {
				t.Errorf("created/updated: %v %v, stored %v %v", xp.CreatedAt, xp.UpdatedAt, p.CreatedAt, p.UpdatedAt)
			}

			// Every enrollment and message, with the text in Italian.
			ens, _ := c.Store.EnrollmentsByProspect(ctx, p.ID)
			if len(x.Enrollments) != len(ens) || x.Enrollments[0].State != store.StateReplied || !x.Enrollments[0].FirstContact.Equal(ens[0].FirstContact) {
				t.Errorf("enrollments: %+v, stored %+v", x.Enrollments, ens)
			}
			sends, _ := c.Store.SendsByEnrollment(ctx, ens[0].ID)
			if len(x.Messages) != len(sends) {
				t.Fatalf("messages: %d exported, %d stored", len(x.Messages), len(sends))
			}
			for i, s := range sends {
				m := x.Messages[i]
				if m.MessageID != s.MessageID || m.Step != s.Step || m.Status != s.Status {
					t.Errorf("message %d: %+v, stored %+v", i, m, s)
				}
			}
			m := x.Messages[0]
			if m.Subject != "Un piacere conoscerla a EIMA 2026" || !strings.Contains(m.Text, "Buongiorno Giulia,") ||
				!strings.Contains(m.Text, "Ferri Utensili S.r.l. sta rivedendo") || m.RenderError != "" {
				t.Errorf("message text: %q\n%s\n%s", m.Subject, m.Text, m.RenderError)
			}
			if !strings.HasPrefix(x.MessageText, "re-rendered:") {
				t.Errorf("message_text = %q", x.MessageText)
			}

			// Every event, the inbound ones marked.
			events, _ := c.Store.Timeline(ctx, p.ID)
			if len(x.Events) != len(events) {
				t.Fatalf("events: %d exported, %d stored", len(x.Events), len(events))
			}
			inbound := 0
			for i, ev := range events {
				got := x.Events[i]
				if got.Kind != ev.Kind || got.MessageID != ev.MessageID || !got.At.Equal(ev.At) || got.Step != ev.Step || got.Detail != ev.Detail {
					t.Errorf("event %d: %+v, stored %+v", i, got, ev)
				}
				if got.Inbound {
					inbound++
				}
			}
			if inbound != 2 {
				t.Errorf("%d inbound events, want the auto-reply and the reply", inbound)
			}

			// To a file, not over one that exists.
			file := filepath.Join(e.dir, "giulia.json")
			if out := e.mustDrip("export", email, "--output", file); !strings.Contains(out, "1 enrollment(s), 1 message(s)") {
				t.Errorf("export --output: %s", out)
			}
			if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("export file: %v %v", st, err)
			}
			if _, errOut, code := e.drip("export", email, "--output", file); code != 1 || !strings.Contains(errOut, "file exists") {
				t.Errorf("export over an existing file: exit %d, %q", code, errOut)
			}

			e.mustDrip("forget", email)
			if out, errOut, code := e.drip("export", email); code != 1 || out != "" || !strings.Contains(errOut, "no prospect "+email) {
				t.Errorf("export after forget: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}
