package sequencer

import (
	"context"
	"log/slog"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// BreakerStore is what the breakers need of the store.
type BreakerStore interface {
	SenderBounces(ctx context.Context, sender string, window int) (store.BounceCount, error)
	SenderHoldSet(ctx context.Context, h store.SenderHold) error
}

// Breakers judge the senders' circuit breakers on bounce reports that
// come back by mail (a personal mailbox's server takes any recipient and
// reports the unknown ones later): the inbound handler asks after it
// recorded one. The engine judges the bounces at RCPT itself.
type Breakers struct {
	Store BreakerStore
	// Protect is each sender's breaker (configs.Sender.Protect), by name;
	// a sender not in it is not judged here.
	Protect map[string]configs.Shield
	Log     *slog.Logger
}

// Check holds sender (reason breaker, until drip sender resume) if its
// bounce rate over its window passed the threshold.
func (b *Breakers) Check(ctx context.Context, sender string, now time.Time) {
	if b == nil {
		return
	}
	sh, ok := b.Protect[sender]
	if !ok || sh.Off {
		return
	}
	c, err := b.Store.SenderBounces(ctx, sender, breakerWindow(sh))
	if err != nil {
		b.log().Error("counting the sender's bounces", "sender", sender, "err", err)
		return
	}
	if !BreakerTrips(c, sh) {
		return
	}
	h := store.SenderHold{Sender: sender, Reason: store.HoldBreaker, Since: now, Until: now.Add(blockedFor), Detail: breakerDetail(c, sh)}
	if err := b.Store.SenderHoldSet(ctx, h); err != nil {
		b.log().Error("holding the sender for its breaker", "sender", sender, "err", err)
		return
	}
	b.log().Warn("sender held: its sends wait", "sender", sender, "reason", h.Reason, "detail", h.Detail)
}

func (b *Breakers) log() *slog.Logger {
	if b.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Log
}
