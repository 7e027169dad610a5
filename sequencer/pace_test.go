package sequencer_test

import (
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

var human = &configs.Pace{Min: configs.Span{Dur: 60 * time.Second}, Max: configs.Span{Dur: 180 * time.Second}}

// R9 as the engine meets it. The states, first:
//
//	sender held:    none | daily limit (capped) | unreachable (outage) | breaker
//	sender paced:   no (relay) | turn come | turn not come | step in hand
//	two instances:  the other took the turn (the store's turn is ahead)
func TestSenderGate(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	hold := func(reason string, d time.Duration) store.SenderHold {
		return store.SenderHold{Sender: "maria", Reason: reason, Since: now.Add(-time.Minute), Until: now.Add(d)}
	}
	turn := func(d time.Duration) store.SenderPace {
		return store.SenderPace{Sender: "maria", NotBefore: now.Add(d), RunSince: now.Add(-time.Hour)}
	}
	for _, tc := range []struct {
		state string
		s     sequencer.SenderState
		want  sequencer.SenderVerdict
		until time.Time
	}{
		{"relay, free", sequencer.SenderState{}, sequencer.SenderGo, time.Time{}},
		{"relay, capped (daily limit)", sequencer.SenderState{Hold: hold(store.HoldDailyLimit, 15*time.Hour)}, sequencer.SenderHeld, now.Add(15 * time.Hour)},
		{"relay, outage (unreachable)", sequencer.SenderState{Hold: hold(store.HoldUnreachable, time.Minute)}, sequencer.SenderHeld, now.Add(time.Minute)},
		{"relay, hold just ended", sequencer.SenderState{Hold: hold(store.HoldUnreachable, 0)}, sequencer.SenderGo, time.Time{}},
		{"paced, never sent", sequencer.SenderState{Pace: human}, sequencer.SenderGo, time.Time{}},
		{"paced, turn come", sequencer.SenderState{Pace: human, Turn: turn(0)}, sequencer.SenderGo, time.Time{}},
		{"paced, turn long past", sequencer.SenderState{Pace: human, Turn: turn(-time.Hour)}, sequencer.SenderGo, time.Time{}},
		{"paced, turn not come", sequencer.SenderState{Pace: human, Turn: turn(time.Second)}, sequencer.SenderTurn, time.Time{}},
		{"paced, next step in hand", sequencer.SenderState{Pace: human, Turn: turn(-time.Minute), InHand: true}, sequencer.SenderTurn, time.Time{}},
		{"paced, two instances: the other took the turn", sequencer.SenderState{Pace: human, Turn: turn(100 * time.Second)}, sequencer.SenderTurn, time.Time{}},
		{"paced and capped: the hold wins", sequencer.SenderState{Pace: human, Turn: turn(time.Second), Hold: hold(store.HoldDailyLimit, time.Hour)}, sequencer.SenderHeld, now.Add(time.Hour)},
		{"paced, breaker tripped", sequencer.SenderState{Pace: human, Hold: hold(store.HoldBreaker, 100*365*24*time.Hour)}, sequencer.SenderHeld, now.Add(100 * 365 * 24 * time.Hour)},
	} {
		v, until := sequencer.SenderGate(tc.s, now)
		if v != tc.want || !until.Equal(tc.until) {
			t.Errorf("%s: %s until %v, want %s until %v", tc.state, v, until, tc.want, tc.until)
		}
	}
}

func TestPaceGapStaysInsideThePace(t *testing.T) {
	for _, u := range []float64{0, 1e-9, 0.25, 0.5, 0.999999999} {
		if g := sequencer.PaceGap(human, u); g < time.Minute || g > 3*time.Minute {
			t.Errorf("sequencer.PaceGap(u=%v) = %v, outside [1m, 3m]", u, g)
		}
	}
	if g := sequencer.PaceGap(human, 0.5); g < 119*time.Second || g > 121*time.Second {
		t.Errorf("sequencer.PaceGap(0.5) = %v, want the middle", g)
	}
	if g := sequencer.PaceGap(nil, 0.5); g != 0 {
		t.Errorf("no pace: gap %v", g)
	}
}

// The run of paced sends: the stored run goes on while the turn came less
// than the slack (the longest gap) ago; later, a start begins a new run.
func TestRunSince(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	began := now.Add(-3 * time.Hour)
	for _, tc := range []struct {
		state string
		s     sequencer.SenderState
		want  time.Time
	}{
		{"relay", sequencer.SenderState{}, now},
		{"paced, never sent", sequencer.SenderState{Pace: human}, now},
		{"paced, at its turn", sequencer.SenderState{Pace: human, Turn: store.SenderPace{NotBefore: now, RunSince: began}}, began},
		{"paced, a little after its turn", sequencer.SenderState{Pace: human, Turn: store.SenderPace{NotBefore: now.Add(-3 * time.Minute), RunSince: began}}, began},
		{"paced, after a pause", sequencer.SenderState{Pace: human, Turn: store.SenderPace{NotBefore: now.Add(-3*time.Minute - time.Second), RunSince: began}}, now},
	} {
		if got := sequencer.RunSince(tc.s, now); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.state, got, tc.want)
		}
	}
}

// A paced sender's step that waited for its turn is sent, not skipped for
// a later step that fell due meanwhile (R3 judged when it fell due); one
// found due after an outage, before the run began, is still judged by R3.
func TestDecidePacedDoesNotSkipForThePace(t *testing.T) {
	seq := &configs.Sequence{Name: "s", Steps: 5, Interval: configs.Span{Dur: time.Hour}, Location: time.UTC, Timezone: "UTC"}
	a := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	// Step 1 fell due at 09:00; by 10:30 step 2 (due 10:00) is due too.
	e := store.Enrollment{State: store.StateActive, Anchor: a, NextSendAt: ptr(a)}
	now := a.Add(90 * time.Minute)
	for _, tc := range []struct {
		state string
		since time.Time
		step  int
		skip  int
	}{
		{"waited for its turn since 09:00 (run began at 08:00)", a.Add(-time.Hour), 1, 0},
		{"run began at 09:10, after it fell due", a.Add(10 * time.Minute), 1, 0},
		{"run began at 10:20 (an outage until then): R3", a.Add(80 * time.Minute), 2, 1},
		{"no run (starts now): R3", now, 2, 1},
	} {
		d := sequencer.DecidePaced(e, seq, time.UTC, now, tc.since)
		if d.Action != sequencer.Send || d.Step != tc.step || len(d.Skip) != tc.skip {
			t.Errorf("%s: %s step %d skip %v; want send step %d, %d skipped", tc.state, d.Action, d.Step, d.Skip, tc.step, tc.skip)
		}
	}
	// The window still rules when it goes out (R2).
	win := *seq
	win.Window = mustWindow("tue", "09:00", "10:00")
	if d := sequencer.DecidePaced(e, &win, time.UTC, now, a.Add(-time.Hour)); d.Action != sequencer.Wait {
		t.Errorf("outside the window: %s, want wait", d.Action)
	}
}

// The breaker trips at the first bounce that takes the rate past the
// threshold once min_sends are counted: with the defaults (5 % of the
// last 100, from 20 on), a list where 1 in 10 bounces trips it at its
// 20th send.
func TestBreakerTrips(t *testing.T) {
	def := configs.Shield{}
	for _, tc := range []struct {
		state string
		c     store.BounceCount
		sh    configs.Shield
		want  bool
	}{
		{"no sends", store.BounceCount{}, def, false},
		{"1 of 10 bounced, under min_sends", store.BounceCount{Sends: 10, Bounced: 1}, def, false},
		{"2 of 19 bounced, under min_sends", store.BounceCount{Sends: 19, Bounced: 2}, def, false},
		{"2 of 20 bounced: trips", store.BounceCount{Sends: 20, Bounced: 2}, def, true},
		{"1 of 20 bounced: exactly 5 %, not past it", store.BounceCount{Sends: 20, Bounced: 1}, def, false},
		{"5 of 100: at the threshold", store.BounceCount{Sends: 100, Bounced: 5}, def, false},
		{"6 of 100: past it", store.BounceCount{Sends: 100, Bounced: 6}, def, true},
		{"stricter: 2 % after 20, 1 of 20", store.BounceCount{Sends: 20, Bounced: 1}, configs.Shield{MaxBounceRate: 0.02, MinSends: 20}, true},
		{"off", store.BounceCount{Sends: 100, Bounced: 50}, configs.Shield{Off: true}, false},
	} {
		if got := sequencer.BreakerTrips(tc.c, tc.sh); got != tc.want {
			t.Errorf("%s: trips %v, want %v", tc.state, got, tc.want)
		}
	}
}
