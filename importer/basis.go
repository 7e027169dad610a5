package importer

import (
	"fmt"
	"strings"
	"time"
)

// A prospect's lawful basis for marketing email (GDPR art. 6; Poland's
// Electronic Communications Law art. 398 and Italy's privacy code art. 130
// ask for one): what it is, since when, and where it comes from ("business
// card left at our stand, EIMA 2026"). It is kept among the prospect's
// custom fields under the contract's column names, so a list loaded before
// drip knew them reads the same.
const (
	FieldBasis       = "basis"
	FieldBasisDate   = "basis_date"
	FieldBasisSource = "basis_source"
	FieldCountry     = "country"
)

// Bases are the lawful bases a prospect may carry.
var Bases = []string{"consent", "customer", "legitimate_interest"}

// basisNames are the spellings of a basis in the languages drip's users
// write, folded (lower case, no accents, separators as _).
var basisNames = map[string]string{
	"consent": "consent", "consenso": "consent", "zgoda": "consent", "einwilligung": "consent",
	"consentement": "consent", "consentimiento": "consent", "opt_in": "consent", "optin": "consent",
	"customer": "customer", "client": "customer", "cliente": "customer", "klient": "customer", "kunde": "customer",
	"existing_customer": "customer", "cliente_esistente": "customer",
	"legitimate_interest": "legitimate_interest", "legittimo_interesse": "legitimate_interest",
	"interesse_legittimo": "legitimate_interest", "uzasadniony_interes": "legitimate_interest",
	"prawnie_uzasadniony_interes": "legitimate_interest", "berechtigtes_interesse": "legitimate_interest",
	"interet_legitime": "legitimate_interest", "interes_legitimo": "legitimate_interest", "li": "legitimate_interest",
}

// CheckBasis validates and normalises the basis fields of fields in
// place: the basis to one of Bases, its date to YYYY-MM-DD (a date as the
// CSV import reads one; not after now). It says why they cannot be stored,
// or "" when they can. A date or source without a basis is refused: it
// would look like a basis on record when there is none.
func CheckBasis(fields map[string]string, now time.Time) string {
	b, d, s := fields[FieldBasis], fields[FieldBasisDate], fields[FieldBasisSource]
	if b == "" {
		if d != "" || s != "" {
			return "basis_date or basis_source given without a basis (consent, customer or legitimate_interest)"
		}
		delete(fields, FieldBasis)
		delete(fields, FieldBasisDate)
		delete(fields, FieldBasisSource)
		return ""
	}
	key := strings.Trim(foldColumn(b), "_")
	basis, ok := basisNames[key]
	if !ok {
		return fmt.Sprintf("basis %s: use consent, customer or legitimate_interest", quote(b))
	}
	fields[FieldBasis] = basis
	if d != "" {
		t, ok := parseFirstContact(d, time.UTC)
		if !ok {
			return fmt.Sprintf("basis_date %s is not a valid date (want %s)", quote(d), DateFormats)
		}
		if why := CheckDate(t); why != "" {
			return fmt.Sprintf("basis_date %s: %s", quote(d), why)
		}
		if !now.IsZero() && t.After(now.Add(24*time.Hour)) {
			return fmt.Sprintf("basis_date %s is in the future", quote(d))
		}
		fields[FieldBasisDate] = t.Format(time.DateOnly)
	}
	return ""
}
