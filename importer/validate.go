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
// multiline allows line breaks (notes and custom fields).
func checkCell(key, v string, multiline bool) string {
	switch {
	case !validUTF8(v):
		return fmt.Sprintf("field %s is not valid UTF-8: %s", key, encodingHint(v))
	case !multiline && (strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0):
		// A line break in a value that may go into a mail header (a name,
		// the company, the address…) could end the header early and start
		// another ("Bcc: ..."): refuse it at the door. Notes and custom
		// fields are free text (a CRM export's notes span lines); a
		// template that puts one in the Subject gets it on one line
		// (templates.OneLine), and the mailer sanitises every header.
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

// singleLine are the columns whose values may end up in a mail header or
// an identity: a line break in them is refused wherever they come from.
var singleLine = map[string]bool{
	"email": true, "first_name": true, "last_name": true, "company": true, "title": true,
	"phone": true, "met_at": true, "first_contact": true, "timezone": true, "language": true,
	"country": true, "sender": true, "basis": true, "basis_date": true, "basis_source": true,
}

// normalizeNewlines turns CR LF and lone CR into LF.
func normalizeNewlines(v string) string {
	if strings.IndexByte(v, '\r') < 0 {
		return v
	}
	return strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n")
}

func validUTF8(s string) bool { return utf8.ValidString(s) }

// encodingHint tells the user which encoding the bytes of v look like.
func encodingHint(v string) string {
	enc := guess8bit([]byte(v))
	return fmt.Sprintf("it looks like %s: import it with --encoding %s (or leave --encoding out to detect it)", enc, enc)
}

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
// day that does not exist (31/11/2026), and so does every layout here.
var (
	dateLayouts = []string{"2006-1-2", "2/1/2006", "2.1.2006"}
	// With a time of day, as Excel writes date-times in Italian and Polish
	// locales ("24/11/2026 10:30", "24.11.2026 10:30") and in ISO order.
	dateTimeLayouts = []string{
		"2006-1-2 15:04", "2006-1-2 15:04:05", "2006-1-2T15:04", "2006-1-2T15:04:05",
		"2/1/2006 15:04", "2/1/2006 15:04:05", "2.1.2006 15:04", "2.1.2006 15:04:05",
	}
)

// DateFormats describes what parseFirstContact accepts, for messages.
const DateFormats = "YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY, optionally with HH:MM, RFC 3339, or an Excel serial number"

// Excel serial numbers: days since 1899-12-30 (the epoch that absorbs
// Lotus 1-2-3's phantom 29 February 1900), the fraction the time of day.
// Only 5-digit serials are dates (1927 to 2173): a smaller number in a
// date column is more likely a mistake than 1900s history.
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

const (
	excelMinSerial = 10000
	excelMaxSerial = 99999
)

// parseFirstContact reads a date as 00:00 that day in loc, a date and time
// as that wall time in loc, an RFC 3339 timestamp as that instant, or an
// Excel serial number (a cell Excel exported unformatted) as its wall time
// in loc.
func parseFirstContact(v string, loc *time.Location) (time.Time, bool) {
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, v, loc); err == nil {
			return t, true
		}
	}
	for _, l := range dateTimeLayouts {
		if t, err := time.ParseInLocation(l, v, loc); err == nil {
			return t, true
		}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	return parseExcelSerial(v, loc)
}

// parseExcelSerial reads "46350" or "46350.4375" (a decimal comma too).
func parseExcelSerial(v string, loc *time.Location) (time.Time, bool) {
	whole, frac, _ := strings.Cut(strings.Replace(v, ",", ".", 1), ".")
	if len(whole) != 5 || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" ||
		strings.ContainsAny(v, ".,") && frac == "" {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(whole+"."+frac+"0", 64)
	if err != nil || f < excelMinSerial || f > excelMaxSerial {
		return time.Time{}, false
	}
	days := int(f)
	secs := int((f-float64(days))*86400 + 0.5) // to the nearest second
	d := excelEpoch.AddDate(0, 0, days)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, secs, 0, loc), true
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
