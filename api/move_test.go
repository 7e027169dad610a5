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
