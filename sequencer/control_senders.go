package sequencer

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// SenderView is one sender as drip status --senders shows it.
type SenderView struct {
	Name       string         `json:"name"`
	State      string         `json:"state"`      // "ok", or the reason it is held (store.Hold*)
	HeldUntil  time.Time      `json:"held_until"` // zero when not held
	HoldDetail string         `json:"hold_detail"`
	SentToday  int            `json:"sent_today"`
	DailyLimit int            `json:"daily_limit"` // 0 = none
	Pace       string         `json:"pace"`
	Capacity   SenderCapacity `json:"capacity"`
}

// SendersView is every configured sender's state, today's sends and its
// capacity forecast for the next week, and the busiest planned day to
// Gmail of each sending domain.
func (c *Control) SendersView(ctx context.Context) ([]SenderView, []GmailVolume, error) {
	now := c.now()
	holds, err := c.Store.SenderHolds(ctx, now)
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]store.SenderHold{}
	heldUntil := map[string]time.Time{}
	for _, h := range holds {
		byName[h.Sender], heldUntil[h.Sender] = h, h.Until
	}
	sent := map[string]int{}
	for i := range c.Config.Senders {
		s := &c.Config.Senders[i]
		n, err := c.Store.SenderDailyUsed(ctx, s.Name, now.In(senderLoc(s)).Format(time.DateOnly))
		if err != nil {
			return nil, nil, err
		}
		sent[s.Name] = n
	}
	planned, err := c.Store.EnrollmentsPlanned(ctx, now.Add(DefaultHorizon))
	if err != nil {
		return nil, nil, err
	}
	caps, vols := Forecast(CapacityParams{Config: c.Config, Planned: planned, Now: now, SentToday: sent, HeldUntil: heldUntil})
	out := make([]SenderView, len(c.Config.Senders))
	for i := range c.Config.Senders {
		s := &c.Config.Senders[i]
		v := SenderView{Name: s.Name, State: "ok", SentToday: sent[s.Name], DailyLimit: s.DailyLimit,
			Pace: s.Pace.String(), Capacity: caps[i]}
		if h, ok := byName[s.Name]; ok {
			v.State, v.HeldUntil, v.HoldDetail = h.Reason, h.Until, h.Detail
		}
		out[i] = v
	}
	return out, vols, nil
}

// CapacityAdvice is the line drip check and drip status print for a
// sender that has more due than it can send, with the ways out.
func CapacityAdvice(s *configs.Sender, c SenderCapacity) string {
	return fmt.Sprintf("sender %s: %d sends due in the next 7 days, but its window, pace and daily limit allow %d: "+
		"they will go out late; widen the sequence's window, add a sender, or lengthen the interval", s.Name, c.Due, c.Capacity)
}

// GmailAdvice is the warning for a sending domain near Gmail's bulk
// threshold.
func GmailAdvice(v GmailVolume) string {
	return fmt.Sprintf("domain %s: %d messages planned to gmail.com/googlemail.com on %s, near Gmail's %d a day: "+
		"from there Gmail holds the domain to its bulk-sender rules (SPF, DKIM, DMARC, one-click unsubscribe; run drip check --dns)",
		v.Domain, v.Planned, v.Day, GmailBulkThreshold)
}

// SenderResume ends the sender's hold, whatever its reason: after its
// circuit breaker tripped or its provider blocked it, once someone has
// looked (drip sender resume). Its waiting steps are claimed at once. It
// returns the hold that was lifted (Reason "" when it was not held).
func (c *Control) SenderResume(ctx context.Context, name string) (store.SenderHold, error) {
	return c.SenderResumeFrom(ctx, name)
}

// SenderResumeFrom is SenderResume for a hold of one of reasons only (any
// when none is given): drip mailbox connect ends a reauth hold, not a
// daily limit.
func (c *Control) SenderResumeFrom(ctx context.Context, name string, reasons ...string) (store.SenderHold, error) {
	if _, ok := c.Config.Sender(name); !ok {
		return store.SenderHold{}, notFoundf("no sender %q in the configuration", name)
	}
	var lifted store.SenderHold
	holds, err := c.Store.SenderHolds(ctx, c.now())
	if err != nil {
		return lifted, err
	}
	for _, h := range holds {
		if h.Sender == name && (len(reasons) == 0 || slices.Contains(reasons, h.Reason)) {
			lifted = h
		}
	}
	if lifted.Reason == "" {
		return lifted, nil
	}
	if lifted.Reason == store.HoldBreaker {
		// The breaker counts afresh: the bounces that tripped it do not
		// trip it again at the next one.
		if err := c.Store.SenderBreakerReset(ctx, name, c.now()); err != nil {
			return lifted, err
		}
	}
	if err := c.Store.SenderHoldClear(ctx, name, lifted.Reason); err != nil {
		return lifted, err
	}
	if lifted.Reason != "" {
		// Its steps were planned at the hold's end: due now instead.
		if _, err := c.Store.EnrollmentsRedecide(ctx, name, lifted.Until, c.now()); err != nil {
			return lifted, err
		}
	}
	if c.Wake != nil {
		c.Wake()
	}
	return lifted, nil
}
