package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drip-email/drip/api"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/imapwatch"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/web"
)

func init() {
	register(&command{
		name:    "serve",
		args:    "[flags]",
		summary: "run the engine: scheduler, SMTP workers, IMAP watchers, HTTP API and /metrics",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				cfg, err := loadConfig(g)
				if err != nil {
					return err
				}
				if err := refuseExposure(cfg); err != nil {
					return err
				}
				log, err := newLogger(g)
				if err != nil {
					return err
				}
				return serve(ctx, g, cfg, log, serveHooks{})
			}
		},
	})
}

// serveHooks let `drip demo` (and tests) watch a running engine.
type serveHooks struct {
	clock     sequencer.Clock
	onSettled func(sequencer.Outcome)
	onInbound func(imapwatch.Handled)
	ready     func(addr string)
}

// serve wires every part of the engine together and runs it until ctx
// ends; then it stops claiming, lets in-flight sends finish, stops the
// watchers and the HTTP server, and returns nil.
func serve(ctx context.Context, g *globals, cfg *configs.Config, log *slog.Logger, hooks serveHooks) error {
	clock := hooks.clock
	if clock == nil {
		clock = sequencer.SystemClock{}
	}
	st, err := openStore(ctx, g, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if problems := checkAgainstStore(ctx, cfg); len(problems) > 0 {
		return fmt.Errorf("%s (run `drip check`)", problems[0])
	}
	seqs, err := loadSequences(cfg)
	if err != nil {
		return err
	}
	for name, s := range seqs {
		// A sequence shortened under running enrollments completes the
		// ones past its new end.
		n, err := st.EnrollmentsCompletePastEnd(ctx, name, s.Config.Steps, clock.Now())
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("sequence shortened: completed the enrollments past its end", "sequence", name, "steps", s.Config.Steps, "completed", n)
		}
	}
	unsub, err := unsubscriber(ctx, cfg, st)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	engineMetrics := sequencer.NewMetrics(reg)
	watchMetrics := imapwatch.NewMetrics(reg)

	owner := instanceName(cfg)
	senders := map[string]*sequencer.Sender{}
	var senderList []*sequencer.Sender
	for i := range cfg.Senders {
		sc := &cfg.Senders[i]
		conns := sc.SMTP.Connections
		if conns <= 0 {
			conns = cfg.Workers
		}
		pool := mailer.NewPool(mailer.SMTPConfig{
			Host: sc.SMTP.Host, Port: sc.SMTP.Port, TLS: sc.SMTP.TLS,
			Username: sc.SMTP.Username, Password: sc.SMTP.Password,
			InsecureSkipVerify: sc.SMTP.InsecureSkipVerify,
			Timeout:            cfg.Engine.SMTPTimeout.Approx(),
		}, conns)
		defer pool.Close()
		snd, err := sequencer.NewSender(sc, pool)
		if err != nil {
			return err
		}
		senders[sc.Name] = snd
		senderList = append(senderList, snd)
	}
	sequencer.NewStoreGauges(reg, st, clock, senderList, cfg.Engine.MetricsRefresh.Approx())

	eng, err := sequencer.New(sequencer.Options{
		Store: st, Clock: clock, Sequences: seqs, Senders: senders, Owner: owner,
		Workers: cfg.Workers, Batch: cfg.Engine.Batch, Lease: cfg.Engine.Lease.Approx(),
		Poll: cfg.Engine.Poll.Approx(), RateLimit: cfg.Engine.RateLimit,
		Retry: sequencer.RetryPolicy{Max: cfg.Engine.RetryMax, Base: cfg.Engine.RetryBase.Approx(),
			MaxDelay: cfg.Engine.RetryMaxDelay.Approx()},
		ShutdownGrace:  cfg.Engine.ShutdownGrace.Approx(),
		UnsubscribeURL: unsubscribeURL(cfg, unsub),
		Metrics:        engineMetrics,
		Log:            log.With("component", "engine"),
		OnSettled:      hooks.onSettled,
	})
	if err != nil {
		return err
	}
	control := &sequencer.Control{Store: st, Clock: clock, Config: cfg, Wake: eng.Wake}

	handler := api.New(api.Options{
		Control: control, Store: st, Config: cfg, Unsubscriber: unsub,
		Log:     log.With("component", "http"),
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Ready:   func(ctx context.Context) error { return st.Ping(ctx) },
	})
	ui, err := web.New(web.Options{Control: control, Store: st, Config: cfg, Log: log.With("component", "web")})
	if err != nil {
		return err
	}
	handler = web.Mount(ui, handler)
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	var wg sync.WaitGroup
	errs := make(chan error, 2+len(cfg.Senders))
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http server: %w", err)
		}
	}()
	engCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	engDone := make(chan struct{})
	go func() { defer close(engDone); _ = eng.Run(engCtx) }()

	watchCtx, stopWatchers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatchers()
	if !cfg.Engine.DisableWatch {
		for _, snd := range senderList {
			w, err := newWatcher(cfg, snd, st, owner, clock, watchMetrics, log, hooks.onInbound)
			if err != nil {
				return err
			}
			if w == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.Run(watchCtx); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		reloadTemplates(watchCtx, cfg, seqs, 10*time.Second, log.With("component", "templates"))
	}()
	log.Info("drip serving", "listen", ln.Addr().String(), "instance", owner, "workers", cfg.Workers,
		"sequences", len(seqs), "senders", len(senders))
	if hooks.ready != nil {
		hooks.ready(ln.Addr().String())
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping: no new claims; finishing in-flight sends")
	case runErr = <-errs:
		log.Error("stopping after an error", "err", runErr)
	}
	stopEngine()
	<-engDone
	stopWatchers()
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	wg.Wait()
	log.Info("stopped")
	return runErr
}

// newWatcher builds the IMAP watcher of a sender, or nil when the sender
// has no imap section.
func newWatcher(cfg *configs.Config, snd *sequencer.Sender, st store.Store, owner string, clock sequencer.Clock,
	m *imapwatch.Metrics, log *slog.Logger, onHandled func(imapwatch.Handled)) (*imapwatch.Watcher, error) {
	ic := snd.Config.IMAP
	if ic == nil {
		return nil, nil
	}
	return imapwatch.New(imapwatch.Config{
		Sender: snd.Config.Name, Own: []string{snd.Config.From},
		Host: ic.Host, Port: ic.Port, TLS: ic.TLS, Username: ic.Username, Password: ic.Password,
		Mailbox: ic.Mailbox, InsecureSkipVerify: ic.InsecureSkipVerify,
		Poll: ic.Poll.Approx(), ReconnectMax: cfg.Engine.ReconnectLimit.Approx(),
		Lease: cfg.Engine.MailboxLease.Approx(), Owner: owner,
		// The watcher adds sender, server and mailbox itself; adding sender
		// here too would write the key twice in every line.
		Clock: clock.Now, Log: log.With("component", "imap"),
		Metrics: m, OnHandled: onHandled,
	}, st)
}

// instanceName is this process's lease owner name: unique per process,
// readable in the store (host, pid, random suffix).
func instanceName(cfg *configs.Config) string {
	name := cfg.Engine.InstanceName
	if name == "" {
		name, _ = os.Hostname()
	}
	name = strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' {
			return '-'
		}
		return r
	}, name)
	return fmt.Sprintf("%s-%d-%s", name, os.Getpid(), strings.ToLower(rand.Text()[:6]))
}
