package web_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/web"
)

// Acceptance (issue 15, 2) in the web UI: the enrol form refuses a lead
// without a lawful basis in a sequence that requires one, with the reason
// and what was typed kept; with one it enrols, and the prospect page shows
// the basis and its timeline entry.
func TestEnrollFormRequiresABasis(t *testing.T) {
	r := newRig(t, func(o *web.Options) {
		seq := *o.Control.Config.Sequences["trade-fair"]
		seq.Name, seq.RequireBasis = "consent", configs.RequireBasis{All: true}
		o.Control.Config.Sequences["consent"] = &seq
	})
	b := r.browser(t)
	csrf := b.signIn()
	form := b.get("/ui/enroll")
	for _, want := range []string{`name="basis"`, `name="basis_date" type="date"`, `name="basis_source"`, `name="country"`} {
		if !strings.Contains(form.body, want) {
			t.Errorf("the enrol form lacks %s", want)
		}
	}
	v := enrollForm(csrf, "ewa@example.pl")
	v.Set("sequence", "consent")
	p := b.post("/ui/enroll", v)
	body := html.UnescapeString(p.body)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(body, `role="alert" id="form-error">no lawful basis: sequence consent requires one (require_basis)`) {
		t.Fatalf("enrol without a basis: status %d\n%s", p.status, p.body)
	}
	if !strings.Contains(body, `value="Caffè Niccolò"`) {
		t.Error("the refused form lost what was typed")
	}
	if _, err := r.control.Store.ProspectGetByEmail(context.Background(), "ewa@example.pl"); err == nil {
		t.Error("a refused enrollment stored the prospect")
	}

	v.Set("basis_source", "business card at the stand")
	if p := b.post("/ui/enroll", v); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(html.UnescapeString(p.body), "basis_date or basis_source given without a basis") {
		t.Errorf("a source without a basis: status %d", p.status)
	}
	v.Set("basis", "consent")
	v.Set("basis_date", "2026-11-20")
	if p := b.post("/ui/enroll", v); p.status != http.StatusSeeOther {
		t.Fatalf("enrol with a basis: status %d\n%s", p.status, p.body)
	}
	page := html.UnescapeString(b.get("/ui/prospects/ewa@example.pl").body)
	for _, want := range []string{
		`<dt>Lawful basis</dt><dd class="basis">consent, since <time datetime="2026-11-20">2026-11-20</time> (business card at the stand)</dd>`,
		`<span class="kind">basis</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("prospect page lacks %s", want)
		}
	}
}
