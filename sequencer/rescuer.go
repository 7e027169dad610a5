package sequencer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/drip-email/drip/store"
)

// RescueStore is what a Rescuer needs of the store.
type RescueStore interface {
	InstanceRegister(ctx context.Context, owner string) (store.Instance, error)
	LeasesRescue(ctx context.Context) (store.Rescued, error)
}

// RescuerOptions configure a Rescuer. Zero values get the defaults noted.
type RescuerOptions struct {
	Store RescueStore
	Owner string        // this instance's lease owner name (the engine's and the watchers')
	Every time.Duration // how often to look for dead instances (default 1s)
	// Grace: after this instance had to register again (its own lock was
	// lost: the database restarted, its connection broke), it waits this
	// long before judging the others, who most likely lost theirs in the
	// same moment and are registering again too (default 5s).
	Grace time.Duration
	Log   *slog.Logger
	// OnRescued, if set, is called after leases were released (serve wakes
	// the engine with it, so that it claims them now).
	OnRescued func(store.Rescued)
}

// Rescuer keeps this instance registered as alive in the store, and
// releases at once the claim and mailbox leases of instances that died
// (a SIGKILL, an OOM kill, a lost machine), so that the survivors, or this
// instance's restart, take their work over within seconds rather than
// when the leases run out. R8 holds: the steps a dead instance had in
// flight stay "sending" and become unknown when their enrollments are
// claimed again (see Engine.conflict); they are never sent again.
type Rescuer struct {
	o      RescuerOptions
	in     store.Instance
	cancel context.CancelFunc
	done   chan struct{}
}

// StartRescuer registers Owner as a live instance, releases what dead
// instances hold, and goes on looking every Every until Stop. Start it
// before the engine and the watchers take any lease.
func StartRescuer(ctx context.Context, o RescuerOptions) (*Rescuer, error) {
	if o.Store == nil || o.Owner == "" {
		return nil, fmt.Errorf("rescuer: store and owner are required")
	}
	o.Every = cmp(o.Every, time.Second)
	o.Grace = cmp(o.Grace, 5*time.Second)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	in, err := o.Store.InstanceRegister(ctx, o.Owner)
	if err != nil {
		return nil, err
	}
	r := &Rescuer{o: o, in: in, done: make(chan struct{})}
	r.rescue(ctx)
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	go r.loop(loopCtx)
	return r, nil
}

// Stop ends the loop and the registration. Call it once the engine and the
// watchers have stopped and released their leases.
func (r *Rescuer) Stop() {
	r.cancel()
	<-r.done
	if err := r.in.Close(); err != nil {
		r.o.Log.Warn("ending this instance's registration", "err", err)
	}
}

func (r *Rescuer) loop(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.o.Every)
	defer t.Stop()
	var quietUntil time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		renewed, err := r.in.Renew(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.o.Log.Error("this instance is not registered as alive; others may take over its work", "owner", r.o.Owner, "err", err)
			continue
		case renewed:
			r.o.Log.Warn("this instance's registration was lost and is taken again", "owner", r.o.Owner)
			quietUntil = time.Now().Add(r.o.Grace)
		}
		if time.Now().Before(quietUntil) {
			continue
		}
		r.rescue(ctx)
	}
}

// rescue releases the leases of the instances found dead.
func (r *Rescuer) rescue(ctx context.Context) {
	res, err := r.o.Store.LeasesRescue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.o.Log.Error("releasing the leases of dead instances", "err", err)
		}
		return
	}
	if res.Enrollments+res.Mailboxes == 0 {
		// Nothing held: instances that stopped cleanly, or died idle.
		if len(res.Owners) > 0 {
			r.o.Log.Debug("forgot instances that ended holding nothing", "instances", res.Owners)
		}
		return
	}
	r.o.Log.Warn("instances died; their leases are released for the others to take over",
		"dead", res.Owners, "claims", res.Enrollments, "mailboxes", res.Mailboxes)
	if r.o.OnRescued != nil {
		r.o.OnRescued(res)
	}
}
