package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/drip-email/drip/api"
	"github.com/drip-email/drip/internal/testrig"
)

// The import answers with its mapping; unenroll and move end one
// enrollment without suppressing; a second running sequence is a warning.
func TestImportMappingUnenrollMove(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newRig(t, sk.URL(t), func(o *api.Options) {
				seq := *o.Config.Sequences["trade-fair"]
				seq.Name = "webinar"
				o.Config.Sequences["webinar"] = &seq
			})
			csv := "E-mail;Imię;Fiera;Stoisko\nanna@example.com;Anna;EIMA;B1\n"
			resp := r.do("POST", "/api/v1/imports?sequence=trade-fair&map=Stoisko%3Dfield:booth", "text/csv", strings.NewReader(csv), "Bearer "+token)
			var got struct {
				Imported int
				Encoding struct {
					Name     string
					Detected bool
				}
				Columns []struct{ Header, Column, Via string }
			}
			if err := json.Unmarshal([]byte(resp.body), &got); err != nil || resp.status != 200 {
				t.Fatalf("import: %d %s", resp.status, resp.body)
			}
			cols := []string{}
			for _, c := range got.Columns {
				cols = append(cols, c.Header+"="+c.Column+"/"+c.Via)
			}
			if got.Imported != 1 || got.Encoding.Name != "utf-8" || !got.Encoding.Detected ||
				strings.Join(cols, " ") != "E-mail=email/alias Imię=first_name/alias Fiera=met_at/alias Stoisko=booth/map" {
				t.Errorf("import answer %+v", got)
			}

			// A second sequence: enrolled, with a warning.
			resp = r.api("POST", "/api/v1/enrollments", `{"sequence": "webinar", "prospect": {"email": "anna@example.com"}}`)
			if resp.status != 201 || !strings.Contains(resp.body, `"warnings": [`) || !strings.Contains(resp.body, "also running in sequence trade-fair") {
				t.Errorf("second sequence: %d %s", resp.status, resp.body)
			}

			resp = r.api("POST", "/api/v1/prospects/anna@example.com/unenroll?sequence=webinar", "")
			v := resp.json(t)
			if resp.status != 200 || v["prospect"].(map[string]any)["suppressed"] != false {
				t.Fatalf("unenroll: %d %s", resp.status, resp.body)
			}
			states := map[string]string{}
			for _, e := range v["enrollments"].([]any) {
				e := e.(map[string]any)
				states[e["sequence"].(string)] = e["state"].(string)
			}
			if states["webinar"] != "unenrolled" || states["trade-fair"] != "active" {
				t.Errorf("after unenroll: %v", states)
			}
			wantError(t, "unenroll again", r.api("POST", "/api/v1/prospects/anna@example.com/unenroll?sequence=webinar", ""), 409, "already ended")
			wantError(t, "unenroll without sequence", r.api("POST", "/api/v1/prospects/anna@example.com/unenroll", ""), 400, "sequence is required")

			r.api("POST", "/api/v1/enrollments", `{"sequence": "trade-fair", "prospect": {"email": "bob@example.com"}}`)
			resp = r.api("POST", "/api/v1/prospects/bob@example.com/move?from=trade-fair&to=webinar", "")
			if resp.status != 200 || !strings.Contains(resp.body, `"state": "unenrolled"`) || !strings.Contains(resp.body, `"sequence": "webinar"`) {
				t.Errorf("move: %d %s", resp.status, resp.body)
			}
			wantError(t, "move without to", r.api("POST", "/api/v1/prospects/bob@example.com/move?from=webinar", ""), 400, "from and to are required")
		})
	}
}

// Bulk actions over a list of addresses, and the list's CSV export.
func TestBulkAndExport(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newRig(t, sk.URL(t), nil)
			csv := "email;company\na@example.com;Alfa\nb@example.com;Beta\nc@example.com;Gamma\n"
			if resp := r.do("POST", "/api/v1/imports?sequence=trade-fair", "text/csv", strings.NewReader(csv), "Bearer "+token); resp.status != 200 {
				t.Fatalf("import: %d %s", resp.status, resp.body)
			}
			resp := r.api("POST", "/api/v1/bulk/pause", `{"emails": ["a@example.com", "B@example.com", "nobody@example.com", "not an address"]}`)
			if resp.status != 200 || !strings.Contains(resp.body, `"changed": 2`) || !strings.Contains(resp.body, `"unknown": [
    "nobody@example.com"
  ]`) && !strings.Contains(resp.body, `"unknown": ["nobody@example.com"]`) {
				t.Errorf("bulk pause: %d %s", resp.status, resp.body)
			}
			// Text: an export of the list works as the input.
			resp = r.do("POST", "/api/v1/bulk/resume", "text/csv", strings.NewReader("email,company\na@example.com,Alfa\nc@example.com,Gamma\n"), "Bearer "+token)
			if resp.status != 200 || !strings.Contains(resp.body, `"changed": 1`) || !strings.Contains(resp.body, `"unchanged": 1`) {
				t.Errorf("bulk resume: %d %s", resp.status, resp.body)
			}
			wantError(t, "unknown action", r.api("POST", "/api/v1/bulk/explode", `{"emails": []}`), 400, "unknown bulk action")
			wantError(t, "unenroll without sequence", r.api("POST", "/api/v1/bulk/unenroll", `{"emails": ["a@example.com"]}`), 400, "sequence is required")

			exp := r.do("GET", "/api/v1/exports/prospects?state=paused", "", nil, "Bearer "+token)
			if exp.status != 200 || !strings.Contains(exp.body, "b@example.com,,,Beta") || strings.Contains(exp.body, "a@example.com") {
				t.Errorf("export of the paused: %d %s", exp.status, exp.body)
			}
			wantError(t, "export bad state", r.do("GET", "/api/v1/exports/prospects?state=asleep", "", nil, "Bearer "+token), 400, "state")
		})
	}
}
