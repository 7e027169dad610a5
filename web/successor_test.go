package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/drip-email/drip/store"
)

// TestSuccessorRoles: enrolling a successor is a POST with the form's CSRF
// token, like every action; a rep may do it for its own senders'
// prospects only (another rep's prospect is not found).
func TestSuccessorRoles(t *testing.T) {
	r := newRig(t, nil)
	seedLeft(t, r) // Jan Nowicki, sender maria, left naming Ewa Mazur
	r.addUser(t, "giulia", store.RoleRep, "maria")
	r.addUser(t, "piotr", store.RoleRep, "piotr")
	page := "/ui/prospects/jan.nowicki%40firma-pl.example"
	form := func(csrf string) url.Values { return url.Values{"csrf": {csrf}, "sequence": {"trade-fair"}} }

	other := r.browser(t)
	if p := other.signInAs("piotr", userPassword); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.status)
	}
	if p := other.post(page+"/enroll-successor", form(other.csrf())); p.status != http.StatusNotFound {
		t.Errorf("another rep enrolling the successor: %d, want 404", p.status)
	}
	rep := r.browser(t)
	if p := rep.signInAs("giulia", userPassword); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.status)
	}
	if p := rep.post(page+"/enroll-successor", form("not-the-token")); p.status != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d, want 403", p.status)
	}
	if _, err := r.control.Prospect(t.Context(), "ewa.mazur@firma-pl.example"); err == nil {
		t.Fatal("the successor was enrolled by a refused request")
	}
	if p := rep.get(page); !strings.Contains(p.body, "/enroll-successor") {
		t.Errorf("the rep's page offers no successor enrolment")
	}
	p := rep.post(page+"/enroll-successor", form(rep.csrf()))
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location, "ewa.mazur@firma-pl.example?done=successor-enrolled") {
		t.Fatalf("rep enrolling its prospect's successor: %d %q", p.status, p.location)
	}
	if p := rep.post(page+"/enroll-successor", form(rep.csrf())); p.status != http.StatusSeeOther || !strings.HasSuffix(p.location, "?done=successor-known") {
		t.Errorf("again: %d %q", p.status, p.location)
	}
}
