// Package daemon wires a running drip in one place: the store, the
// engine with one SMTP pool per sender, the IMAP watchers, the JSON API,
// the web UI, the metrics, the HTTP server and the template reload.
// `drip serve`, `drip demo` and cmd/dripbench all build their running drip
// with New and run it with Run; they differ only in Options (a clock, a
// store that counts its calls, hooks that watch outcomes).
package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drip-email/drip/api"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/imapwatch"
	"github.com/drip-email/drip/mailer/oauth"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/web"
	"github.com/drip-email/drip/webhooks"
)

// Options configure a Daemon. Config is required.
type Options struct {
	// Config is loaded and validated (configs.Load).
	Config *configs.Config
	Log    *slog.Logger // default: discard
	// Store, when set, is used as it is (migrated already; the caller
	// closes it) instead of opening Config.DatabaseURL.
	Store store.Store
	// Clock is the engine's, the watchers' and the controls' clock
	// (default the system clock): the demo compresses time, tests move it
	// by hand.
	Clock sequencer.Clock
	// Owner is this process's lease owner name (default InstanceName).
	Owner string
	// OnSettled is called after each outcome the engine records.
	OnSettled func(sequencer.Outcome)
	// OnInbound is called after each message a watcher handles.
	OnInbound func(imapwatch.Handled)
	// OnReady is called once Run has started every part.
	OnReady func()
	// ReloadEvery is how often the templates are looked at for changes
	// (default 10s); SIGHUP looks at once.
	ReloadEvery time.Duration
}

// Daemon is a drip wired and ready to run.
type Daemon struct {
	o     Options
	cfg   *configs.Config
	log   *slog.Logger
	st    store.Store
	owner string
	seqs  map[string]*sequencer.Sequence
	// seqsFP is the fingerprint of the template files the sequences were
	// loaded from (taken before loading, so an edit during the load is
	// seen as a change by the reload).
	seqsFP   uint64
	eng      *sequencer.Engine
	hooks    *webhooks.Dispatcher // nil: no webhook configured
	watchers []*imapwatch.Watcher
	// listeners: http.listen first, then http.public_listen when set.
	listeners []*listener

	closeOnce sync.Once
	closers   []func() // run in reverse order by Close
}

// New builds every part of a running drip and binds its HTTP listener; it
// refuses a configuration that drops a sequence with unfinished
// enrollments, and completes the enrollments past the end of a shortened
// sequence. Nothing runs until Run; a Daemon that is not run must be
// closed.
func New(ctx context.Context, o Options) (_ *Daemon, err error) {
	cfg := o.Config
	if cfg == nil {
		return nil, errors.New("daemon: no configuration")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = sequencer.SystemClock{}
	}
	if o.Owner == "" {
		o.Owner = InstanceName(cfg)
	}
	if o.ReloadEvery <= 0 {
		o.ReloadEvery = 10 * time.Second
	}
	d := &Daemon{o: o, cfg: cfg, log: o.Log, st: o.Store, owner: o.Owner}
	defer func() {
		if err != nil {
			d.Close() // what was taken before the error
		}
	}()
	log, clock := o.Log, o.Clock

	if d.st == nil {
		st, err := OpenStore(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		d.st = st
		d.onClose(func() { st.Close() })
	}
	st := d.st
	problems, err := sequencer.DroppedSequences(ctx, st, cfg)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s (run `drip check`)", problems[0])
	}
	d.seqsFP = templatesFingerprint(cfg.TemplatesDir)
	if d.seqs, err = Sequences(cfg); err != nil {
		return nil, err
	}
	completed, err := sequencer.CompletePastEnd(ctx, st, cfg.Sequences, clock.Now())
	if err != nil {
		return nil, err
	}
	for name, n := range completed {
		log.Info("sequence shortened: completed the enrollments past its end", "sequence", name,
			"steps", cfg.Sequences[name].Steps, "completed", n)
	}
	unsub, err := Unsubscriber(ctx, cfg, st)
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	watchMetrics := imapwatch.NewMetrics(reg)
	oauthMetrics := oauth.NewMetrics(reg)
	copyMetrics := mailer.NewSaveSentMetrics(reg)
	tokens := map[string]mailer.TokenSource{}

	senders := map[string]*sequencer.Sender{}
	var senderList []*sequencer.Sender
	for i := range cfg.Senders {
		sc := &cfg.Senders[i]
		conns := sc.SMTP.Connections
		if conns <= 0 {
			conns = cfg.Workers
		}
		roots, err := mailer.LoadCAFile(sc.SMTP.CAFile)
		if err != nil {
			return nil, fmt.Errorf("sender %s: smtp.%w", sc.Name, err)
		}
		oauthMetrics.Set(sc.Name, false)
		ts, err := TokenSource(cfg, sc, st, log, func(on bool) { oauthMetrics.Set(sc.Name, on) })
		if err != nil {
			return nil, err
		}
		var token mailer.TokenSource
		if ts != nil {
			token = ts
			tokens[sc.Name] = ts
			// Look at the grant now, so a revoked or missing one shows in
			// the log and the gauge at start, not at the first send.
			go func() { _, _ = ts.AccessToken(context.WithoutCancel(ctx)) }()
		}
		pool := mailer.NewPool(mailer.SMTPConfig{
			Host: sc.SMTP.Host, Port: sc.SMTP.Port, TLS: sc.SMTP.TLS,
			Username: sc.SMTP.Username, Password: sc.SMTP.Password,
			InsecureSkipVerify: sc.SMTP.InsecureSkipVerify, RootCAs: roots, Token: token,
			Timeout: cfg.Engine.SMTPTimeout.Approx(),
		}, conns)
		d.onClose(func() { _ = pool.Close() })
		transport, err := saveSent(cfg, sc, pool, token, copyMetrics, log)
		if err != nil {
			return nil, err
		}
		if ss, ok := transport.(*mailer.SaveSent); ok {
			d.onClose(func() { ss.Close(10 * time.Second) })
		}
		snd, err := sequencer.NewSender(sc, transport)
		if err != nil {
			return nil, err
		}
		senders[sc.Name] = snd
		senderList = append(senderList, snd)
	}
	sequencer.NewStoreGauges(reg, st, clock, senderList, cfg.Engine.MetricsRefresh.Approx())
	sequencer.NewCapacityGauges(reg, st, clock, cfg, cfg.Engine.MetricsRefresh.Approx())

	d.eng, err = sequencer.New(sequencer.Options{
		Store: st, Clock: clock, Sequences: d.seqs, Senders: senders, Owner: d.owner,
		Workers: cfg.Workers, Batch: cfg.Engine.Batch, Lease: cfg.Engine.Lease.Approx(),
		Poll: cfg.Engine.Poll.Approx(), RateLimit: cfg.Engine.RateLimit,
		Retry: sequencer.RetryPolicy{Max: cfg.Engine.RetryMax, Base: cfg.Engine.RetryBase.Approx(),
			MaxDelay: cfg.Engine.RetryMaxDelay.Approx()},
		ShutdownGrace:  cfg.Engine.ShutdownGrace.Approx(),
		UnsubscribeURL: UnsubscribeURL(cfg, unsub),
		Metrics:        sequencer.NewMetrics(reg),
		Log:            log.With("component", "engine"),
		OnSettled:      o.OnSettled,
	})
	if err != nil {
		return nil, err
	}
	if d.hooks, err = newWebhooks(ctx, cfg, st, d.owner, clock, reg, log.With("component", "webhooks")); err != nil {
		return nil, err
	}
	control := &sequencer.Control{Store: st, Clock: clock, Config: cfg, Wake: d.eng.Wake}

	if !cfg.Engine.DisableWatch {
		for _, snd := range senderList {
			w, err := newWatcher(cfg, snd, st, d.owner, clock, watchMetrics, log, o.OnInbound, tokens[snd.Config.Name])
			if err != nil {
				return nil, err
			}
			if w != nil {
				d.watchers = append(d.watchers, w)
			}
		}
	}

	var metrics http.Handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	if tok := cfg.HTTP.MetricsToken; tok != "" {
		metrics = requireToken(tok, metrics)
	}
	handler := api.New(api.Options{
		Control: control, Store: st, Config: cfg, Unsubscriber: unsub,
		Log:     log.With("component", "http"),
		Metrics: metrics,
		Ready:   func(ctx context.Context) error { return st.Ping(ctx) },
	})
	ui, err := web.New(web.Options{Control: control, Store: st, Config: cfg, Log: log.With("component", "web")})
	if err != nil {
		return nil, err
	}
	// http.listen serves everything, the unsubscribe links included (a
	// laptop, or a proxy that forwards only /u/ to it); http.public_listen
	// serves the unsubscribe links only.
	private, err := listen("http.listen", cfg.HTTP.Listen, &cfg.HTTP, web.Mount(ui, handler), log)
	if err != nil {
		return nil, err
	}
	d.onClose(func() { private.ln.Close() })
	d.listeners = append(d.listeners, private)
	if cfg.HTTP.PublicListen != "" {
		public, err := listen("http.public_listen", cfg.HTTP.PublicListen, &cfg.HTTP, publicOnly(handler), log)
		if err != nil {
			return nil, err
		}
		d.onClose(func() { public.ln.Close() })
		d.listeners = append(d.listeners, public)
	}
	return d, nil
}

// Addr is the address http.listen is bound to (with the port the system
// chose for port 0).
func (d *Daemon) Addr() string { return d.listeners[0].ln.Addr().String() }

// PublicAddr is the address http.public_listen is bound to, "" when there
// is no public listener.
func (d *Daemon) PublicAddr() string {
	if len(d.listeners) < 2 {
		return ""
	}
	return d.listeners[1].ln.Addr().String()
}

// Store is the daemon's store.
func (d *Daemon) Store() store.Store { return d.st }

// Owner is this process's lease owner name.
func (d *Daemon) Owner() string { return d.owner }

// Run runs every part until ctx ends or one of them fails; then it stops
// claiming, lets in-flight sends finish (engine.shutdown_grace), stops the
// watchers and the HTTP server, releases everything New took and returns
// the error that stopped it (nil after ctx ended). Run runs once.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.Close()
	log := d.log
	var wg sync.WaitGroup
	errs := make(chan error, 1+len(d.listeners)+len(d.watchers))
	for _, l := range d.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("http server (%s): %w", l.name, err)
			}
		}()
	}
	// Before the engine and the watchers take any lease: this instance is
	// registered as alive, and what crashed instances hold is released.
	// It stops after them (deferred first, run last).
	rescuer, err := sequencer.StartRescuer(ctx, sequencer.RescuerOptions{Store: d.st, Owner: d.owner,
		Log: log.With("component", "rescuer"), OnRescued: func(store.Rescued) { d.eng.Wake() }})
	if err != nil {
		for _, l := range d.listeners {
			_ = l.srv.Close()
		}
		wg.Wait()
		return err
	}
	defer rescuer.Stop()
	// The engine and the watchers outlive ctx by their own shutdown.
	engCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	engDone := make(chan struct{})
	go func() { defer close(engDone); _ = d.eng.Run(engCtx) }()

	watchCtx, stopWatchers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatchers()
	for _, w := range d.watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(watchCtx); err != nil {
				errs <- err
			}
		}()
	}
	if d.hooks != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = d.hooks.Run(watchCtx)
		}()
	}
	// SIGHUP is caught from here on: one sent once "drip serving" is
	// logged is never lost to a goroutine that has not started yet.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Add(1)
	go func() {
		defer wg.Done()
		reloadTemplates(watchCtx, d.cfg, d.seqs, d.seqsFP, hup, d.o.ReloadEvery, log.With("component", "templates"))
	}()
	log.Info("drip serving", "listen", d.Addr(), "public_listen", d.PublicAddr(), "instance", d.owner, "workers", d.cfg.Workers,
		"sequences", len(d.seqs), "senders", len(d.cfg.Senders))
	if !configs.Loopback(d.cfg.HTTP.Listen) {
		log.Warn("http.listen is not a loopback address: the API, the web UI and /metrics are reachable from the network",
			"listen", d.cfg.HTTP.Listen)
	}
	if d.o.OnReady != nil {
		d.o.OnReady()
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
	for _, l := range d.listeners {
		_ = l.srv.Shutdown(shutCtx)
	}
	wg.Wait()
	log.Info("stopped")
	return runErr
}

// Close releases what New took (pools, listener, the store it opened).
// Run closes on its way out; Close is for a Daemon that is not run.
func (d *Daemon) Close() {
	d.closeOnce.Do(func() {
		for i := len(d.closers) - 1; i >= 0; i-- {
			d.closers[i]()
		}
	})
}

func (d *Daemon) onClose(f func()) { d.closers = append(d.closers, f) }

// newWatcher builds the IMAP watcher of a sender, or nil when the sender
// has no imap section.
func newWatcher(cfg *configs.Config, snd *sequencer.Sender, st store.Store, owner string, clock sequencer.Clock,
	m *imapwatch.Metrics, log *slog.Logger, onHandled func(imapwatch.Handled), token mailer.TokenSource) (*imapwatch.Watcher, error) {
	ic := snd.Config.IMAP
	if ic == nil {
		return nil, nil
	}
	roots, err := mailer.LoadCAFile(ic.CAFile)
	if err != nil {
		return nil, fmt.Errorf("sender %s: imap.%w", snd.Config.Name, err)
	}
	return imapwatch.New(imapwatch.Config{
		Sender: snd.Config.Name, Own: []string{snd.Config.From},
		Host: ic.Host, Port: ic.Port, TLS: ic.TLS, Username: ic.Username, Password: ic.Password,
		Mailbox: ic.Mailbox, InsecureSkipVerify: ic.InsecureSkipVerify, RootCAs: roots, Token: token,
		Poll: ic.Poll.Approx(), ReconnectMax: cfg.Engine.ReconnectLimit.Approx(),
		Lease: cfg.Engine.MailboxLease.Approx(), Owner: owner,
		// The watcher adds sender, server and mailbox itself; adding sender
		// here too would write the key twice in every line.
		Clock: clock.Now, Log: log.With("component", "imap"),
		Metrics: m, OnHandled: onHandled,
	}, &sequencer.InboundHandler{Store: st, Clock: clock, Trust: sequencer.Trust{AuthservID: ic.AuthservID}, Sequences: cfg.Sequences,
		Breakers: breakers(cfg, st, log)})
}

// breakers judge the senders' circuit breakers on bounce reports that come
// back by mail.
func breakers(cfg *configs.Config, st store.Store, log *slog.Logger) *sequencer.Breakers {
	b := &sequencer.Breakers{Store: st, Protect: map[string]configs.Shield{}, Log: log.With("component", "breaker")}
	for i := range cfg.Senders {
		b.Protect[cfg.Senders[i].Name] = cfg.Senders[i].Protect
	}
	return b
}

// InstanceName is a process's lease owner name: unique per process,
// readable in the store (host, pid, random suffix).
func InstanceName(cfg *configs.Config) string {
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
