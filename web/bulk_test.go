package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/drip-email/drip/store"
)

// The list's bulk form: ops pause ticked prospects and come back to the
// list as it was filtered, told what happened; without the CSRF token
// nothing changes; a rep's ticks on another rep's prospects count as not
// found and change nothing.
func TestBulkFromTheList(t *testing.T) {
	r := newRig(t, nil)
	r.addUser(t, "giulia", store.RoleRep, "maria")
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		r.enrolAs(t, e, "maria")
	}
	r.enrolAs(t, "theirs@example.com", "piotr")

	ops := r.browser(t)
	csrf := ops.signIn()
	list := ops.get("/ui/prospects?state=active")
	if !strings.Contains(list.body, `action="/ui/prospects/bulk"`) || strings.Count(list.body, `name="email" value="`) != 4 {
		t.Fatalf("no bulk form with a box per row:\n%s", list.body)
	}
	if all := ops.get("/ui/prospects?state=active&select=all"); strings.Count(all.body, `form="bulk" aria-label="Select a@example.com" checked`) != 1 {
		t.Errorf("tick all on this page does not tick the rows")
	}
	form := url.Values{"action": {"pause"}, "email": {"a@example.com", "b@example.com"}, "back": {"/ui/prospects?state=active&page=1"}}
	if p := ops.post("/ui/prospects/bulk", form); p.status != http.StatusForbidden || r.state(t, "a@example.com") != store.StateActive {
		t.Fatalf("bulk without the CSRF token: %d, state %s; want 403 and nothing paused", p.status, r.state(t, "a@example.com"))
	}
	form.Set("csrf", csrf)
	p := ops.post("/ui/prospects/bulk", form)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/prospects?") || !strings.Contains(p.location, "state=active") {
		t.Fatalf("bulk pause: %d to %q", p.status, p.location)
	}
	for email, want := range map[string]store.State{"a@example.com": store.StatePaused, "b@example.com": store.StatePaused, "c@example.com": store.StateActive} {
		if got := r.state(t, email); got != want {
			t.Errorf("%s is %s, want %s", email, got, want)
		}
	}
	if back := ops.get(p.location); !strings.Contains(back.body, "Paused 2 prospects.") {
		t.Errorf("the list does not say what was done:\n%s", back.body)
	}
	if p := ops.post("/ui/prospects/bulk", url.Values{"csrf": {csrf}, "action": {"explode"}, "email": {"c@example.com"}}); p.status != http.StatusBadRequest {
		t.Errorf("unknown action: %d, want 400", p.status)
	}
	// Back is only ever the list.
	if p := ops.post("/ui/prospects/bulk", url.Values{"csrf": {csrf}, "action": {"resume"}, "email": {"a@example.com"}, "back": {"https://evil.example/ui/prospects"}}); !strings.HasPrefix(p.location, "/ui/prospects?") {
		t.Errorf("back to %q", p.location)
	}

	rep := r.browser(t)
	if p := rep.signInAs("giulia", userPassword); p.status != http.StatusSeeOther {
		t.Fatalf("rep sign-in: %d", p.status)
	}
	p = rep.post("/ui/prospects/bulk", url.Values{"csrf": {rep.csrf()}, "action": {"pause"},
		"email": {"c@example.com", "theirs@example.com", "nobody@example.com"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("rep bulk pause: %d %s", p.status, p.body)
	}
	if r.state(t, "c@example.com") != store.StatePaused || r.state(t, "theirs@example.com") != store.StateActive {
		t.Errorf("rep bulk pause: own %s, another rep's %s; want paused and active", r.state(t, "c@example.com"), r.state(t, "theirs@example.com"))
	}
	if back := rep.get(p.location); !strings.Contains(back.body, "Paused 1 prospect; 2 not found.") {
		t.Errorf("rep's list after the bulk action:\n%s", back.body)
	}
}

// The list export is for ops: a rep gets 403 and no link.
func TestListExportIsForOps(t *testing.T) {
	r := newRig(t, nil)
	r.addUser(t, "giulia", store.RoleRep, "maria")
	r.addUser(t, "olga", store.RoleOps)
	r.enrolAs(t, "mine@example.com", "maria")

	rep := r.browser(t)
	rep.signInAs("giulia", userPassword)
	if p := rep.get("/ui/prospects.csv"); p.status != http.StatusForbidden || strings.Contains(p.body, "mine@example.com") {
		t.Errorf("rep export: %d, want 403 without data", p.status)
	}
	if p := rep.get("/ui/prospects"); strings.Contains(p.body, "prospects.csv") {
		t.Errorf("rep's list links to the export")
	}
	ops := r.browser(t)
	ops.signInAs("olga", userPassword)
	if p := ops.get("/ui/prospects.csv"); p.status != http.StatusOK || !strings.Contains(p.body, "mine@example.com") {
		t.Errorf("ops export: %d %q", p.status, p.body)
	}
	if p := ops.get("/ui/prospects"); !strings.Contains(p.body, "prospects.csv") {
		t.Errorf("ops's list has no export link")
	}
}

// The funnel as CSV, linked from the funnel page, for ops only.
func TestFunnelCSVIsForOps(t *testing.T) {
	r := newRig(t, nil)
	r.addUser(t, "giulia", store.RoleRep, "maria")
	seedFair(t, r)

	ops := r.browser(t)
	ops.signIn()
	if p := ops.get("/ui/funnel"); !strings.Contains(p.body, `href="/ui/funnel.csv"`) {
		t.Errorf("the funnel page has no CSV link for ops")
	}
	p := ops.get("/ui/funnel.csv")
	if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("funnel.csv: %d %q", p.status, p.header.Get("Content-Type"))
	}
	// seedFair: step 1 sent to 4 of trade-fair's prospects, one replied.
	if !strings.HasPrefix(p.body, "sequence,step,sent,replied,reply_rate,") || !strings.Contains(p.body, "\ntrade-fair,1,4,") || !strings.Contains(p.body, "\ntrade-fair,total,4,") {
		t.Errorf("funnel.csv:\n%s", p.body)
	}

	rep := r.browser(t)
	rep.signInAs("giulia", userPassword)
	if p := rep.get("/ui/funnel.csv"); p.status != http.StatusForbidden {
		t.Errorf("rep funnel.csv: %d, want 403", p.status)
	}
	if p := rep.get("/ui/funnel"); p.status != http.StatusOK || strings.Contains(p.body, "funnel.csv") {
		t.Errorf("rep's funnel page: %d, links the CSV %v", p.status, strings.Contains(p.body, "funnel.csv"))
	}
}

// The import page's late-start choice overrides the sequence's for that
// list: a contact 95 days back starts at step 1 with "first", at its
// latest past-due step with the sequence's default.
func TestImportPageLateStart(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	csrf := b.signIn()
	if p := b.get("/ui/import"); !strings.Contains(p.body, `name="late_start"`) || !strings.Contains(p.body, `<option value="first">`) {
		t.Fatalf("no late-start choice on the import page:\n%s", p.body)
	}
	late := t0.AddDate(0, 0, -95).Format("2006-01-02")
	for email, choice := range map[string]string{"first@example.com": "first", "latest@example.com": ""} {
		p := b.post("/ui/import", url.Values{"csrf": {csrf}, "sequence": {"trade-fair"}, "late_start": {choice},
			"csv": {"email,first_contact\n" + email + "," + late + "\n"}})
		if p.status != http.StatusOK || !strings.Contains(p.body, "<strong>1</strong> imported") {
			t.Fatalf("import with late_start %q: %d\n%s", choice, p.status, p.body)
		}
	}
	for email, want := range map[string]int{"first@example.com": 1, "latest@example.com": 9} {
		v, err := r.control.ProspectView(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		if e := v.Enrollments[0]; e.NextStep == nil || *e.NextStep != want {
			t.Errorf("%s: next step %v, want %d", email, e.NextStep, want)
		}
	}
}
