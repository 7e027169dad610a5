package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/drip-email/drip/sequencer"
)

func init() {
	register(&command{
		name:    "export",
		args:    "EMAIL [--output FILE] [flags]",
		summary: "everything drip holds about a prospect, as JSON (an access request's answer)",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			output := fs.String("output", "", "write to `FILE` (created, mode 0600) instead of standard output")
			return func(ctx context.Context, args []string) error {
				return onProspect(ctx, g, args, nil, func(ctl *sequencer.Control, email string) error {
					x, err := ctl.ExportProspect(ctx, email)
					if err != nil {
						return err
					}
					b, err := json.MarshalIndent(x, "", "  ")
					if err != nil {
						return fmt.Errorf("encoding the export: %w", err)
					}
					b = append(b, '\n')
					if *output == "" {
						_, err = g.stdout.Write(b)
						return err
					}
					// Personal data: readable by its owner only, and never
					// over a file that exists.
					f, err := os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
					if err != nil {
						return fmt.Errorf("writing the export: %w", err)
					}
					if _, err := f.Write(b); err != nil {
						f.Close()
						os.Remove(*output)
						return fmt.Errorf("writing the export: %w", err)
					}
					if err := f.Close(); err != nil {
						os.Remove(*output)
						return fmt.Errorf("writing the export: %w", err)
					}
					fmt.Fprintf(g.stdout, "wrote %s: %d enrollment(s), %d message(s), %d event(s)\n",
						*output, len(x.Enrollments), len(x.Messages), len(x.Events))
					return nil
				})
			}
		},
	})
}
