package store

import (
	"strings"

	"golang.org/x/text/cases"
)

// The prospect list's search compares case-folded text, for every letter:
// "Żółć", "ŁÓDŹ" and "Niccolò" find "żółć", "Łódź" and "NICCOLÒ".
// Neither database can be trusted to fold: SQLite's lower() knows A–Z
// only, and PostgreSQL's follows the database's LC_CTYPE (none but ASCII
// under the C locale). So the folded text is written by Go, beside the
// prospect (the search_fold column), and the search term is folded the
// same way.

// SearchFold is what the search matches a prospect by besides its
// address: its names and company, case-folded. First and last name are
// joined by a space, so that a search for a whole name finds it; the
// company follows a unit separator, which no search term holds.
func SearchFold(firstName, lastName, company string) string {
	if firstName == "" && lastName == "" && company == "" {
		return ""
	}
	return FoldTerm(strings.TrimSpace(firstName+" "+lastName) + "\x1f" + company)
}

// FoldTerm case-folds a search term (Unicode case folding, as
// golang.org/x/text/cases.Fold: "ŁÓDŹ" and "łódź" are one).
func FoldTerm(s string) string { return cases.Fold().String(s) }
