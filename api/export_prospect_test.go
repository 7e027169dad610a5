package api_test

import (
	"strings"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
)

// GET /api/v1/prospects/{email}/export: everything about the prospect
// (its text unrendered here: the rig has no templates, and says so); 404
// once forgotten; the token is required.
func TestExportProspectAPI(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newRig(t, sk.URL(t), nil)
			if resp := r.api("POST", "/api/v1/enrollments", `{"sequence": "trade-fair", "prospect": {"email": "jan@example.pl",
				"first_name": "Jan", "language": "pl", "basis": "consent", "basis_source": "EIMA 2026", "fields": {"booth": "B12"}}}`); resp.status != 201 {
				t.Fatalf("enroll: %d %s", resp.status, resp.body)
			}
			resp := r.api("GET", "/api/v1/prospects/JAN@example.pl/export", "")
			if resp.status != 200 || resp.header.Get("Cache-Control") != "no-store" || !strings.Contains(resp.header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("export: %d %v\n%s", resp.status, resp.header, resp.body)
			}
			x := resp.json(t)
			p := x["prospect"].(map[string]any)
			if p["email"] != "jan@example.pl" || p["first_name"] != "Jan" || p["language"] != "pl" || p["basis"] != "consent" ||
				p["basis_source"] != "EIMA 2026" || p["fields"].(map[string]any)["booth"] != "B12" {
				t.Errorf("prospect: %v", p)
			}
			if ens := x["enrollments"].([]any); len(ens) != 1 || ens[0].(map[string]any)["sequence"] != "trade-fair" {
				t.Errorf("enrollments: %v", ens)
			}
			if evs := x["events"].([]any); len(evs) != 1 || evs[0].(map[string]any)["kind"] != "enrolled" {
				t.Errorf("events: %v", evs)
			}
			if resp := r.do("GET", "/api/v1/prospects/jan@example.pl/export", "", nil, ""); resp.status != 401 {
				t.Errorf("export without the token: %d", resp.status)
			}
			if resp := r.api("DELETE", "/api/v1/prospects/jan@example.pl", ""); resp.status != 204 {
				t.Fatalf("forget: %d", resp.status)
			}
			wantError(t, "export after forget", r.api("GET", "/api/v1/prospects/jan@example.pl/export", ""), 404, "no prospect jan@example.pl")
		})
	}
}
