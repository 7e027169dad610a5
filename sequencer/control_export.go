package sequencer

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/drip-email/drip/store"
)

// ExportProspects writes the prospects a list filter finds (the web UI's
// list, all pages) as CSV: UTF-8 with a byte order mark so that Excel shows
// the accents, the contract's column names so that the file imports again
// as it is, then the shown enrollment (sequence, sender, state, last step,
// next send, first contact, in the prospect's zone) and one column per
// custom field any of them has. It returns how many rows it wrote.
//
// A cell that a spreadsheet would run as a formula (starting with =, @, or
// + or - before something that is not a number: "=HYPERLINK(…)" typed into
// a fair's sign-up form) is written with a leading apostrophe, which Excel
// shows as text.
func (c *Control) ExportProspects(ctx context.Context, w io.Writer, f store.ProspectFilter) (int, error) {
	f.Limit, f.Offset, f.CountUpTo = 0, 0, 0
	rows, _, err := c.Store.ProspectList(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("listing prospects: %w", err)
	}
	var custom []string
	seen := map[string]bool{}
	for _, r := range rows {
		for k := range r.Prospect.Fields {
			if !seen[k] {
				seen[k] = true
				custom = append(custom, k)
			}
		}
	}
	slices.Sort(custom)
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return 0, fmt.Errorf("writing the export: %w", err)
	}
	cw := csv.NewWriter(w)
	header := []string{"email", "first_name", "last_name", "company", "title", "phone", "met_at", "timezone",
		"language", "notes", "sequence", "sender", "state", "last_step", "next_send_at", "first_contact"}
	if err := cw.Write(append(header, custom...)); err != nil {
		return 0, fmt.Errorf("writing the export: %w", err)
	}
	rec := make([]string, 0, len(header)+len(custom))
	for _, r := range rows {
		p := r.Prospect
		rec = append(rec[:0], p.Email, p.FirstName, p.LastName, p.Company, p.Title, p.Phone, p.MetAt,
			p.Timezone, p.Language, p.Notes)
		if e := r.Enrollment; e != nil {
			loc := time.UTC
			if seq, ok := c.Config.Sequences[e.Sequence]; ok {
				loc = Location(p, seq)
			}
			next := ""
			if e.NextSendAt != nil {
				next = e.NextSendAt.In(loc).Format(time.RFC3339)
			}
			rec = append(rec, e.Sequence, e.Sender, string(e.State), strconv.Itoa(e.LastStep), next,
				e.FirstContact.In(loc).Format(time.RFC3339))
		} else {
			rec = append(rec, "", "", "", "", "", "")
		}
		for _, k := range custom {
			rec = append(rec, p.Fields[k])
		}
		for i, v := range rec {
			rec[i] = defuseFormula(v)
		}
		if err := cw.Write(rec); err != nil {
			return 0, fmt.Errorf("writing the export: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return 0, fmt.Errorf("writing the export: %w", err)
	}
	return len(rows), nil
}

// defuseFormula keeps a spreadsheet from running a cell as a formula.
func defuseFormula(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '@':
		return "'" + v
	case '+', '-':
		if len(v) == 1 || !('0' <= v[1] && v[1] <= '9' || v[1] == ' ' || v[1] == '(') {
			return "'" + v
		}
	}
	return v
}
