package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store/storeopen"
)

func init() {
	register(&command{
		name:    "migrate",
		args:    "[--status]",
		summary: "apply pending schema migrations (safe from several instances at once)",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			status := fs.Bool("status", false, "list the migrations and whether each is applied; change nothing")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				cfg, err := loadConfig(g)
				if err != nil {
					return err
				}
				return runMigrate(ctx, g, cfg, *status)
			}
		},
	})
}

func runMigrate(ctx context.Context, g *globals, cfg *configs.Config, status bool) error {
	st, dialect, db, err := storeopen.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	if !status {
		n, err := migrations.Up(ctx, db, dialect)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "migrate: applied %d migration(s)\n", n)
	}
	list, err := migrations.List(ctx, db, dialect)
	if err != nil {
		return err
	}
	for _, m := range list {
		state := "pending"
		if m.Applied {
			state = "applied " + m.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		if status || !m.Applied {
			fmt.Fprintf(g.stdout, "%05d %-40s %s\n", m.Version, m.Name, state)
		}
	}
	if len(list) > 0 {
		fmt.Fprintf(g.stdout, "migrate: schema version %d (%s)\n", list[len(list)-1].Version, dialect)
	}
	return nil
}
