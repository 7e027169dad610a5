package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

func init() {
	register(&command{
		name:    "status",
		args:    "[EMAIL] [flags]",
		summary: "per sequence and step: sent, replied, bounced, unsubscribed, reply rate; with an address: its timeline",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			senders := fs.Bool("senders", false, "per sender: state (ok or why held), sends today / daily limit, due in the next 7 days against its capacity")
			return func(ctx context.Context, args []string) error {
				if len(args) > 1 || (*senders && len(args) > 0) {
					return usagef("want at most one email address, or --senders alone, got %d arguments", len(args))
				}
				c, done, err := openControl(ctx, g)
				if err != nil {
					return err
				}
				defer done()
				if *senders {
					return printSenders(ctx, g.stdout, c)
				}
				if len(args) == 1 {
					v, err := c.ProspectView(ctx, args[0])
					if err != nil {
						return err
					}
					printProspect(termSafe{g.stdout}, v)
					return nil
				}
				all, err := c.StatsAll(ctx)
				if err != nil {
					return err
				}
				printStats(termSafe{g.stdout}, all)
				// OAuth2 senders that must be connected (again).
				for _, w := range grantWarnings(ctx, c.Config) {
					fmt.Fprintf(g.stdout, "\n%s\n", w)
				}
				return nil
			}
		},
	})
}

func printStats(w io.Writer, all []sequencer.SequenceStats) {
	if len(all) == 0 {
		fmt.Fprintln(w, "no sequences")
		return
	}
	for i, s := range all {
		if i > 0 {
			fmt.Fprintln(w)
		}
		length := fmt.Sprintf("%d steps", s.Steps)
		if s.Steps == 0 {
			length = "no longer configured"
		}
		fmt.Fprintf(w, "%s (%s)\n", s.Sequence, length)
		var states []string
		for _, st := range store.States {
			states = append(states, fmt.Sprintf("%s %d", st, s.Enrollments[st]))
		}
		fmt.Fprintf(w, "  enrollments: %s\n", strings.Join(states, ", "))
		if len(s.Funnel) == 0 {
			fmt.Fprintln(w, "  nothing sent yet")
			continue
		}
		// Right-aligned numbers; tabwriter pads on the left of each cell.
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  step\tsent\treplied\tauto-replies\tbounced\tunsubscribed\tskipped\tfailed\tunknown\treply rate\t")
		row := func(label string, r sequencer.StepStats) {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t\n", label, r.Sent, r.Replied, r.AutoReplies,
				r.Bounced, r.Unsubscribed, r.Skipped, r.Failed, r.Unknown, 100*r.ReplyRate)
		}
		for _, r := range s.Funnel {
			row(fmt.Sprint(r.Step), r)
		}
		row("total", s.Total)
		// The funnel by the prospects' language, once any has one: the
		// same columns, summed over the steps.
		if len(s.Languages) > 1 || len(s.Languages) == 1 && s.Languages[0].Language != "" {
			for _, l := range s.Languages {
				name := l.Language
				if name == "" {
					name = "none"
				}
				row("language "+name, l.StepStats)
			}
		}
		tw.Flush()
	}
}

func printProspect(w io.Writer, v sequencer.ProspectView) {
	p := v.Prospect
	name := strings.TrimSpace(p.FirstName + " " + p.LastName)
	if name == "" {
		name = p.Email
	}
	fmt.Fprintf(w, "%s <%s>\n", name, p.Email)
	tw := newTable(w)
	field := func(label, value string) {
		if value != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", label, value)
		}
	}
	field("company", p.Company)
	field("title", p.Title)
	field("phone", p.Phone)
	field("met at", p.MetAt)
	field("time zone", p.Timezone)
	field("language", p.Language)
	field("country", p.Country)
	if p.Basis.Basis != "" {
		b := p.Basis.Basis
		if p.Basis.Date != "" {
			b += " since " + p.Basis.Date
		}
		if p.Basis.Source != "" {
			b += " (" + p.Basis.Source + ")"
		}
		field("lawful basis", b)
	}
	field("notes", p.Notes)
	keys := make([]string, 0, len(p.Fields))
	for k := range p.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(k, p.Fields[k])
	}
	if p.Suppressed {
		field("suppressed", "yes: never written to or enrolled again")
	}
	flagged := 0
	for _, e := range v.Timeline {
		if e.Kind == store.EventFlagged {
			flagged++
		}
	}
	if flagged > 0 {
		field("flagged", fmt.Sprintf("%d inbound message(s) kept for review, not acted on: see the timeline", flagged))
	}
	tw.Flush()

	fmt.Fprintln(w)
	if len(v.Enrollments) == 0 {
		fmt.Fprintln(w, "not enrolled")
	} else {
		tw = newTable(w)
		fmt.Fprintln(tw, "sequence\tsender\tstate\tstep\tfirst contact\tnext")
		for _, e := range v.Enrollments {
			next := nextSendText(e)
			if e.Reason != "" && (e.State.Terminal() || e.Reason == sequencer.FlaggedReason) {
				next += ": " + e.Reason
			}
			if s := e.Successor; s != nil {
				who := s.Name
				if s.Email != "" {
					who = strings.TrimSpace(s.Name + " <" + s.Email + ">")
				}
				next += "; successor " + who
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", e.Sequence, e.Sender, e.State, e.LastStep, e.Steps,
				showTime(e.FirstContact), next)
		}
		tw.Flush()
	}

	fmt.Fprintln(w)
	if len(v.Timeline) == 0 {
		fmt.Fprintln(w, "timeline: empty")
		return
	}
	fmt.Fprintln(w, "timeline:")
	tw = newTable(w)
	for _, e := range v.Timeline {
		step := ""
		if e.Step > 0 {
			step = fmt.Sprintf("step %d", e.Step)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", showTime(e.At), e.Kind, e.Sequence, step, e.MessageID, e.Detail)
	}
	tw.Flush()
}

// table aligns tab-separated cells in columns, like tabwriter, and drops
// the padding that empty trailing cells leave at the end of a line.
type table struct {
	*tabwriter.Writer
	out io.Writer
	buf bytes.Buffer
}

func newTable(w io.Writer) *table {
	t := &table{out: w}
	t.Writer = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

func (t *table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(t.buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(t.out, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	t.buf.Reset()
	return nil
}
