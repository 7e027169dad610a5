package sequencer

// R9, the sender's mailbox: what the engine may do with a due step of a
// sender, as pure functions of what it knows of the sender and now. The
// store keeps the state every instance shares (holds, the pace's turn, the
// breaker's window) and refuses a start that would break it; these
// functions decide what to claim, what to start and what to plan.

import (
	"fmt"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// SenderState is what the engine knows of one sender at an instant.
type SenderState struct {
	// Hold is the sender's hold in force (Until zero: none). A capped
	// sender (daily limit used up), an outage (unreachable server), a
	// throttling provider and a tripped breaker are all holds.
	Hold store.SenderHold
	// Pace is the sender's pace (nil: none, a relay).
	Pace *configs.Pace
	// Turn is its turn, as last read from the store or taken by this
	// instance: nothing from it starts before Turn.NotBefore, whichever
	// instance took the turn.
	Turn store.SenderPace
	// InHand: this instance has a step of the paced sender decided and
	// not yet started (it holds the next turn's candidate).
	InHand bool
}

// SenderVerdict is what SenderGate tells the engine about a due step.
type SenderVerdict int

const (
	// SenderGo: the step may start now (for a paced sender: it is the
	// turn's one step; the store still checks the turn as it starts it).
	SenderGo SenderVerdict = iota
	// SenderHeld: the sender is held: plan the step at the first window
	// instant at or after Until, where R3 is judged again; nothing fails
	// or is skipped for the wait.
	SenderHeld
	// SenderTurn: the paced sender's turn has not come, or this instance
	// has its next step in hand: give the lease back and change nothing,
	// so that at the turn the claim takes the longest-due step first.
	SenderTurn
)

func (v SenderVerdict) String() string {
	switch v {
	case SenderHeld:
		return "held"
	case SenderTurn:
		return "wait for its turn"
	}
	return "go"
}

// SenderGate decides what a due step of the sender may do at now; for
// SenderHeld, until is the end of the hold.
func SenderGate(s SenderState, now time.Time) (v SenderVerdict, until time.Time) {
	switch {
	case now.Before(s.Hold.Until):
		return SenderHeld, s.Hold.Until
	case s.Pace == nil:
		return SenderGo, time.Time{}
	case s.InHand || now.Before(s.Turn.NotBefore):
		return SenderTurn, time.Time{}
	}
	return SenderGo, time.Time{}
}

// PaceGap is the gap after a send from a sender with pace p: uniform in
// [p.Min, p.Max] as u runs over [0, 1), in whole milliseconds (the store
// keeps microseconds: a gap it rounds stays inside the pace). Zero for no
// pace.
func PaceGap(p *configs.Pace, u float64) time.Duration {
	if p == nil {
		return 0
	}
	lo, hi := p.Min.Approx(), p.Max.Approx()
	if hi <= lo {
		return lo
	}
	g := (lo + time.Duration(u*float64(hi-lo))).Truncate(time.Millisecond)
	return min(max(g, lo), hi)
}

// PaceSlack is how late after its turn a start may be and still continue
// the sender's run of paced sends (the engine notices a turn within its
// poll; a start later than the longest gap follows a pause).
func PaceSlack(p *configs.Pace) time.Duration {
	if p == nil {
		return 0
	}
	return p.Max.Approx()
}

// RunSince is when the sender's run of back-to-back paced sends began, as
// it stands for a start at now: the stored run while the turn came less
// than the slack ago, else now (a start after a pause begins a new run).
func RunSince(s SenderState, now time.Time) time.Time {
	if s.Pace == nil || s.Turn.RunSince.IsZero() || now.After(s.Turn.NotBefore.Add(PaceSlack(s.Pace))) {
		return now
	}
	return s.Turn.RunSince
}

// DecidePaced is Decide for a step of a paced sender whose run of sends
// began at since: a step that fell due during the run waited for its
// turn, not for an outage, so R3 is judged at the moment it fell due (or
// the run began, for one due before), not at now: the step that waited is
// sent, not skipped for a later one that fell due meanwhile. When it goes
// out (the window, R2) is still judged at now.
func DecidePaced(e store.Enrollment, seq *configs.Sequence, loc *time.Location, now, since time.Time) Decision {
	d := Decide(e, seq, loc, now)
	if d.Action != Send || len(d.Skip) == 0 || e.NextSendAt == nil {
		return d
	}
	judge := *e.NextSendAt
	if since.After(judge) {
		judge = since
	}
	if !judge.Before(now) {
		return d
	}
	w := Decide(e, seq, loc, judge)
	if (w.Action == Send || w.Action == Wait && !w.At.After(now)) && w.Step < d.Step {
		d.Step, d.Skip, d.At = w.Step, w.Skip, w.At
	}
	return d
}

// BreakerTrips reports whether a sender's circuit breaker trips on its
// window c: at least MinSends finished sends counted and more than
// MaxBounceRate of them bounced. Zero fields of sh take the defaults.
func BreakerTrips(c store.BounceCount, sh configs.Shield) bool {
	if sh.Off {
		return false
	}
	rate, minSends := sh.MaxBounceRate, sh.MinSends
	if rate == 0 {
		rate = configs.DefaultMaxBounceRate
	}
	if minSends == 0 {
		minSends = configs.DefaultMinSends
	}
	return c.Sends >= minSends && float64(c.Bounced) > rate*float64(c.Sends)
}

// breakerWindow is the breaker's window of sh, with its default.
func breakerWindow(sh configs.Shield) int {
	if sh.Window > 0 {
		return sh.Window
	}
	return configs.DefaultBounceWindow
}

// breakerDetail is what a tripped breaker's hold says.
func breakerDetail(c store.BounceCount, sh configs.Shield) string {
	rate := sh.MaxBounceRate
	if rate == 0 {
		rate = configs.DefaultMaxBounceRate
	}
	return fmt.Sprintf("%d of its last %d sends bounced (%.1f%%, more than %.1f%%): check the list, then drip sender resume",
		c.Bounced, c.Sends, 100*float64(c.Bounced)/float64(c.Sends), 100*rate)
}
