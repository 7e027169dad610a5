package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// The hand controls of one prospect: pause, resume, unsubscribe, forget.

func init() {
	for _, c := range []struct {
		name, summary string
		run           func(ctx context.Context, g *globals, c *sequencer.Control, email string) error
	}{
		{"pause", "pause every active enrollment of a prospect (nothing is sent until resume)", runPause},
		{"resume", "resume a prospect's paused or replied enrollments; the schedule shifts by the time paused", runResume},
		{"unsubscribe", "suppress an address: its enrollments end and it is never written to or enrolled again", runUnsubscribe},
		{"forget", "erase a prospect's personal data from every table; only a hashed suppression entry stays", runForget},
	} {
		register(&command{
			name:    c.name,
			args:    "EMAIL [flags]",
			summary: c.summary,
			setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
				return func(ctx context.Context, args []string) error {
					return onProspect(ctx, g, args, nil, func(ctl *sequencer.Control, email string) error {
						return c.run(ctx, g, ctl, email)
					})
				}
			},
		})
	}
}

// onProspect runs a command on the one address in args: args must hold
// exactly one, flags (nil: none to check) must accept the flags given, and
// only then is the store opened for run.
func onProspect(ctx context.Context, g *globals, args []string, flags func() error, run func(*sequencer.Control, string) error) error {
	if len(args) != 1 {
		return usagef("want one email address, got %d arguments", len(args))
	}
	if flags != nil {
		if err := flags(); err != nil {
			return err
		}
	}
	ctl, done, err := openControl(ctx, g)
	if err != nil {
		return err
	}
	defer done()
	return run(ctl, args[0])
}

// openControl loads the configuration and opens (and migrates) the store.
// A running `drip serve` picks up what the command changes at its next
// poll, so there is no engine to wake here.
func openControl(ctx context.Context, g *globals) (*sequencer.Control, func(), error) {
	cfg, err := loadConfig(g)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, g, cfg)
	if err != nil {
		return nil, nil, err
	}
	ctl := &sequencer.Control{Store: st, Clock: sequencer.SystemClock{}, Config: cfg}
	return ctl, func() { st.Close() }, nil
}

func runPause(ctx context.Context, g *globals, c *sequencer.Control, email string) error {
	paused, err := c.Pause(ctx, email)
	if err != nil {
		return err
	}
	if len(paused) == 0 {
		return nothingTo(ctx, g, c, email, "pause", "no active enrollment")
	}
	for _, e := range paused {
		fmt.Fprintf(g.stdout, "paused %s in %s after step %d\n", email, e.Sequence, e.LastStep)
	}
	return nil
}

func runResume(ctx context.Context, g *globals, c *sequencer.Control, email string) error {
	resumed, err := c.Resume(ctx, email)
	if err != nil {
		return err
	}
	if len(resumed) == 0 {
		return nothingTo(ctx, g, c, email, "resume", "no paused or replied enrollment")
	}
	v, err := c.ProspectView(ctx, email)
	if err != nil {
		return err
	}
	for _, e := range resumed {
		fmt.Fprintf(g.stdout, "resumed %s in %s: %s\n", email, e.Sequence, nextSendText(enrollmentIn(v, e.Sequence)))
	}
	return nil
}

// nothingTo says that a pause or resume found nothing to change, and what
// the enrollments' states are. Doing nothing is not an error: the
// prospect is already where the user wants it.
func nothingTo(ctx context.Context, g *globals, c *sequencer.Control, email, verb, why string) error {
	v, err := c.ProspectView(ctx, email)
	if err != nil {
		return err
	}
	var states []string
	for _, e := range v.Enrollments {
		states = append(states, fmt.Sprintf("%s in %s", e.State, e.Sequence))
	}
	if len(states) == 0 {
		states = []string{"not enrolled"}
	}
	fmt.Fprintf(g.stdout, "nothing to %s: %s has %s (%s)\n", verb, email, why, strings.Join(states, ", "))
	return nil
}

func runUnsubscribe(ctx context.Context, g *globals, c *sequencer.Control, email string) error {
	known, err := c.Unsubscribe(ctx, email, "drip unsubscribe")
	if err != nil {
		return err
	}
	if !known {
		fmt.Fprintf(g.stdout, "%s is not a prospect; suppressed it all the same: it will never be enrolled or written to\n", email)
		return nil
	}
	fmt.Fprintf(g.stdout, "unsubscribed %s: suppressed, its enrollments ended; it will never be enrolled or written to again\n", email)
	return nil
}

func runForget(ctx context.Context, g *globals, c *sequencer.Control, email string) error {
	if err := c.Forget(ctx, email); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "forgot %s: personal data erased from every table; the address stays suppressed, by hash only\n", email)
	return nil
}

// enrollmentIn is the view's enrollment in a sequence (zero if none).
func enrollmentIn(v sequencer.ProspectView, sequence string) sequencer.EnrollmentView {
	for _, e := range v.Enrollments {
		if e.Sequence == sequence {
			return e
		}
	}
	return sequencer.EnrollmentView{}
}

// timeLayout is how commands show a time: readable, and with its offset
// so that it is never ambiguous.
const timeLayout = "2006-01-02 15:04:05 -07:00"

func showTime(t time.Time) string { return t.Format(timeLayout) }

// nextSendText says what an enrollment sends next.
func nextSendText(e sequencer.EnrollmentView) string {
	switch {
	case e.NextStep != nil && e.NextSendAt != nil:
		return fmt.Sprintf("next step %d at %s", *e.NextStep, showTime(*e.NextSendAt))
	case e.State == store.StateActive:
		return "nothing left to send"
	}
	return "nothing planned (" + string(e.State) + ")"
}
