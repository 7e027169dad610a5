package main

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/drip-email/drip/sequencer"
)

// printSenders is drip status --senders.
func printSenders(ctx context.Context, w io.Writer, c *sequencer.Control) error {
	views, vols, err := c.SendersView(ctx)
	if err != nil {
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "sender\tstate\ttoday\tpace\tdue 7d\tcapacity 7d\tload")
	for _, v := range views {
		state := v.State
		if !v.HeldUntil.IsZero() {
			state = fmt.Sprintf("held: %s until %s", v.State, showTime(v.HeldUntil))
			if v.HoldDetail != "" {
				state += " (" + v.HoldDetail + ")"
			}
		}
		today := fmt.Sprintf("%d", v.SentToday)
		if v.DailyLimit > 0 {
			today = fmt.Sprintf("%d/%d", v.SentToday, v.DailyLimit)
		}
		capacity, load := "no limit", "-"
		if k := v.Capacity; k.Capacity >= 0 {
			capacity = fmt.Sprint(k.Capacity)
			switch {
			case math.IsInf(k.Ratio, 1):
				load = "cannot send"
			default:
				load = fmt.Sprintf("%.0f%%", 100*k.Ratio)
			}
			if k.Over() {
				load += " OVER"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", v.Name, state, today, v.Pace, v.Capacity.Due, capacity, load)
	}
	tw.Flush()
	cfg := c.Config
	for _, v := range views {
		if v.Capacity.Over() {
			s, _ := cfg.Sender(v.Name)
			fmt.Fprintf(w, "warning: %s\n", sequencer.CapacityAdvice(s, v.Capacity))
		}
	}
	for _, g := range vols {
		if g.Warn() {
			fmt.Fprintf(w, "warning: %s\n", sequencer.GmailAdvice(g))
		} else {
			fmt.Fprintf(w, "domain %s: at most %d messages a day planned to Gmail (%s); Gmail's bulk threshold is %d\n",
				g.Domain, g.Planned, g.Day, sequencer.GmailBulkThreshold)
		}
	}
	return nil
}
