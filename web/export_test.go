package web_test

import (
	"context"
	"encoding/csv"
	"net/url"
	"strings"
	"testing"

	"github.com/drip-email/drip/sequencer"
)

// The list page links to its CSV export, filtered as shown, every page of
// it; a folded search finds the names; the import page shows how each
// column was read.
func TestListExportAndImportMapping(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	list := "E-mail;Imię;Nazwisko;Firma;Stoisko\n" +
		"zolc@example.pl;Żaneta;Żółć;Łódź Sp. z o.o.;A1\n" +
		"nic@example.it;NICCOLÒ;Rossi;=HYPERLINK(\"x\");B2\n" +
		"other@example.com;Ann;Smith;Acme;C3\n"
	if _, err := r.control.Import(ctx, strings.NewReader(list), sequencer.ImportRequest{Sequence: "webinar"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.control.Pause(ctx, "other@example.com"); err != nil {
		t.Fatal(err)
	}
	b := r.browser(t)
	b.signIn()

	p := b.get("/ui/prospects?q=" + "%C5%81%C3%93D%C5%B9") // ŁÓDŹ
	if !strings.Contains(p.body, "zolc@example.pl") || strings.Contains(p.body, "nic@example.it") {
		t.Errorf("search ŁÓDŹ:\n%s", p.body)
	}
	p = b.get("/ui/prospects?state=active")
	if !strings.Contains(p.body, `href="/ui/prospects.csv?state=active"`) {
		t.Fatalf("no export link for the filter:\n%s", p.body)
	}
	exp := b.get("/ui/prospects.csv?state=active")
	if exp.status != 200 || !strings.HasPrefix(exp.header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(exp.body, "\uFEFF") {
		t.Fatalf("export: %d %q %.40q", exp.status, exp.header.Get("Content-Type"), exp.body)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(exp.body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0][:4], ",") != "email,first_name,last_name,company" || recs[0][len(recs[0])-1] != "stoisko" {
		t.Fatalf("export of the active ones: %q", recs)
	}
	byEmail := map[string][]string{}
	for _, rec := range recs[1:] {
		byEmail[rec[0]] = rec
	}
	if z := byEmail["zolc@example.pl"]; z == nil || z[2] != "Żółć" || z[3] != "Łódź Sp. z o.o." || z[12] != "active" || z[len(z)-1] != "A1" {
		t.Errorf("zolc exported as %q", z)
	}
	if n := byEmail["nic@example.it"]; n == nil || n[3] != `'=HYPERLINK("x")` {
		t.Errorf("a formula must be exported as text: %q", n)
	}
	if exp := b.get("/ui/prospects.csv"); strings.Count(exp.body, "\n") != 4 {
		t.Errorf("unfiltered export has %d lines, want 4:\n%s", strings.Count(exp.body, "\n"), exp.body)
	}
}

// A prospect's page takes it out of one sequence without suppressing it.
func TestProspectPageUnenrolls(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	for _, seq := range []string{"webinar", "trade-fair"} {
		if _, err := r.control.Import(ctx, strings.NewReader("email\nanna@example.com\n"), sequencer.ImportRequest{Sequence: seq}); err != nil {
			t.Fatal(err)
		}
	}
	b := r.browser(t)
	csrf := b.signIn()
	p := b.get("/ui/prospects/anna@example.com")
	if strings.Count(p.body, `/unenroll"`) != 2 || !strings.Contains(p.body, `name="sequence" value="webinar"`) {
		t.Fatalf("no take-out buttons:\n%s", p.body)
	}
	p = b.post("/ui/prospects/anna@example.com/unenroll", url.Values{"csrf": {csrf}, "sequence": {"webinar"}})
	if p.status != 303 || !strings.HasSuffix(p.location, "?done=unenrolled") {
		t.Fatalf("unenroll: %d %q", p.status, p.location)
	}
	v, err := r.control.ProspectView(ctx, "anna@example.com")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, e := range v.Enrollments {
		states[e.Sequence] = string(e.State)
	}
	if states["webinar"] != "unenrolled" || states["trade-fair"] != "active" || v.Prospect.Suppressed {
		t.Errorf("after taking out: %v, suppressed %v", states, v.Prospect.Suppressed)
	}
	if p := b.get(p.location); !strings.Contains(p.body, "Taken out of that sequence") || strings.Count(p.body, `/unenroll"`) != 1 {
		t.Errorf("page after: %s", p.body)
	}
}

// Enrolling a lead already running elsewhere says so.
func TestEnrolWarnsOfASecondSequence(t *testing.T) {
	r := newRig(t, nil)
	if _, err := r.control.Import(context.Background(), strings.NewReader("email\nanna@example.com\n"), sequencer.ImportRequest{Sequence: "webinar"}); err != nil {
		t.Fatal(err)
	}
	b := r.browser(t)
	csrf := b.signIn()
	p := b.post("/ui/enroll", enrollForm(csrf, "anna@example.com"))
	if p.status != 303 {
		t.Fatalf("enrol: %d %s", p.status, p.body)
	}
	if p := b.get(p.location); !strings.Contains(p.body, "Warning: also running in webinar") {
		t.Errorf("no warning on the confirmation:\n%s", p.body)
	}
}
