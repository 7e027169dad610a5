package sequencer

import (
	"context"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// Sender holds (R9). A held sender sends nothing until its hold ends and
// costs the other senders nothing: the store keeps the hold, every
// instance's claim passes over its enrollments, and the engine plans the
// ones it finds due at the hold's end, at the first window instant from
// then (for a daily cap: the sender's next day). No prospect's step fails
// or is charged an attempt because its sender is held.

// holdRefresh is how often the engine re-reads the holds of the store
// (those other instances set, or `drip sender resume` lifted). Zero: at
// every claim, so that what a claim decides about a sender agrees with
// what the claim's query read (a small table, one indexed read).
const holdRefresh = 0

// heldNow is the sender's hold in force at now, as last read or set.
func (e *Engine) heldNow(sender string, now time.Time) (store.SenderHold, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h, ok := e.holds[sender]
	return h, ok && now.Before(h.Until)
}

// anyHeld reports whether some sender is held at now.
func (e *Engine) anyHeld(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, h := range e.holds {
		if now.Before(h.Until) {
			return true
		}
	}
	return false
}

// refreshHolds re-reads the holds from the store, at most every
// holdRefresh.
func (e *Engine) refreshHolds(ctx context.Context, now time.Time) {
	e.mu.Lock()
	due := holdRefresh == 0 || e.holdsRead.IsZero() || time.Since(e.holdsRead) >= holdRefresh
	if due {
		e.holdsRead = time.Now()
	}
	e.mu.Unlock()
	if !due {
		return
	}
	holds, err := e.o.Store.SenderHolds(ctx, now)
	if err != nil {
		e.log.Error("reading sender holds", "err", err)
		return
	}
	m := make(map[string]store.SenderHold, len(holds))
	for _, h := range holds {
		m[h.Sender] = h
	}
	var paces map[string]store.SenderPace
	if e.anyPaced {
		// The turns other instances took; read only where some sender is
		// paced, so that a claim of relays costs nothing more.
		ps, err := e.o.Store.SenderPaces(ctx)
		if err != nil {
			e.log.Error("reading the senders' pace", "err", err)
		} else {
			paces = make(map[string]store.SenderPace, len(ps))
			for _, p := range ps {
				paces[p.Sender] = p
			}
		}
	}
	e.mu.Lock()
	e.holds = m
	if paces != nil {
		for s, p := range e.paces {
			// A turn this instance took since the read stays.
			if q, ok := paces[s]; !ok || q.NotBefore.Before(p.NotBefore) {
				paces[s] = p
			}
		}
		e.paces = paces
	}
	e.mu.Unlock()
}

// senderState is what the engine knows of the sender at now (SenderGate).
func (e *Engine) senderState(snd *Sender, now time.Time) SenderState {
	name := snd.Config.Name
	e.mu.Lock()
	defer e.mu.Unlock()
	s := SenderState{Pace: snd.Config.Pace, Turn: e.paces[name], InHand: e.inHand[name]}
	if h, ok := e.holds[name]; ok && now.Before(h.Until) {
		s.Hold = h
	}
	return s
}

// inHandSenders lists the paced senders this instance has a step of in
// hand: its claims pass over them.
func (e *Engine) inHandSenders() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for s, ok := range e.inHand {
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// decideFor is Decide, for a paced sender DecidePaced: a step that waited
// for its sender's turn is not skipped for the wait (R3, R9). since is the
// run's start as the claim found it (fresh from the store): the decision
// at the start reuses it, as this instance's view of the turn may lag by
// then.
func (e *Engine) decideFor(en store.Enrollment, seq *configs.Sequence, snd *Sender, loc *time.Location, now time.Time, since *time.Time) Decision {
	if snd == nil || snd.Config.Pace == nil {
		return Decide(en, seq, loc, now)
	}
	if since.IsZero() {
		*since = RunSince(e.senderState(snd, now), now)
	}
	return DecidePaced(en, seq, loc, now, *since)
}

// untilNextLook is how long the claim loop sleeps when it found nothing
// to do: Poll, or less when a paced sender's turn comes sooner, so that
// its next send starts at its turn, not up to a poll later (which would
// stretch the gap past the pace's max).
func (e *Engine) untilNextLook() time.Duration {
	wait := e.o.Poll
	if !e.anyPaced {
		return wait
	}
	now := e.o.Clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.paces {
		if d := t.NotBefore.Sub(now); d > 0 && d < wait {
			wait = d
		}
	}
	return max(wait, time.Millisecond)
}

// turnTaken records that this instance started a step of the paced
// sender at now, with the gap drawn: its next turn.
func (e *Engine) turnTaken(snd *Sender, now time.Time, gap time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	name := snd.Config.Name
	t := e.paces[name]
	if t.RunSince.IsZero() || now.After(t.NotBefore.Add(PaceSlack(snd.Config.Pace))) {
		t.RunSince = now
	}
	t.Sender, t.NotBefore = name, now.Add(gap)
	e.paces[name] = t
}

// hold holds a sender (for this instance at once, for every instance
// through the store) and says so in the log.
func (e *Engine) hold(ctx context.Context, h store.SenderHold) {
	e.mu.Lock()
	if old, ok := e.holds[h.Sender]; ok && !old.Until.Before(h.Until) && h.Since.Before(old.Until) {
		e.mu.Unlock()
		return // held as long already: said once
	}
	e.holds[h.Sender] = h
	e.mu.Unlock()
	e.log.Warn("sender held: its sends wait", "sender", h.Sender, "reason", h.Reason, "until", h.Until, "detail", h.Detail)
	if err := e.o.Store.SenderHoldSet(context.WithoutCancel(ctx), h); err != nil {
		e.log.Error("recording the sender's hold", "sender", h.Sender, "err", err)
	}
}

// blockedFor is how long a sender its provider blocked stays held: until
// someone looks (drip sender resume), in practice.
const blockedFor = 100 * 365 * 24 * time.Hour

// senderFailed holds the sender of a delivery that failed for the
// mailbox's sake, not the prospect's, for reason (DecideDelivery):
//   - unreachable server, provider throttling: backoff from Retry.Base,
//     doubling with each failed round, up to Retry.MaxDelay;
//   - daily quota of the provider: until the sender's next day;
//   - blocked by the provider: until drip sender resume;
//   - refused login or sender address, revoked grant: Retry.MaxDelay (a
//     new grant ends a reauth hold at once: drip mailbox connect).
func (e *Engine) senderFailed(ctx context.Context, snd *Sender, reason string, cause error, now time.Time) store.SenderHold {
	sender := snd.Config.Name
	if h, held := e.heldNow(sender, now); held && h.Reason != store.HoldDailyLimit {
		// The other sends in flight when the first failed: one outage,
		// one step of backoff.
		return h
	}
	h := store.SenderHold{Sender: sender, Reason: reason, Since: now, Detail: cause.Error()}
	switch reason {
	case store.HoldUnreachable, store.HoldThrottled:
		e.mu.Lock()
		e.failing[sender]++
		n := e.failing[sender]
		e.mu.Unlock()
		d := e.o.Retry.Base
		for i := 1; i < n && d < e.o.Retry.MaxDelay; i++ {
			d *= 2
		}
		h.Until = now.Add(min(d, e.o.Retry.MaxDelay))
	case store.HoldDailyLimit:
		h.Until = nextDay(now, snd.Location)
	case store.HoldBreaker:
		h.Until = now.Add(blockedFor)
	default:
		h.Until = now.Add(e.o.Retry.MaxDelay)
	}
	e.hold(ctx, h)
	return h
}

// senderWorks ends the backoff of a sender whose server took a message.
func (e *Engine) senderWorks(sender string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failing[sender] > 0 {
		delete(e.failing, sender)
	}
}

// checkBreaker trips the sender's circuit breaker on a hard bounce (not
// stored yet: counted here as the last of the window) if its bounce rate
// over its last sends passed the threshold: the sender is held until drip
// sender resume; its steps wait, nobody's fails. Sends already under way
// on other workers or instances finish.
func (e *Engine) checkBreaker(ctx context.Context, snd *Sender, now time.Time) {
	sh := snd.Config.Protect
	if sh.Off {
		return
	}
	if h, held := e.heldNow(snd.Config.Name, now); held && h.Reason == store.HoldBreaker {
		return
	}
	c, err := e.o.Store.SenderBounces(ctx, snd.Config.Name, breakerWindow(sh)-1)
	if err != nil {
		e.log.Error("counting the sender's bounces", "sender", snd.Config.Name, "err", err)
		return
	}
	c.Sends++
	c.Bounced++
	if !BreakerTrips(c, sh) {
		return
	}
	e.hold(ctx, store.SenderHold{Sender: snd.Config.Name, Reason: store.HoldBreaker, Since: now,
		Until: now.Add(blockedFor), Detail: breakerDetail(c, sh)})
}
