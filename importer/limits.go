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

// hasControl reports a control character other than tab, CR and LF (those
// have their own rules): ESC and the rest of C0, DEL, and C1. Stored, they
// would reach a terminal (drip status) or a log raw; an ESC sequence can
// rewrite what an operator sees.
func hasControl(v string) bool {
	for _, r := range v {
		if isControl(r) {
			return true
		}
	}
	return false
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f)
}

func controlReason(key, v string) string {
	for _, r := range v {
		if isControl(r) {
			return fmt.Sprintf("control character U+%04X in field %s", r, key)
		}
	}
	return ""
}
