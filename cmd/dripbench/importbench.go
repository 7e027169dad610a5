package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/sequencer"
)

// benchImport loads a generated list of sp.N rows, streamed, first through
// the CSV reader alone into a sink that keeps nothing (the baseline: what
// reading and validating cost), then through the real path, Control.Import
// into the store, as `drip import` does with the default batch size.
func benchImport(ctx context.Context, sp spec) (map[string]float64, error) {
	cfg, err := loadConfig(sp.Work, sp.DB, peers{SMTP: "127.0.0.1:25"})
	if err != nil {
		return nil, err
	}
	seq := cfg.Sequences["trade-fair"]

	// Baseline: the parser, validation included, into a discarding sink.
	t0 := time.Now()
	sum, err := importer.Import(ctx, &listGenerator{rows: sp.N}, importer.Options{
		DefaultTimezone: seq.Location, Now: time.Now(), DefaultSender: "maria", Senders: []string{"maria"},
		BatchSize: cfg.Engine.ImportBatch,
	}, discardSink{})
	parse := time.Since(t0)
	if err != nil {
		return nil, err
	}
	if sum.Imported != sp.N {
		return nil, fmt.Errorf("parser baseline: %s, want imported=%d", sum, sp.N)
	}
	parseHWM := procStatus("VmHWM")
	runtime.GC()
	debug.FreeOSMemory()

	st, err := openStore(ctx, sp.DB)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	c := &sequencer.Control{Store: st, Clock: sequencer.SystemClock{}, Config: cfg}
	prof := startProfile(sp, "store")
	t0 = time.Now()
	sum, err = c.Import(ctx, &listGenerator{rows: sp.N}, sequencer.ImportRequest{Sequence: "trade-fair"})
	stored := time.Since(t0)
	prof.stop()
	if err != nil {
		return nil, err
	}
	if sum.Imported != sp.N || sum.Rejected != 0 {
		return nil, fmt.Errorf("import: %s, want imported=%d", sum, sp.N)
	}
	progress("import %d rows: parser %s, store %s", sp.N, parse.Round(time.Millisecond), stored.Round(time.Millisecond))
	return map[string]float64{
		"rows_per_s":        float64(sp.N) / stored.Seconds(),
		"parser_rows_per_s": float64(sp.N) / parse.Seconds(),
		"ratio":             parse.Seconds() / stored.Seconds(),
		"peak_rss_mib":      mib(procStatus("VmHWM")),
		"parser_rss_mib":    mib(parseHWM),
		"batch":             float64(cfg.Engine.ImportBatch),
	}, nil
}

// discardSink takes every row as a new prospect and keeps nothing.
type discardSink struct{}

func (discardSink) Apply(_ context.Context, rows []importer.Row) ([]importer.Outcome, error) {
	out := make([]importer.Outcome, len(rows))
	for i, r := range rows {
		out[i] = importer.Outcome{Line: r.Line, Created: true}
	}
	return out, nil
}

// listGenerator streams a prospect list of distinct addresses: a first
// contact on one of 30 days, a time zone on a fifth of the rows, an
// Italian name on some, and a custom column.
type listGenerator struct {
	rows, next int
	buf        bytes.Buffer
}

func (g *listGenerator) Read(p []byte) (int, error) {
	if g.buf.Len() == 0 {
		if g.next > g.rows {
			return 0, io.EOF
		}
		if g.next == 0 {
			g.buf.WriteString("email,first_name,last_name,company,first_contact,timezone,segment\n")
			g.next = 1
		}
		for ; g.next <= g.rows && g.buf.Len() < 64<<10; g.next++ {
			i := g.next
			tz, first := "", "Anna"
			if i%5 == 0 {
				tz = "Europe/Warsaw"
			}
			if i%3 == 0 {
				first = "Niccolò"
			}
			fmt.Fprintf(&g.buf, "prospect%07d@example%d.com,%s%d,Kowalska,Company %d sp. z o.o.,2026-11-%02d,%s,segment-%d\n",
				i, i%100, first, i, i/10, 1+i%30, tz, i%7)
		}
		if g.next > g.rows {
			g.next = g.rows + 1
		}
	}
	return g.buf.Read(p)
}
