package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// benchServe measures the resident memory of a process wired as `drip
// serve` wires itself (daemon.New: store, engine with its SMTP pool, store
// gauges and metrics, the HTTP API with /metrics, the web UI, one IMAP
// watcher) over the large fixture: first before the store is opened (the
// baseline), then while the engine claims and delivers the day's due
// enrollments (the run-th day after T0, about N/365 of them) to the
// parent's SMTP sink, then while it idles for sp.Idle with /metrics
// scraped every second. The SMTP and IMAP peers live in the parent, so
// that only drip's memory is counted here.
func benchServe(ctx context.Context, sp spec) (map[string]float64, error) {
	cfg, err := loadConfig(sp.Work, sp.DB, peers{SMTP: sp.SMTPAddr, IMAP: sp.IMAPAddr})
	if err != nil {
		return nil, err
	}
	rss := sampleRSS(20 * time.Millisecond)
	baseline := procStatus("VmRSS")

	// The run-th day after T0, an hour into it: that day's slice is due.
	clock := offsetClock{d: time.Until(sp.T0.Add(time.Duration(sp.Run)*24*time.Hour + time.Hour))}
	var sent atomic.Int64
	d, err := daemon.New(ctx, daemon.Options{Config: cfg, Log: quietLog(), Clock: clock,
		Owner: fmt.Sprintf("dripbench-%d", os.Getpid()),
		OnSettled: func(o sequencer.Outcome) {
			if o.Status == store.SendSent {
				sent.Add(1)
			}
		}})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	st := d.Store()

	backlog, err := st.DueBacklog(ctx, clock.Now())
	if err != nil {
		return nil, err
	}
	want := backlog
	opened := procStatus("VmRSS")

	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() { _ = d.Run(runCtx); close(runDone) }()
	defer func() { stop(); <-runDone }()
	var lastScrape []byte
	scrape := func() error {
		resp, err := http.Get("http://" + d.Addr() + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		lastScrape, err = io.ReadAll(resp.Body)
		return err
	}
	if err := scrape(); err != nil {
		return nil, err
	}
	prof := startProfile(sp, "serve")
	t0 := time.Now()
	for sent.Load() < int64(want) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(t0) > 5*time.Minute {
			return nil, fmt.Errorf("%d of %d due enrollments sent after 5 minutes", sent.Load(), want)
		}
	}
	delivered := time.Since(t0)
	busy := procStatus("VmHWM")
	for end := time.Now().Add(sp.Idle); time.Now().Before(end); {
		if err := scrape(); err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	prof.stop()
	idle := procStatus("VmRSS")
	if !bytes.Contains(lastScrape, []byte(`drip_imap_connected{sender="maria"} 1`)) {
		return nil, errors.New("the IMAP watcher never connected (drip_imap_connected is not 1)")
	}
	stop()
	<-runDone
	peak := max(rss.Stop(), procStatus("VmHWM"))
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(heap)
	progress("serving %d enrolled: baseline %.0f MiB, opened %.0f, peak %.0f, idle %.0f; sent %d in %s",
		sp.N, mib(baseline), mib(opened), mib(peak), mib(idle), want, delivered.Round(time.Millisecond))
	return map[string]float64{
		"baseline_mib": mib(baseline), "opened_mib": mib(opened), "busy_hwm_mib": mib(busy),
		"peak_mib": mib(peak), "idle_mib": mib(idle), "sent": float64(want),
		"send_seconds": delivered.Seconds(), "heap_mib": mib(int64(heap[0].Value.Uint64())),
	}, nil
}
