package sequencer

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/store"
)

// ErrNoBasis is the Kind of a UserError refusing to enrol a prospect
// without a lawful basis in a sequence with require_basis (the API answers
// 422).
var ErrNoBasis = errors.New("no lawful basis")

// basisMissing says why p (given now, laid over known, what is stored)
// cannot be enrolled in seq for want of a lawful basis, or "" when it can.
func basisMissing(seq *configs.Sequence, p, known store.Prospect) string {
	pick := func(key string) string {
		if v := strings.TrimSpace(p.Fields[key]); v != "" {
			return v
		}
		return strings.TrimSpace(known.Fields[key])
	}
	if pick(importer.FieldBasis) != "" {
		return ""
	}
	country, lang := pick(importer.FieldCountry), p.Language
	if lang == "" {
		lang = known.Language
	}
	if !seq.RequireBasis.Required(country, lang) {
		return ""
	}
	who := ""
	if !seq.RequireBasis.All {
		who = fmt.Sprintf(" for prospects of %s", seq.RequireBasis)
	}
	return fmt.Sprintf("no lawful basis: sequence %s requires one%s (require_basis); give basis (consent, customer or legitimate_interest), basis_date and basis_source",
		seq.Name, who)
}

// Basis is a prospect's lawful basis as the front ends take and show it.
type Basis struct {
	Basis   string `json:"basis"`        // consent, customer or legitimate_interest; "" = none on record
	Date    string `json:"basis_date"`   // YYYY-MM-DD, "" when not given
	Source  string `json:"basis_source"` // where and how, e.g. "business card left at our stand, EIMA 2026"
	Country string `json:"country"`      // ISO 3166 alpha-2, as given
}

// WithBasis is fields with b's non-empty values set under their keys (a
// new map; fields is not changed).
func WithBasis(fields map[string]string, b Basis) map[string]string {
	out := make(map[string]string, len(fields)+4)
	for k, v := range fields {
		out[k] = v
	}
	for k, v := range map[string]string{importer.FieldBasis: b.Basis, importer.FieldBasisDate: b.Date,
		importer.FieldBasisSource: b.Source, importer.FieldCountry: b.Country} {
		if strings.TrimSpace(v) != "" {
			out[k] = v
		}
	}
	return out
}

// BasisOf reads the basis kept among a prospect's fields, and returns the
// other fields apart.
func BasisOf(fields map[string]string) (Basis, map[string]string) {
	b := Basis{Basis: fields[importer.FieldBasis], Date: fields[importer.FieldBasisDate],
		Source: fields[importer.FieldBasisSource], Country: fields[importer.FieldCountry]}
	rest := make(map[string]string, len(fields))
	for k, v := range fields {
		switch k {
		case importer.FieldBasis, importer.FieldBasisDate, importer.FieldBasisSource, importer.FieldCountry:
		default:
			rest[k] = v
		}
	}
	return b, rest
}

// EventBasis is the timeline entry of a prospect's lawful basis: at its
// date (00:00 in the prospect's zone), else when the prospect was first
// stored; Detail says which basis and where it comes from.
const EventBasis store.EventKind = "basis"

func basisEntry(b Basis, p store.Prospect, loc *time.Location) (TimelineEntry, bool) {
	if b.Basis == "" {
		return TimelineEntry{}, false
	}
	at := p.CreatedAt.In(loc).Truncate(time.Second)
	if d, err := time.ParseInLocation(time.DateOnly, b.Date, loc); err == nil {
		at = d
	}
	detail := b.Basis
	if b.Source != "" {
		detail += ": " + b.Source
	}
	return TimelineEntry{At: at, Kind: EventBasis, Detail: detail}, true
}

// insertByTime puts e into the timeline (oldest first) after the entries
// at or before its time.
func insertByTime(tl []TimelineEntry, e TimelineEntry) []TimelineEntry {
	i := sort.Search(len(tl), func(i int) bool { return tl[i].At.After(e.At) })
	return slices.Insert(tl, i, e)
}
