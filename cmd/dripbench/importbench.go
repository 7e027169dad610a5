package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/internal/csvgen"
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
	sum, err := importer.Import(ctx, csvgen.Prospects(sp.N), importer.Options{
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
	sum, err = c.Import(ctx, csvgen.Prospects(sp.N), sequencer.ImportRequest{Sequence: "trade-fair"})
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
