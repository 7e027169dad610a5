package main

import (
	"context"
	"flag"

	"github.com/drip-email/drip/cmd/internal/daemon"
)

func init() {
	register(&command{
		name:    "serve",
		args:    "[flags]",
		summary: "run the engine: scheduler, SMTP workers, IMAP watchers, HTTP API and /metrics",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				cfg, err := loadConfig(g)
				if err != nil {
					return err
				}
				if err := refuseExposure(cfg); err != nil {
					return err
				}
				log, err := newLogger(g)
				if err != nil {
					return err
				}
				d, err := daemon.New(ctx, daemon.Options{Config: cfg, Log: log})
				if err != nil {
					return err
				}
				return d.Run(ctx)
			}
		},
	})
}
