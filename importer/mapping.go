package importer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Mapping is how a file is read: its encoding, its delimiter, and what
// each column of its header loads into. It is shown before an import
// starts (and by a dry run), so that a column that went nowhere useful is
// seen before the first email goes out.
type Mapping struct {
	File      string
	Encoding  Encoding
	Delimiter rune
	Columns   []Column
}

// Report is the mapping as lines for a person:
//
//	leads.csv: windows-1250 (detected), delimiter ';', 5 columns
//	  "E-mail"         -> email
//	  "Data kontaktu"  -> first_contact (alias)
//	  "Stoisko"        -> custom field stoisko
func (m Mapping) Report() string {
	var b strings.Builder
	delim := string(m.Delimiter)
	if m.Delimiter == '\t' {
		delim = `\t`
	}
	fmt.Fprintf(&b, "%s: %s, delimiter '%s', %d columns\n", m.File, m.Encoding, delim, len(m.Columns))
	width := 0
	for _, c := range m.Columns {
		width = max(width, utf8.RuneCountInString(fmt.Sprintf("%q", c.Header)))
	}
	for _, c := range m.Columns {
		h := fmt.Sprintf("%q", c.Header)
		fmt.Fprintf(&b, "  %s%s -> %s\n", h, strings.Repeat(" ", width-utf8.RuneCountInString(h)), c.Meaning())
	}
	return b.String()
}

// Meaning says in words where the column goes.
func (c Column) Meaning() string {
	switch c.Via {
	case ViaIgnore:
		switch {
		case c.Key == ReasonColumn:
			return "ignored (a reject file's reason)"
		case strings.TrimSpace(c.Header) == "":
			return "ignored (no name)"
		}
		return "ignored (mapped)"
	case ViaCustom:
		return "custom field " + c.Key
	case ViaAlias, ViaMap:
		if c.Custom {
			return fmt.Sprintf("%s (%s, custom field)", c.Key, c.Via)
		}
		return fmt.Sprintf("%s (%s)", c.Key, c.Via)
	}
	if c.Custom {
		return c.Key + " (custom field)"
	}
	return c.Key
}
