package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/drip-email/drip/sequencer"
)

func init() {
	register(&command{
		name:    "bulk",
		args:    "pause|resume|unsubscribe|unenroll [--sequence S] FILE",
		summary: "pause, resume, unsubscribe or unenroll many prospects: one address a line, or any CSV with an address on each line (FILE - reads stdin)",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			seq := fs.String("sequence", "", "the `SEQUENCE` to unenroll from (unenroll only)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 2 {
					return usagef("want an action (%s) and a FILE, got %d arguments", strings.Join(sequencer.BulkActions, ", "), len(args))
				}
				action, file := args[0], args[1]
				if action == "unenroll" && *seq == "" {
					return usagef("unenroll needs --sequence")
				}
				in, _, _, err := openInput(file)
				if err != nil {
					return err
				}
				defer in.Close()
				emails, err := sequencer.ReadAddresses(in)
				if err != nil {
					return err
				}
				c, done, err := openControl(ctx, g)
				if err != nil {
					return err
				}
				defer done()
				res, err := c.Bulk(ctx, action, emails, *seq)
				for i, e := range res.Unknown {
					if i == maxRejectsShown {
						fmt.Fprintf(g.stderr, "... and %d more unknown addresses\n", len(res.Unknown)-i)
						break
					}
					fmt.Fprintf(g.stderr, "unknown: %s (no such prospect)\n", e)
				}
				for _, e := range res.Invalid {
					fmt.Fprintf(g.stderr, "invalid address: %q\n", e)
				}
				if err != nil {
					if res.Changed+res.Unchanged > 0 {
						fmt.Fprintf(g.stderr, "drip bulk: stopped early; done so far: %s\n", res)
					}
					return err
				}
				fmt.Fprintln(g.stdout, res)
				if n := len(res.Unknown) + len(res.Invalid); n > 0 {
					return exitError{code: 1, msg: fmt.Sprintf("%d address(es) not found or invalid", n)}
				}
				return nil
			}
		},
	})
}
