package importer

import "time"

// The rules a CSV cell obeys, for the other ways a prospect comes in (the
// API, `drip enroll`), so that every door refuses the same things.

// CheckValue says why v cannot be stored in the field called key (a line
// break, a NUL, invalid UTF-8, too long), or "" when it can.
func CheckValue(key, v string) string { return checkCell(key, v) }

// CheckEmail says why v is not a bare address (name@example.com), or ""
// when it is.
func CheckEmail(v string) string { return checkEmail(v) }

// ParseFirstContact reads YYYY-MM-DD or DD/MM/YYYY as 00:00 that day in
// loc, or an RFC 3339 timestamp as that instant.
func ParseFirstContact(v string, loc *time.Location) (time.Time, bool) {
	return parseFirstContact(v, loc)
}
