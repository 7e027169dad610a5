package sequencer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/store"
)

// Bulk actions: the hand controls (pause, resume, unsubscribe, unenroll)
// over a list of addresses, as a sales team gets them ("stop everyone from
// this account", "pause the list the CRM flagged").

// BulkActions are the actions Bulk knows.
var BulkActions = []string{"pause", "resume", "unsubscribe", "unenroll"}

// BulkResult counts what a bulk action did.
type BulkResult struct {
	Action    string
	Changed   int      // prospects (or addresses) the action changed
	Unchanged int      // known, but nothing to do (not active, already ended, …)
	Unknown   []string // addresses of no prospect
	Invalid   []string // not an address at all
}

func (r BulkResult) String() string {
	past := map[string]string{"pause": "paused", "resume": "resumed", "unsubscribe": "unsubscribed", "unenroll": "unenrolled"}[r.Action]
	return fmt.Sprintf("%s=%d unchanged=%d unknown=%d invalid=%d", past, r.Changed, r.Unchanged, len(r.Unknown), len(r.Invalid))
}

// maxBulkAddresses bounds one bulk action.
const maxBulkAddresses = 1_000_000

// ReadAddresses reads the addresses of a bulk action: one a line, or any
// CSV (an export of the prospect list, say): the first cell of each line
// that holds an @ is the address; lines without one (a header, blank
// lines) are skipped. Repeated addresses count once.
func ReadAddresses(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := map[string]bool{}
	var out []string
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "\uFEFF")
		for _, cell := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ';' || r == '\t' }) {
			cell = strings.Trim(strings.TrimSpace(cell), `"`)
			if !strings.Contains(cell, "@") {
				continue
			}
			if n := store.NormalizeEmail(cell); !seen[n] {
				seen[n] = true
				out = append(out, cell)
			}
			break
		}
		if len(out) > maxBulkAddresses {
			return nil, invalidf("more than %d addresses: split the list", maxBulkAddresses)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the addresses: %w", err)
	}
	return out, nil
}

// Bulk applies action to every address, one prospect at a time (each as
// the single-prospect command does it), and counts. sequence is required
// by unenroll and ignored by the others. An error of the store ends it,
// with the counts so far.
func (c *Control) Bulk(ctx context.Context, action string, emails []string, sequence string) (BulkResult, error) {
	res := BulkResult{Action: action}
	var do func(email string) (bool, error)
	switch action {
	case "pause":
		do = func(e string) (bool, error) { got, err := c.Pause(ctx, e); return len(got) > 0, err }
	case "resume":
		do = func(e string) (bool, error) { got, err := c.Resume(ctx, e); return len(got) > 0, err }
	case "unsubscribe":
		do = func(e string) (bool, error) {
			_, err := c.Unsubscribe(ctx, e, "unsubscribed in bulk")
			return true, err
		}
	case "unenroll":
		if _, err := c.sequence(sequence); err != nil {
			return res, err
		}
		do = func(e string) (bool, error) { _, err := c.Unenroll(ctx, e, sequence); return err == nil, err }
	default:
		return res, invalidf("unknown bulk action %q (want one of %s)", action, strings.Join(BulkActions, ", "))
	}
	for _, email := range emails {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		email = strings.TrimSpace(email)
		if importer.CheckEmail(email) != "" {
			res.Invalid = append(res.Invalid, email)
			continue
		}
		changed, err := do(email)
		var ue *UserError
		switch {
		case err == nil && changed:
			res.Changed++
		case err == nil, errors.As(err, &ue) && errors.Is(err, store.ErrConflict):
			res.Unchanged++
		case errors.As(err, &ue) && errors.Is(err, store.ErrNotFound):
			if action == "unenroll" {
				if _, perr := c.Prospect(ctx, email); perr == nil {
					res.Unchanged++ // known, not in that sequence
					continue
				}
			}
			res.Unknown = append(res.Unknown, email)
		default:
			return res, err
		}
	}
	if res.Changed > 0 && action == "resume" {
		c.wake()
	}
	return res, nil
}
