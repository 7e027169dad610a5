package main

import (
	"context"
	"flag"
	"fmt"
)

// drip sender resume NAME: lets a held sender send again.
func init() {
	register(&command{
		name:    "sender",
		args:    "resume NAME",
		summary: "resume NAME: let a sender held by its circuit breaker or provider (or any hold) send again",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				if len(args) != 2 || args[0] != "resume" {
					return usagef("want: drip sender resume NAME")
				}
				c, done, err := openControl(ctx, g)
				if err != nil {
					return err
				}
				defer done()
				lifted, err := c.SenderResume(ctx, args[1])
				if err != nil {
					return err
				}
				if lifted.Reason == "" {
					fmt.Fprintf(g.stdout, "sender %s was not held; nothing to do\n", args[1])
					return nil
				}
				fmt.Fprintf(g.stdout, "sender %s resumed (was held: %s since %s); its waiting steps go out within seconds\n",
					args[1], lifted.Reason, showTime(lifted.Since))
				return nil
			}
		},
	})
}
