package storetest

import (
	"testing"

	"github.com/drip-email/drip/store"
)

// A later spelling of the same name in worse case ("giulia esposito",
// "ESPOSITO") never replaces a well-cased stored one, whether it comes in
// the same batch, a later import or an upsert; a different name (a
// correction) or a better-cased one does.
func testNameCaseKept(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	row := func(line int, email, first, last, company string) store.ImportRow {
		return store.ImportRow{Line: line, Sequence: "fair", Sender: "rep1", FirstContact: t0,
			Prospect: store.Prospect{Email: email, FirstName: first, LastName: last, Company: company}}
	}
	must(s.ImportBatch(ctx, []store.ImportRow{
		row(2, "giulia@example.it", "Giulia", "Esposito", "Caffè Città"),
		row(3, "GIULIA@example.it", "giulia", "ESPOSITO", "CAFFÈ CITTÀ"), // same batch
		row(4, "marco@example.it", "marco", "BIANCHI", "acme"),
	}))(t)
	check := func(when, email, first, last, company string) {
		t.Helper()
		p := must(s.ProspectGetByEmail(ctx, email))(t)
		if p.FirstName != first || p.LastName != last || p.Company != company {
			t.Errorf("%s: %s is %q %q %q, want %q %q %q", when, email, p.FirstName, p.LastName, p.Company, first, last, company)
		}
	}
	check("same batch", "giulia@example.it", "Giulia", "Esposito", "Caffè Città")

	res := must(s.ImportBatch(ctx, []store.ImportRow{
		row(2, "giulia@example.it", "giulia", "esposito", "caffè città"),
		row(3, "marco@example.it", "Marco", "Bianchi", "Acme"), // better: taken
		row(4, "new@example.it", "New", "", ""),
	}))(t)
	// Known prospects come back with their enrollments as they were.
	if r := res[0]; !r.Known || r.Created || r.ProspectID == 0 || len(r.Enrollments) != 1 || r.Enrollments[0].Sequence != "fair" ||
		!r.Enrollments[0].FirstContact.Equal(t0) {
		t.Errorf("result of a known prospect: %+v", r)
	}
	if r := res[2]; r.Known || !r.Created || r.ProspectID == 0 || len(r.Enrollments) != 0 {
		t.Errorf("result of a new prospect: %+v", r)
	}
	check("later import", "giulia@example.it", "Giulia", "Esposito", "Caffè Città")
	check("later import", "marco@example.it", "Marco", "Bianchi", "Acme")

	// A correction (not the same letters) always wins.
	must(s.ImportBatch(ctx, []store.ImportRow{row(2, "giulia@example.it", "giulia", "Esposito-Rossi", "")}))(t)
	check("correction", "giulia@example.it", "Giulia", "Esposito-Rossi", "Caffè Città")

	p := store.Prospect{Email: "marco@example.it", FirstName: "MARCO", LastName: "bianchi"}
	must(s.ProspectUpsert(ctx, &p))(t)
	check("upsert", "marco@example.it", "Marco", "Bianchi", "Acme")
}

// The list's search folds case for every letter, whichever way the
// prospect came in and whatever the filter.
func testSearchFoldsCase(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	row := func(line int, email, first, last, company string) store.ImportRow {
		return store.ImportRow{Line: line, Sequence: "fair", Sender: "rep1", FirstContact: t0,
			Prospect: store.Prospect{Email: email, FirstName: first, LastName: last, Company: company}}
	}
	must(s.ImportBatch(ctx, []store.ImportRow{
		row(2, "zolc@example.pl", "Żaneta", "Żółć", "Piekarnia"),
		row(3, "lodz@example.pl", "Jan", "Nowak", "Łódź Sp. z o.o."),
		row(4, "other@example.com", "Ann", "Smith", "Acme"),
	}))(t)
	p := store.Prospect{Email: "nic@example.it", FirstName: "NICCOLÒ", LastName: "Strauß"}
	must(s.ProspectUpsert(ctx, &p))(t)
	// Known before: updated by a later import, its fold follows.
	must(s.ImportBatch(ctx, []store.ImportRow{row(2, "other@example.com", "", "", "Ölmühle")}))(t)

	for term, want := range map[string]string{
		"Żółć": "zolc@example.pl", "żÓŁć": "zolc@example.pl", "ŁÓDŹ": "lodz@example.pl",
		"Niccolò": "nic@example.it", "strauß": "nic@example.it", "ÖLMÜHLE": "other@example.com",
		"jan nowak": "lodz@example.pl", "LODZ@EXAMPLE": "lodz@example.pl",
	} {
		for _, seq := range []string{"", "fair"} {
			if term == "Niccolò" || term == "strauß" {
				if seq != "" {
					continue // not enrolled
				}
			}
			rows, total := must2(s.ProspectList(ctx, store.ProspectFilter{Search: term, Sequence: seq}))(t)
			if total != 1 || len(rows) != 1 || rows[0].Prospect.Email != want {
				var got []string
				for _, r := range rows {
					got = append(got, r.Prospect.Email)
				}
				t.Errorf("search %q (sequence %q): %v, want %s", term, seq, got, want)
			}
		}
	}
	if rows, _ := must2(s.ProspectList(ctx, store.ProspectFilter{Search: "acme"}))(t); len(rows) != 0 {
		t.Errorf("the old company still matches after the update: %v", rows)
	}
	noErr(t, s.ProspectForget(ctx, "zolc@example.pl", t0))
	if rows, _ := must2(s.ProspectList(ctx, store.ProspectFilter{Search: "żółć"}))(t); len(rows) != 0 {
		t.Errorf("a forgotten prospect is still found by name")
	}
}
