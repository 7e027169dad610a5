package importer

import (
	"fmt"
	"time"
)

// Dates drip accepts lie in these years: a first contact of 9999-12-31
// would plan sends beyond what JSON and the stores can write, and is a
// typo anyway.
const (
	MinYear = 1900
	MaxYear = 2200
)

// CheckDate says why t is outside MinYear..MaxYear, or "" when it is not.
func CheckDate(t time.Time) string {
	if y := t.Year(); y < MinYear || y > MaxYear {
		return fmt.Sprintf("year %d is outside %d..%d", y, MinYear, MaxYear)
	}
	return ""
}
