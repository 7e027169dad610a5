package imapwatch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
)

// leaseCounter counts each owner's refused lease attempts.
type leaseCounter struct {
	store.Store
	mu      sync.Mutex
	refused map[string]int
}

func (l *leaseCounter) MailboxLease(ctx context.Context, sender, owner string, now, until time.Time) (bool, error) {
	held, err := l.Store.MailboxLease(ctx, sender, owner, now, until)
	if err == nil && !held {
		l.mu.Lock()
		l.refused[owner]++
		l.mu.Unlock()
	}
	return held, err
}

func (l *leaseCounter) refusals(owner string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused[owner]
}

// TestTakeoverAfterCrash: two instances on one PostgreSQL store watch one
// mailbox. Exactly one is connected; when it dies without a word (its
// lease is not released), the other takes the mailbox over once the lease
// has run out, and handles the reply that came meanwhile: none is missed,
// none is handled twice.
func TestTakeoverAfterCrash(t *testing.T) {
	st := testrig.Open(t, pgtest.NewDatabase(t))
	lc := &leaseCounter{Store: st, refused: map[string]int{}}
	srv := newMemIMAP(t, false)
	a := seed(t, st, "a@prospect.example", "trade-fair")
	b := seed(t, st, "b@prospect.example", "trade-fair")

	crashLike := func(w *Watcher) { w.keepLease = true }
	watchers := map[string]*running{}
	for _, owner := range []string{"instance-a", "instance-b"} {
		cfg := testConfig(srv.host(), srv.port(), owner)
		cfg.Lease = time.Second
		watchers[owner] = start(t, cfg, handler(lc), crashLike)
	}
	var leader, follower *running
	testrig.WaitFor(t, "one instance connected", func() bool {
		switch {
		case watchers["instance-a"].w.Connected():
			leader, follower = watchers["instance-a"], watchers["instance-b"]
		case watchers["instance-b"].w.Connected():
			leader, follower = watchers["instance-b"], watchers["instance-a"]
		}
		return leader != nil
	})
	// The other keeps asking and keeps being refused while the leader lives.
	testrig.WaitFor(t, "the follower refused three times", func() bool { return lc.refusals(follower.w.cfg.Owner) >= 3 })
	if follower.w.Connected() || !leader.w.Connected() {
		t.Fatalf("connected: leader %v, follower %v; want exactly the leader", leader.w.Connected(), follower.w.Connected())
	}
	gauge := func(r *running) float64 {
		return testutil.ToFloat64(r.w.cfg.Metrics.connected.WithLabelValues(senderName))
	}
	if gauge(leader) != 1 || gauge(follower) != 0 {
		t.Errorf("drip_imap_connected: leader %v, follower %v; want 1 and 0", gauge(leader), gauge(follower))
	}

	srv.waitIdles(t, leader, 1)
	first := srv.deliver(humanReply("a@prospect.example", a.messageID))
	testrig.WaitFor(t, "the leader handles a reply", func() bool { return leader.sawUID(first) })

	leader.stop(t) // a crash: the lease stays taken until it runs out
	second := srv.deliver(humanReply("b@prospect.example", b.messageID))

	testrig.WaitFor(t, "the follower takes over and handles the reply", func() bool { return follower.sawUID(second) })
	if got := follower.handledList(); len(got) != 1 {
		t.Errorf("the new watcher handled %+v, want only UID %d", got, second)
	}
	if leader.sawUID(second) {
		t.Error("the dead instance handled a message")
	}
	if !follower.w.Connected() || gauge(follower) != 1 {
		t.Errorf("after takeover the follower is connected=%v, gauge %v", follower.w.Connected(), gauge(follower))
	}
	for _, s := range []seeded{a, b} {
		if got := enrollment(t, st, s.enrollment.ID).State; got != store.StateReplied {
			t.Errorf("%s: enrollment %s, want replied", s.prospect.Email, got)
		}
		if n := kinds(timeline(t, st, s.prospect.ID))[store.EventReply]; n != 1 {
			t.Errorf("%s: %d reply events, want exactly 1", s.prospect.Email, n)
		}
	}
}
