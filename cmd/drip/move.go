package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/drip-email/drip/sequencer"
)

// drip unenroll and drip move: ending one enrollment without suppressing
// the address, and moving a prospect to another sequence.

func init() {
	register(&command{
		name:    "unenroll",
		args:    "EMAIL --sequence S",
		summary: "end a prospect's enrollment in one sequence without suppressing the address (state unenrolled)",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			seq := fs.String("sequence", "", "the `SEQUENCE` to take the prospect out of (required)")
			return func(ctx context.Context, args []string) error {
				return onProspect(ctx, g, args, func() error {
					if *seq == "" {
						return usagef("--sequence is required")
					}
					return nil
				}, func(c *sequencer.Control, email string) error {
					e, err := c.Unenroll(ctx, email, *seq)
					if err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "unenrolled %s from %s after step %d (not suppressed: other sequences may still write)\n", email, e.Sequence, e.LastStep)
					return nil
				})
			}
		},
	})
	register(&command{
		name:    "move",
		args:    "EMAIL --from S --to T",
		summary: "move a prospect from one sequence to another (same first contact and sender; the old enrollment ends unenrolled)",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			from := fs.String("from", "", "the `SEQUENCE` the prospect runs in now (required)")
			to := fs.String("to", "", "the `SEQUENCE` to move it to (required)")
			return func(ctx context.Context, args []string) error {
				return onProspect(ctx, g, args, func() error {
					if *from == "" || *to == "" {
						return usagef("--from and --to are required")
					}
					return nil
				}, func(c *sequencer.Control, email string) error {
					res, err := c.Move(ctx, email, *from, *to)
					if err != nil {
						return err
					}
					printWarnings(g, res.Warnings)
					v, err := c.ProspectView(ctx, email)
					if err != nil {
						return err
					}
					e := enrollmentIn(v, *to)
					fmt.Fprintf(g.stdout, "moved %s from %s (after step %d) to %s (first contact %s): %s\n",
						email, *from, res.From.LastStep, *to, showTime(e.FirstContact), nextSendText(e))
					return nil
				})
			}
		},
	})
}

// printWarnings writes what the user should know about a change that was
// made all the same.
func printWarnings(g *globals, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
}
