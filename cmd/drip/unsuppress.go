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
		name:    "unsuppress",
		args:    "EMAIL --reason TEXT [flags]",
		summary: "lift a wrong suppression (kept in the timeline with its reason); its ended enrollments come back paused",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			reason := fs.String("reason", "", "why the suppression is lifted (required; kept in the prospect's timeline)")
			return func(ctx context.Context, args []string) error {
				return onProspect(ctx, g, args, func() error {
					if strings.TrimSpace(*reason) == "" {
						return usagef("--reason is required: it is kept in the prospect's timeline")
					}
					return nil
				}, func(ctl *sequencer.Control, email string) error {
					reopened, err := ctl.Unsuppress(ctx, email, *reason)
					if err != nil {
						return err
					}
					if len(reopened) == 0 {
						fmt.Fprintf(g.stdout, "unsuppressed %s: it may be enrolled and written to again\n", email)
						return nil
					}
					seqs := make([]string, len(reopened))
					for i, e := range reopened {
						seqs[i] = e.Sequence
					}
					fmt.Fprintf(g.stdout, "unsuppressed %s: %d enrollment(s) paused where they ended (%s); `drip resume %s` sends again\n",
						email, len(reopened), strings.Join(seqs, ", "), email)
					return nil
				})
			}
		},
	})
}
