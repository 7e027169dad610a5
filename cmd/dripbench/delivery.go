package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// benchDelivery sends sp.N messages two ways into one in-process go-smtp
// sink that discards what it receives, with the same concurrency (drip's
// default workers, one connection each):
//   - bare: go-smtp clients sending one pre-built message (step 1 of the
//     shipped trade-fair sequence, rendered for a seeded prospect) in a
//     MAIL/RCPT/DATA loop, the floor of SMTP on this machine;
//   - engine: drip wired as `drip serve` wires it (daemon.New) on a store
//     seeded with sp.N enrollments due now: claims, rules, the at-most-once gate, rendering, MIME, the
//     worker pool, mailer.Pool, and the recorded outcomes.
//
// The engine's time runs from Run until the last outcome is stored.
func benchDelivery(ctx context.Context, sp spec) (map[string]float64, error) {
	return delivery(ctx, sp, 0)
}

// benchDelivery20 is benchDelivery against a server that answers each
// message 20 ms after its final ".", closer to what real mail providers
// do: there the engine's bookkeeping hides behind the server's time.
func benchDelivery20(ctx context.Context, sp spec) (map[string]float64, error) {
	return delivery(ctx, sp, 20*time.Millisecond)
}

func delivery(ctx context.Context, sp spec, latency time.Duration) (map[string]float64, error) {
	sink, err := smtptest.Start(smtptest.Options{Discard: true})
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	if latency > 0 {
		sink.SetFault(smtptest.StallAt(smtptest.AtDot, latency))
	}
	cfg, err := loadConfig(sp.Work, sp.DB, peers{SMTP: sink.Addr()})
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, sp.DB)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := time.Now()
	due := now.Add(-time.Minute)
	if err := seedRows(ctx, st, sp.N, 10_000, func(i int) store.ImportRow {
		return prospectRow(i, "trade-fair", due, &due)
	}); err != nil {
		return nil, err
	}
	seqs, err := daemon.Sequences(cfg)
	if err != nil {
		return nil, err
	}
	unsubscriber, err := daemon.Unsubscriber(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	workers := cfg.Workers

	// The bare loop's message: what the engine sends for step 1.
	snd, err := sequencer.NewSender(&cfg.Senders[0], nil)
	if err != nil {
		return nil, err
	}
	row := prospectRow(0, "trade-fair", due, &due)
	p := row.Prospect
	p.ID = 1
	c, err := sequencer.Compose(seqs["trade-fair"], snd, p,
		store.Enrollment{ID: 1, ProspectID: 1, Sequence: "trade-fair", FirstContact: due, Anchor: due},
		1, mailer.NewMessageID("ferrovalvole.example"), daemon.UnsubscribeURL(cfg, unsubscriber)(1), now)
	if err != nil {
		return nil, err
	}
	raw, err := mailer.Build(c.Message)
	if err != nil {
		return nil, err
	}
	bare, err := bareLoop(ctx, sink.Addr(), snd.FromEmail, p.Email, raw, sp.N, workers)
	if err != nil {
		return nil, err
	}
	if got := sink.Total(); got != sp.N {
		return nil, fmt.Errorf("bare loop: sink has %d messages, want %d", got, sp.N)
	}

	var sent, other atomic.Int64
	finished := make(chan struct{})
	counted := &countingStore{Store: st}
	// The engine as `drip serve` wires it, on a store that counts its calls.
	d, err := daemon.New(ctx, daemon.Options{Config: cfg, Store: counted, Log: quietLog(),
		Owner: fmt.Sprintf("dripbench-%d", os.Getpid()),
		OnSettled: func(o sequencer.Outcome) {
			if o.Status == store.SendSent {
				if sent.Add(1) == int64(sp.N) {
					close(finished)
				}
			} else {
				other.Add(1)
			}
		}})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan struct{})
	prof := startProfile(sp, "engine")
	t0 := time.Now()
	go func() { _ = d.Run(runCtx); close(runDone) }()
	select {
	case <-finished:
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	case <-time.After(10 * time.Minute):
		stop()
		return nil, fmt.Errorf("engine: %d of %d sent after 10 minutes", sent.Load(), sp.N)
	}
	engine := time.Since(t0)
	prof.stop()
	stop()
	<-runDone
	if n := other.Load(); n > 0 {
		return nil, fmt.Errorf("engine: %d outcomes other than sent", n)
	}
	if got := sink.Total(); got != 2*sp.N {
		return nil, fmt.Errorf("engine: sink has %d messages from the engine, want %d", got-sp.N, sp.N)
	}
	bareRate := float64(sp.N) / bare.Seconds()
	engineRate := float64(sp.N) / engine.Seconds()
	calls := counted.snapshot()
	progress("delivery of %d: bare %.0f msg/s, engine %.0f msg/s (%d workers, %d bytes); per message %.2f start and %.2f settle calls in %.2f transactions of %.2f ms, %.2f claims",
		sp.N, bareRate, engineRate, workers, len(raw), calls.starts/float64(sp.N), calls.settles/float64(sp.N), calls.txs/float64(sp.N), calls.txMillis, calls.claims/float64(sp.N))
	return map[string]float64{
		"engine_msgs_per_s": engineRate, "bare_msgs_per_s": bareRate,
		"ratio": engineRate / bareRate, "workers": float64(workers), "message_bytes": float64(len(raw)),
		"start_calls_per_msg": calls.starts / float64(sp.N), "settle_calls_per_msg": calls.settles / float64(sp.N),
		"claim_calls_per_msg": calls.claims / float64(sp.N), "write_tx_per_msg": calls.txs / float64(sp.N), "write_tx_ms": calls.txMillis,
	}, nil
}

// bareLoop sends msg n times over conns go-smtp connections, each going
// straight from one DATA to the next MAIL.
func bareLoop(ctx context.Context, addr, from, to string, msg []byte, n, conns int) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	clients := make([]*smtp.Client, conns)
	for i := range clients {
		c, err := smtp.Dial(addr)
		if err != nil {
			return 0, err
		}
		if err := c.Hello("localhost"); err != nil {
			return 0, err
		}
		defer c.Close()
		clients[i] = c
	}
	t0 := time.Now()
	for _, c := range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				if err := c.SendMail(from, []string{to}, bytes.NewReader(msg)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(t0)
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("bare loop: %w", err)
	}
	return d, ctx.Err()
}

// countingStore counts the engine's batched store calls: how well the
// engine batches is what its throughput on a database depends on.
type countingStore struct {
	store.Store
	starts, settles, claims, combined atomic.Int64
	writeNanos                        atomic.Int64 // time spent in SendsStart, Settle, SettleAndStart
}

func (c *countingStore) SendsStart(ctx context.Context, s []store.SendStart) ([]error, error) {
	c.starts.Add(1)
	defer c.timed(time.Now())
	return c.Store.SendsStart(ctx, s)
}

func (c *countingStore) Settle(ctx context.Context, s []store.Settle) ([]error, error) {
	c.settles.Add(1)
	defer c.timed(time.Now())
	return c.Store.Settle(ctx, s)
}

// SettleAndStart counts as one transaction of each kind (combined: see
// the tx figure).
func (c *countingStore) SettleAndStart(ctx context.Context, settles []store.Settle, starts []store.SendStart) ([]error, []error, error) {
	c.starts.Add(1)
	c.settles.Add(1)
	c.combined.Add(1)
	defer c.timed(time.Now())
	return c.Store.SettleAndStart(ctx, settles, starts)
}

func (c *countingStore) EnrollmentClaimDue(ctx context.Context, p store.ClaimParams) ([]store.Enrollment, error) {
	c.claims.Add(1)
	return c.Store.EnrollmentClaimDue(ctx, p)
}

func (c *countingStore) timed(t0 time.Time) { c.writeNanos.Add(int64(time.Since(t0))) }

type callCounts struct{ starts, settles, claims, txs, txMillis float64 }

func (c *countingStore) snapshot() callCounts {
	return callCounts{float64(c.starts.Load()), float64(c.settles.Load()), float64(c.claims.Load()),
		float64(c.starts.Load() + c.settles.Load() - c.combined.Load()),
		float64(c.writeNanos.Load()) / 1e6 / float64(max(c.starts.Load()+c.settles.Load()-c.combined.Load(), 1))}
}
