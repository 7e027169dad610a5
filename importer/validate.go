package importer

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const reasonLineBreak = "line break inside field "

// checkCell applies the rules every loaded cell obeys; "" means it passes.
func checkCell(key, v string) string {
	switch {
	case !validUTF8(v):
		return fmt.Sprintf("field %s is not valid UTF-8: set the file's encoding (windows-1252 for an Excel export?)", key)
	case strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0:
		// A line break in any value could end a mail header early and start
		// another ("Bcc: ..."): refuse it at the door, even in notes.
		return reasonLineBreak + key
	case strings.IndexByte(v, 0) >= 0:
		// PostgreSQL text cannot hold NUL; nothing legitimate contains it.
		return "NUL character in field " + key
	case hasControl(v):
		return controlReason(key, v)
	case len(v) > maxFieldChars && utf8.RuneCountInString(v) > maxFieldChars:
		return fmt.Sprintf("field %s is longer than %d characters", key, maxFieldChars)
	}
	return ""
}

func validUTF8(s string) bool { return utf8.ValidString(s) }

// maxEmailBytes is the longest address SMTP carries (RFC 5321's 256-octet
// path, less its angle brackets). A longer one could not be sent anyway,
// and an index entry of PostgreSQL holds at most 2,704 bytes.
const maxEmailBytes = 254

// checkEmail accepts a bare addr-spec (name@example.com) and nothing else:
// no display name, no angle brackets, no comment, no space, and a domain
// with a dot (a dot-less domain in a prospect list is a typo).
func checkEmail(v string) string {
	if v == "" {
		return "missing email"
	}
	if len(v) > maxEmailBytes {
		return fmt.Sprintf("invalid address: longer than %d bytes", maxEmailBytes)
	}
	if strings.IndexByte(v, ' ') >= 0 || strings.IndexByte(v, '\t') >= 0 {
		return "invalid address " + quote(v) + ": contains a space"
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v {
		return "invalid address " + quote(v)
	}
	domain := v[strings.LastIndexByte(v, '@')+1:]
	if strings.HasPrefix(domain, "[") || !strings.Contains(domain, ".") {
		return "invalid address " + quote(v) + ": the domain has no dot"
	}
	return ""
}

// Layouts of first_contact. The date-only ones accept one-digit days and
// months too (5/3/2026), as spreadsheets write them; time.Parse rejects a
// day that does not exist (31/02/2026).
const (
	layoutISODate = "2006-1-2"
	layoutEUDate  = "2/1/2006"
)

// parseFirstContact reads a date as 00:00 that day in loc, or an RFC 3339
// timestamp as that instant.
func parseFirstContact(v string, loc *time.Location) (time.Time, bool) {
	if t, err := time.ParseInLocation(layoutISODate, v, loc); err == nil {
		return t, true
	}
	if t, err := time.ParseInLocation(layoutEUDate, v, loc); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// quote shows a user's value in a reason: quoted, escaped, and cut short,
// since a cell may hold up to maxFieldChars characters.
func quote(v string) string {
	const most = 60
	if utf8.RuneCountInString(v) > most {
		r := []rune(v)
		return strconv.Quote(string(r[:most])) + "…"
	}
	return strconv.Quote(v)
}
