package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drip-email/drip/api"
	"github.com/drip-email/drip/mailer/imapwatch"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// benchServe measures the resident memory of a process wired as `drip
// serve` wires itself (store, engine with its SMTP pool, store gauges and
// metrics, the HTTP API with /metrics, one IMAP watcher; not the web UI)
// over the large fixture: first before the store is opened (the baseline),
// then while the engine claims and delivers the day's due enrollments
// (the run-th day after T0, about N/365 of them) to the parent's SMTP
// sink, then while it idles for sp.Idle with /metrics scraped every second.
// The SMTP and IMAP peers live in the parent, so that only drip's memory
// is counted here.
func benchServe(ctx context.Context, sp spec) (map[string]float64, error) {
	cfg, err := loadConfig(sp.Work, sp.DB, peers{SMTP: sp.SMTPAddr, IMAP: sp.IMAPAddr})
	if err != nil {
		return nil, err
	}
	rss := sampleRSS(20 * time.Millisecond)
	baseline := procStatus("VmRSS")

	st, err := openStore(ctx, sp.DB)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// The run-th day after T0, an hour into it: that day's slice is due.
	clock := offsetClock{d: time.Until(sp.T0.Add(time.Duration(sp.Run)*24*time.Hour + time.Hour))}
	seqs, err := sequences(cfg)
	if err != nil {
		return nil, err
	}
	for name, s := range seqs {
		if _, err := st.EnrollmentsCompletePastEnd(ctx, name, s.Config.Steps, clock.Now()); err != nil {
			return nil, err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	snds, list, closePools, err := senders(cfg)
	if err != nil {
		return nil, err
	}
	defer closePools()
	unsub, unsubscriber, err := unsubscribeURL(cfg)
	if err != nil {
		return nil, err
	}
	sequencer.NewStoreGauges(reg, st, clock, list, cfg.Engine.MetricsRefresh.Approx())
	var sent atomic.Int64
	opts := engineOptions(cfg, st, seqs, snds, unsub, sequencer.NewMetrics(reg), clock)
	opts.OnSettled = func(o sequencer.Outcome) {
		if o.Status == store.SendSent {
			sent.Add(1)
		}
	}
	eng, err := sequencer.New(opts)
	if err != nil {
		return nil, err
	}
	control := &sequencer.Control{Store: st, Clock: clock, Config: cfg, Wake: eng.Wake}
	handler := api.New(api.Options{Control: control, Store: st, Config: cfg, Unsubscriber: unsubscriber,
		Log: quietLog(), Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	sc := cfg.Senders[0]
	w, err := imapwatch.New(imapwatch.Config{
		Sender: sc.Name, Own: []string{sc.From},
		Host: sc.IMAP.Host, Port: sc.IMAP.Port, TLS: sc.IMAP.TLS, Username: sc.IMAP.Username, Password: sc.IMAP.Password,
		Mailbox: sc.IMAP.Mailbox, Poll: sc.IMAP.Poll.Approx(), ReconnectMax: cfg.Engine.ReconnectLimit.Approx(),
		Lease: cfg.Engine.MailboxLease.Approx(), Owner: opts.Owner, Clock: clock.Now,
		Log: quietLog(), Metrics: imapwatch.NewMetrics(reg),
	}, &sequencer.InboundHandler{Store: st, Clock: clock})
	if err != nil {
		return nil, err
	}

	backlog, err := st.DueBacklog(ctx, clock.Now())
	if err != nil {
		return nil, err
	}
	want := backlog - sp.Due // the claim benchmark's due set is not this engine's
	opened := procStatus("VmRSS")

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	engDone := make(chan struct{})
	go func() { _ = eng.Run(runCtx); close(engDone) }()
	watchDone := make(chan struct{})
	go func() { _ = w.Run(runCtx); close(watchDone) }()
	scrape := func() error {
		resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
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
	if !w.Connected() {
		return nil, errors.New("the IMAP watcher never connected")
	}
	stop()
	<-engDone
	<-watchDone
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
