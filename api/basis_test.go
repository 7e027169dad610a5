package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/drip-email/drip/api"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
)

// withConsentSequence adds "consent-pl", a sequence that requires a lawful
// basis for prospects of Poland or who write Polish, and "consent-all",
// that requires one of everybody.
func withConsentSequence(o *api.Options) {
	base := *o.Config.Sequences["trade-fair"]
	pl, all := base, base
	pl.Name, pl.RequireBasis = "consent-pl", configs.RequireBasis{Codes: []string{"pl"}}
	all.Name, all.RequireBasis = "consent-all", configs.RequireBasis{All: true}
	o.Config.Sequences["consent-pl"], o.Config.Sequences["consent-all"] = &pl, &all
}

// Acceptance (issue 15, 2): require_basis refuses an enrollment without a
// basis (422 from the API, the row's line and reason from an import);
// with one the prospect enrols, and the API and its timeline show it.
func TestRequireBasis(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newRig(t, sk.URL(t), withConsentSequence)
			wantError(t, "no basis", r.api("POST", "/api/v1/enrollments",
				`{"sequence": "consent-all", "prospect": {"email": "anna@example.it"}}`), 422, "no lawful basis: sequence consent-all requires one (require_basis)")
			wantError(t, "Polish, no basis", r.api("POST", "/api/v1/enrollments",
				`{"sequence": "consent-pl", "prospect": {"email": "jan@example.pl", "language": "pl"}}`), 422, "for prospects of [pl]")
			wantError(t, "in Poland, no basis", r.api("POST", "/api/v1/enrollments",
				`{"sequence": "consent-pl", "prospect": {"email": "jan@example.com", "country": "PL"}}`), 422, "no lawful basis")
			wantError(t, "bad basis", r.api("POST", "/api/v1/enrollments",
				`{"sequence": "consent-all", "prospect": {"email": "anna@example.it", "basis": "because"}}`), 400, `basis "because": use consent, customer or legitimate_interest`)
			wantError(t, "date without basis", r.api("POST", "/api/v1/enrollments",
				`{"sequence": "trade-fair", "prospect": {"email": "anna@example.it", "basis_date": "2026-11-20"}}`), 400, "without a basis")
			for _, email := range []string{"anna@example.it", "jan@example.pl", "jan@example.com"} {
				if _, err := r.st.ProspectGetByEmail(context.Background(), email); err == nil {
					t.Errorf("a refused enrollment stored %s", email)
				}
			}
			// An Italian prospect needs none in consent-pl.
			if resp := r.api("POST", "/api/v1/enrollments", `{"sequence": "consent-pl", "prospect": {"email": "marco@example.it", "language": "it"}}`); resp.status != 201 {
				t.Errorf("Italian prospect in consent-pl: %d %s", resp.status, resp.body)
			}

			resp := r.api("POST", "/api/v1/enrollments", `{"sequence": "consent-all", "prospect": {"email": "jan@example.pl", "language": "pl",
				"country": "PL", "basis": "Zgoda", "basis_date": "20/11/2026", "basis_source": "business card left at our stand, EIMA 2026", "fields": {"booth": "B12"}}}`)
			if resp.status != 201 {
				t.Fatalf("with a basis: %d %s", resp.status, resp.body)
			}
			v := r.api("GET", "/api/v1/prospects/jan@example.pl", "").json(t)
			p := v["prospect"].(map[string]any)
			for k, want := range map[string]string{"basis": "consent", "basis_date": "2026-11-20",
				"basis_source": "business card left at our stand, EIMA 2026", "country": "PL"} {
				if p[k] != want {
					t.Errorf("prospect.%s = %v, want %q", k, p[k], want)
				}
			}
			if f := p["fields"].(map[string]any); len(f) != 1 || f["booth"] != "B12" {
				t.Errorf("fields = %v, want only the custom field booth", f)
			}
			tl := v["timeline"].([]any)
			first := tl[0].(map[string]any)
			if first["kind"] != "basis" || first["at"] != "2026-11-20T00:00:00+01:00" || first["detail"] != "consent: business card left at our stand, EIMA 2026" {
				t.Errorf("timeline: %v", tl)
			}
			// A later enrollment of the same prospect needs no basis again.
			if resp := r.api("POST", "/api/v1/enrollments", `{"sequence": "consent-pl", "prospect": {"email": "jan@example.pl"}}`); resp.status != 201 {
				t.Errorf("second sequence with the basis on record: %d %s", resp.status, resp.body)
			}

			// An import: the rows without a basis are rejected with their line.
			csv := "email,language,basis,basis_date,basis_source\n" +
				"ok1@example.pl,pl,consent,2026-11-20,EIMA 2026 stand\n" +
				"no@example.pl,pl,,,\n" +
				"ok2@example.it,it,,,\n" +
				"bad@example.pl,pl,maybe,,\n"
			imp := r.do("POST", "/api/v1/imports?sequence=consent-pl", "text/csv", strings.NewReader(csv), "Bearer "+token)
			if imp.status != 200 {
				t.Fatalf("import: %d %s", imp.status, imp.body)
			}
			got := imp.json(t)
			if got["imported"] != 2.0 || got["rejected"] != 2.0 {
				t.Errorf("import: %v", got)
			}
			var rejects []string
			for _, rj := range got["rejects"].([]any) {
				m := rj.(map[string]any)
				rejects = append(rejects, fmt.Sprintf("%v: %v", m["line"], m["reason"]))
			}
			want := []string{
				"3: no lawful basis: sequence consent-pl requires one for prospects of [pl] (require_basis); give basis (consent, customer or legitimate_interest), basis_date and basis_source",
				`5: basis "maybe": use consent, customer or legitimate_interest`,
			}
			if strings.Join(rejects, "\n") != strings.Join(want, "\n") {
				t.Errorf("rejects:\n%s\nwant\n%s", strings.Join(rejects, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
