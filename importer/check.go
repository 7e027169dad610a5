package importer

import "time"

// The rules a CSV cell obeys, for the other ways a prospect comes in (the
// API, `drip enroll`), so that every door refuses the same things.

// CheckValue says why v cannot be stored in the field called key (a line
// break in a field that may reach a mail header, a NUL, invalid UTF-8, too
// long), or "" when it can. Notes and custom fields may span lines.
func CheckValue(key, v string) string { return checkCell(key, v, !singleLine[key]) }

// CheckEmail says why v is not a bare address (name@example.com), or ""
// when it is.
func CheckEmail(v string) string { return checkEmail(v) }

// ParseFirstContact reads a date as 00:00 that day in loc, a date and time
// as that wall time in loc, an RFC 3339 timestamp as that instant, or an
// Excel serial number (see DateFormats).
func ParseFirstContact(v string, loc *time.Location) (time.Time, bool) {
	return parseFirstContact(v, loc)
}
