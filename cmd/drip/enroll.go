package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/drip-email/drip/sequencer"
)

func init() {
	register(&command{
		name:    "enroll",
		args:    "--sequence S --email E [--first-name --last-name --company --met-at --first-contact DATE --timezone TZ --language L --basis B --basis-date D --basis-source TEXT --country CC --sender NAME --field k=v ...]",
		summary: "enrol one lead in a sequence (the sales rep after a trade fair)",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			var req sequencer.EnrollRequest
			p := &req.Prospect
			fields := fieldFlag{}
			fs.StringVar(&req.Sequence, "sequence", "", "sequence `NAME` (required)")
			fs.StringVar(&p.Email, "email", "", "the lead's email `ADDRESS` (required)")
			fs.StringVar(&p.FirstName, "first-name", "", "the lead's first `NAME`")
			fs.StringVar(&p.LastName, "last-name", "", "the lead's last `NAME`")
			fs.StringVar(&p.Company, "company", "", "the lead's `COMPANY`")
			fs.StringVar(&p.Title, "title", "", "the lead's job `TITLE`")
			fs.StringVar(&p.Phone, "phone", "", "the lead's `PHONE` number")
			fs.StringVar(&p.MetAt, "met-at", "", "where you met, e.g. `\"EIMA 2026, booth B12\"`")
			fs.StringVar(&req.FirstContact, "first-contact", "", "`DATE` of first contact: YYYY-MM-DD or DD/MM/YYYY (00:00 that day in the lead's time zone) or RFC 3339 (default now)")
			fs.StringVar(&p.Timezone, "timezone", "", "the lead's IANA time `ZONE`, e.g. Europe/Warsaw (default: the sequence's)")
			fs.StringVar(&p.Language, "language", "", "the lead's `LANGUAGE`, e.g. it or pl")
			fs.StringVar(&p.Notes, "notes", "", "free `TEXT` about the lead (never used in emails)")
			fs.StringVar(&req.Sender, "sender", "", "sender `NAME` (default: the first configured)")
			fs.Var(fields, "field", "custom field `KEY=VALUE` the templates use (repeatable)")
			var basis sequencer.Basis
			fs.StringVar(&basis.Basis, "basis", "", "the lawful `BASIS` for writing: consent, customer or legitimate_interest")
			fs.StringVar(&basis.Date, "basis-date", "", "`DATE` the basis was given, e.g. 2026-11-20")
			fs.StringVar(&basis.Source, "basis-source", "", "where and how, e.g. `\"business card left at our stand, EIMA 2026\"`")
			fs.StringVar(&basis.Country, "country", "", "the lead's `COUNTRY` (ISO 3166 alpha-2, e.g. PL)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q (every value is a flag, e.g. --email %s)", args[0], args[0])
				}
				if req.Sequence == "" || p.Email == "" {
					return usagef("--sequence and --email are required")
				}
				p.Fields = sequencer.WithBasis(fields, basis)
				return runEnroll(ctx, g, req)
			}
		},
	})
}

func runEnroll(ctx context.Context, g *globals, req sequencer.EnrollRequest) error {
	c, done, err := openControl(ctx, g)
	if err != nil {
		return err
	}
	defer done()
	res, err := c.Enroll(ctx, req)
	if err != nil {
		return err
	}
	printWarnings(g, res.Warnings)
	v, err := c.ProspectView(ctx, res.Prospect.Email)
	if err != nil {
		return err
	}
	e := enrollmentIn(v, res.Enrollment.Sequence)
	if !res.Created {
		what := "enrollment unchanged"
		if len(res.Replanned) > 0 {
			what = fmt.Sprintf("first contact now %s, %d running enrollment(s) re-planned", showTime(e.FirstContact), len(res.Replanned))
		}
		fmt.Fprintf(g.stdout, "%s was already enrolled in %s (%s, step %d of %d); prospect data updated, %s: %s\n",
			res.Prospect.Email, e.Sequence, e.State, e.LastStep, e.Steps, what, nextSendText(e))
		return nil
	}
	fmt.Fprintf(g.stdout, "enrolled %s in %s (sender %s, first contact %s): %s\n",
		res.Prospect.Email, e.Sequence, e.Sender, showTime(e.FirstContact), nextSendText(e))
	return nil
}

// fieldFlag collects repeated --field key=value flags.
type fieldFlag map[string]string

func (f fieldFlag) String() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + f[k]
	}
	return strings.Join(keys, ",")
}

func (f fieldFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q: want KEY=VALUE", s)
	}
	f[strings.TrimSpace(k)] = v
	return nil
}
