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

	must(s.ImportBatch(ctx, []store.ImportRow{
		row(2, "giulia@example.it", "giulia", "esposito", "caffè città"),
		row(3, "marco@example.it", "Marco", "Bianchi", "Acme"), // better: taken
	}))(t)
	check("later import", "giulia@example.it", "Giulia", "Esposito", "Caffè Città")
	check("later import", "marco@example.it", "Marco", "Bianchi", "Acme")

	// A correction (not the same letters) always wins.
	must(s.ImportBatch(ctx, []store.ImportRow{row(2, "giulia@example.it", "giulia", "Esposito-Rossi", "")}))(t)
	check("correction", "giulia@example.it", "Giulia", "Esposito-Rossi", "Caffè Città")

	p := store.Prospect{Email: "marco@example.it", FirstName: "MARCO", LastName: "bianchi"}
	must(s.ProspectUpsert(ctx, &p))(t)
	check("upsert", "marco@example.it", "Marco", "Bianchi", "Acme")
}
