package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// line is one row of the table: a figure, its baseline from the same run,
// their ratio, and the target it is held to.
type line struct {
	bench, what   string
	value, base   string // figure keys
	ratio         string // figure key of the per-run ratio, "" = none
	baseDescribes string
	targetOn      string             // "value" or "ratio"; "" = no target
	op            string             // ">=" or "<="
	target        map[string]float64 // by store
}

func lines(sz sizes) []line {
	return []line{
		{bench: "delivery", what: fmt.Sprintf("delivery, %d msgs (msg/s)", sz.DeliveryMsgs), value: "engine_msgs_per_s",
			base: "bare_msgs_per_s", ratio: "ratio", baseDescribes: "bare go-smtp loop",
			targetOn: "ratio", op: ">=", target: map[string]float64{"sqlite": 0.5, "postgres": 0.5}},
		{bench: "delivery20", what: fmt.Sprintf("delivery, %d msgs, 20 ms server (msg/s)", sz.DeliverySlowMsgs), value: "engine_msgs_per_s",
			base: "bare_msgs_per_s", ratio: "ratio", baseDescribes: "bare go-smtp loop, same server"},
		{bench: "claim", what: fmt.Sprintf("claim %d due of %d enrolled (ms)", sz.ClaimDue, sz.ClaimLarge), value: "large_ms",
			base: "small_ms", ratio: "ratio", baseDescribes: fmt.Sprintf("of %d enrolled", sz.ClaimSmall),
			targetOn: "ratio", op: "<=", target: map[string]float64{"sqlite": 1.5, "postgres": 1.5}},
		{bench: "import", what: fmt.Sprintf("import %d rows (rows/s)", sz.ImportRows), value: "rows_per_s",
			base: "parser_rows_per_s", ratio: "ratio", baseDescribes: "CSV reader alone",
			targetOn: "value", op: ">=", target: map[string]float64{"sqlite": 50_000, "postgres": 100_000}},
		{bench: "import", what: "import peak RSS (MiB)", value: "peak_rss_mib", base: "parser_rss_mib",
			baseDescribes: "CSV reader alone"},
		{bench: "reply", what: fmt.Sprintf("reply p50 of %d (ms)", sz.Replies), value: "p50_ms", base: "base_p50_ms",
			baseDescribes: "bare IMAP IDLE client"},
		{bench: "reply", what: fmt.Sprintf("reply p99 of %d (ms)", sz.Replies), value: "p99_ms", base: "base_p99_ms",
			baseDescribes: "bare IMAP IDLE client", targetOn: "value", op: "<=",
			target: map[string]float64{"sqlite": 1000, "postgres": 1000}},
		{bench: "rss", what: fmt.Sprintf("serving RSS, %d enrolled (MiB)", sz.ClaimLarge), value: "peak_mib", base: "baseline_mib",
			baseDescribes: "before the store is opened", targetOn: "value", op: "<=",
			target: map[string]float64{"sqlite": 150, "postgres": 150}},
		{bench: "rss", what: "serving RSS when idle again (MiB)", value: "idle_mib", base: "opened_mib",
			baseDescribes: "store opened, engine not started"},
	}
}

// stat is a figure over the runs.
type stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

func (b *bench) stat(bench, store, key string) (stat, bool) {
	var xs []float64
	for _, r := range b.results {
		if r.Bench == bench && r.Store == store {
			if v, ok := r.Figures[key]; ok {
				xs = append(xs, v)
			}
		}
	}
	if len(xs) == 0 {
		return stat{}, false
	}
	return stat{Median: median(xs), Min: slices.Min(xs), Max: slices.Max(xs), Runs: xs}, true
}

func num(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func (s stat) String() string {
	if len(s.Runs) < 2 {
		return num(s.Median)
	}
	return fmt.Sprintf("%s [%s–%s]", num(s.Median), num(s.Min), num(s.Max))
}

type jsonTarget struct {
	Name   string  `json:"name"`
	Store  string  `json:"store"`
	On     string  `json:"on"`
	Op     string  `json:"op"`
	Target float64 `json:"target"`
	Median float64 `json:"median"`
	Met    bool    `json:"met"`
}

// report prints the table, then one JSON line with every figure.
func (b *bench) report(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "store\tfigure\tmedian [min–max]\tbaseline (same run)\tratio\ttarget\t\n")
	var targets []jsonTarget
	for _, st := range b.o.stores {
		for _, l := range lines(b.sz) {
			v, ok := b.stat(l.bench, st, l.value)
			if !ok {
				continue
			}
			base, _ := b.stat(l.bench, st, l.base)
			ratio := "-"
			var rs stat
			if l.ratio != "" {
				if rs, ok = b.stat(l.bench, st, l.ratio); ok {
					ratio = rs.String()
				}
			}
			target := "-"
			if l.target != nil {
				got := v.Median
				if l.targetOn == "ratio" {
					got = rs.Median
				}
				t := l.target[st]
				met := got >= t
				if l.op == "<=" {
					met = got <= t
				}
				verdict := "MET"
				if !met {
					verdict = "MISSED"
				}
				target = fmt.Sprintf("%s %s %s: %s", l.targetOn, l.op, num(t), verdict)
				targets = append(targets, jsonTarget{Name: l.what, Store: st, On: l.targetOn, Op: l.op, Target: t, Median: got, Met: met})
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s)\t%s\t%s\t\n", st, l.what, v, base, l.baseDescribes, ratio, target)
		}
	}
	tw.Flush()
	m := b.machine
	fmt.Fprintf(w, "\nmachine: %d CPUs (%s), %d MiB RAM, Linux %s, %s", m.CPUs, m.CPUModel, m.MemMiB, m.Kernel, m.Go)
	if m.Postgres != "" {
		fmt.Fprintf(w, ", PostgreSQL %s (%s)", m.Postgres, m.PGSettings)
	}
	fmt.Fprintf(w, "\nload average (1 min) during the run: min %.2f, mean %.2f, max %.2f; %d runs in %.0f s\n",
		m.LoadMin, m.LoadMean, m.LoadMax, b.o.runs, m.Seconds)

	type figure struct {
		Bench  string `json:"bench"`
		Store  string `json:"store"`
		Figure string `json:"figure"`
		stat
	}
	var figs []figure
	for _, st := range b.o.stores {
		for _, name := range benches {
			keys := map[string]bool{}
			for _, r := range b.results {
				if r.Bench == name && r.Store == st {
					for k := range r.Figures {
						keys[k] = true
					}
				}
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			slices.Sort(sorted)
			for _, k := range sorted {
				s, _ := b.stat(name, st, k)
				figs = append(figs, figure{Bench: name, Store: st, Figure: k, stat: s})
			}
		}
	}
	out, _ := json.Marshal(map[string]any{
		"dripbench": 1, "quick": b.o.quick, "runs": b.o.runs, "sizes": b.sz,
		"machine": m, "figures": figs, "targets": targets,
	})
	fmt.Fprintln(w, strings.TrimSpace(string(out)))
}
