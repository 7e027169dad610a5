package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/templates"
)

func init() {
	register(&command{
		name:    "check",
		args:    "[flags]",
		summary: "validate the configuration, sequences and templates (every step renders with sample data)",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			withDNS := fs.Bool("dns", false, "also look up each sender domain's SPF, DKIM, DMARC and MX (server: $DRIP_DNS_SERVER, else /etc/resolv.conf)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				return runCheck(ctx, g, *withDNS)
			}
		},
	})
}

// runCheck checks in the background and returns when that is done or
// when ctx ends (SIGTERM, Ctrl-C): no template, however slow, holds it.
func runCheck(ctx context.Context, g *globals, withDNS bool) error {
	done := make(chan error, 1)
	var out, errOut bytes.Buffer
	go func() {
		gg := *g
		gg.stdout, gg.stderr = &out, &errOut
		done <- check(ctx, &gg, withDNS)
	}()
	select {
	case err := <-done:
		_, _ = g.stdout.Write(out.Bytes())
		_, _ = g.stderr.Write(errOut.Bytes())
		return err
	case <-ctx.Done():
		return exitError{code: 1, msg: "interrupted before the check was done"}
	}
}

func check(ctx context.Context, g *globals, withDNS bool) error {
	cfg, err := configs.Load(g.config)
	var problems []string
	if err != nil {
		var ps *configs.Problems
		if !errors.As(err, &ps) {
			return err
		}
		problems = append(problems, ps.List...)
	}
	var warnings []string
	if cfg != nil {
		problems = append(problems, cfg.ExposureProblems()...)
		p, w := templates.CheckContext(ctx, cfg)
		problems = append(problems, p...)
		warnings = append(cfg.Warnings(), w...)
		problems = append(problems, checkAgainstStore(ctx, cfg)...)
		warnings = append(warnings, checkProtect(ctx, cfg)...)
		if withDNS {
			p, w := checkDNS(ctx, cfg, g.stdout)
			problems = append(problems, p...)
			warnings = append(warnings, w...)
		}
		if len(problems) == 0 {
			warnings = append(warnings, grantWarnings(ctx, cfg)...)
		}
	}
	for _, w := range warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	for _, p := range problems {
		fmt.Fprintln(g.stderr, p)
	}
	if len(problems) > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d problem(s)", len(problems))}
	}
	steps := 0
	for _, s := range cfg.Sequences {
		steps += s.Steps
	}
	fmt.Fprintf(g.stdout, "ok: %s, %d sequence(s), %d step template(s), %d sender(s)\n",
		g.config, len(cfg.Sequences), steps, len(cfg.Senders))
	return nil
}
