package importer

import (
	"bytes"
	"fmt"
	"strings"
)

// field is what a column holds.
type field int

const (
	fieldCustom field = iota // any other column: a custom field
	fieldIgnored
	fieldEmail
	fieldFirstName
	fieldLastName
	fieldCompany
	fieldTitle
	fieldPhone
	fieldMetAt
	fieldFirstContact
	fieldTimezone
	fieldLanguage
	fieldSender
	fieldNotes
)

// knownColumns are the contract's column names.
var knownColumns = map[string]field{
	"email":         fieldEmail,
	"first_name":    fieldFirstName,
	"last_name":     fieldLastName,
	"company":       fieldCompany,
	"title":         fieldTitle,
	"phone":         fieldPhone,
	"met_at":        fieldMetAt,
	"first_contact": fieldFirstContact,
	"timezone":      fieldTimezone,
	"language":      fieldLanguage,
	"sender":        fieldSender,
	"notes":         fieldNotes,
}

// aliases are other spellings that spreadsheets and CRMs export, already
// normalised (see normalizeColumn).
var aliases = map[string]string{
	"e_mail":         "email",
	"email_address":  "email",
	"e_mail_address": "email",
	"firstname":      "first_name",
	"lastname":       "last_name",
	"surname":        "last_name",
	"company_name":   "company",
	"organization":   "company",
	"organisation":   "company",
	"tz":             "timezone",
	"time_zone":      "timezone",
	"met":            "met_at",
	"met_where":      "met_at",
	"event":          "met_at",
	// Italian and Polish exports (Excel in those locales names the columns
	// in the user's language).
	"nome":            "first_name",
	"cognome":         "last_name",
	"azienda":         "company",
	"società":         "company",
	"societa":         "company",
	"ragione_sociale": "company",
	"telefono":        "phone",
	"imię":            "first_name",
	"imie":            "first_name",
	"nazwisko":        "last_name",
	"firma":           "company",
	"telefon":         "phone",
}

// ReasonColumn is the column drip adds to a reject file. A column of that
// name is ignored on import, so a fixed reject file re-imports as it is.
const ReasonColumn = "reason"

// Column describes one column of the header.
type Column struct {
	Header  string // as written in the file
	Key     string // normalised name: a known column, or the custom field's key
	Custom  bool   // not a known column: stored in Prospect.Fields[Key]
	Ignored bool   // not loaded: the reason column, or a column without a name
	kind    field
}

// normalizeColumn lower-cases a header cell and turns runs of spaces, dashes
// and underscores into one underscore: "E-mail" → "e_mail", "First Name" →
// "first_name".
func normalizeColumn(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	b.Grow(len(h))
	sep := false
	for _, r := range h {
		if r == ' ' || r == '-' || r == '_' || r == '\t' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('_')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}

// columnsFor maps the header record to columns, or says why it cannot be
// imported. line is the header's line in the file.
func columnsFor(header []string, file string, line int) ([]Column, error) {
	cols := make([]Column, len(header))
	seen := make(map[string]int, len(header))
	hasEmail := false
	for i, h := range header {
		key := normalizeColumn(h)
		if a, ok := aliases[key]; ok {
			key = a
		}
		c := Column{Header: h, Key: key}
		switch kind, known := knownColumns[key]; {
		case key == "" || key == ReasonColumn:
			c.Ignored, c.kind = true, fieldIgnored
		case known:
			c.kind = kind
		default:
			c.Custom, c.kind = true, fieldCustom
		}
		cols[i] = c
		if c.Ignored {
			continue
		}
		if j, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate column %q: column %d (%q) and column %d (%q)",
				file, line, key, j+1, header[j], i+1, h)
		}
		seen[key] = i
		hasEmail = hasEmail || c.kind == fieldEmail
	}
	if !hasEmail {
		return nil, fmt.Errorf("%s:%d: no email column in the header (found %s)", file, line, listHeader(header))
	}
	return cols, nil
}

// listHeader quotes the first few header cells for an error message.
func listHeader(header []string) string {
	const most = 8
	var q []string
	for i, h := range header {
		if i == most {
			q = append(q, fmt.Sprintf("and %d more", len(header)-most))
			break
		}
		q = append(q, fmt.Sprintf("%q", strings.TrimSpace(h)))
	}
	return strings.Join(q, ", ")
}

// detectDelimiter looks at the start of the decoded text (head; atEOF when
// that is the whole file) and picks the delimiter of the header row: the
// one of ',' ';' and tab that occurs most often outside quotes. An Excel
// "sep=;" line in front of the header names it explicitly (sepLine).
func detectDelimiter(head []byte, atEOF bool, file string) (comma rune, sepLine bool, err error) {
	// Skip blank lines, as encoding/csv does.
	for {
		nl := bytes.IndexByte(head, '\n')
		if nl < 0 || len(bytes.TrimSpace(head[:nl])) > 0 {
			break
		}
		head = head[nl+1:]
	}
	if first, _, _ := bytes.Cut(head, []byte("\n")); len(first) > 0 {
		first = bytes.TrimRight(first, "\r")
		if len(first) == 5 && strings.EqualFold(string(first[:4]), "sep=") && bytes.IndexByte([]byte(",;\t|"), first[4]) >= 0 {
			return rune(first[4]), true, nil
		}
	}
	var commas, semis, tabs int
	inQuote, ended := false, false
	for _, c := range head {
		if c == '"' {
			inQuote = !inQuote // a doubled quote toggles twice
			continue
		}
		if inQuote {
			continue
		}
		if c == '\n' {
			ended = true
			break
		}
		switch c {
		case ',':
			commas++
		case ';':
			semis++
		case '\t':
			tabs++
		}
	}
	if !ended && !atEOF {
		return 0, false, fmt.Errorf("%s: the header row is longer than %d KiB", file, bufSize>>10)
	}
	switch {
	case semis > commas && semis >= tabs:
		return ';', false, nil
	case tabs > commas && tabs > semis:
		return '\t', false, nil
	}
	return ',', false, nil
}
