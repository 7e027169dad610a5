package sequencer_test

import (
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// TestDeferAnchor is R5b's table: an out-of-office reply with a return
// date moves the next step to the first window instant of the return, and
// the steps after it keep their spacing.
func TestDeferAnchor(t *testing.T) {
	a := at(rome, 2026, 1, 5, 0, 0) // first contact, a Monday
	day := func(n int) time.Time { return a.AddDate(0, 0, n) }
	tueThu := mustWindow("tue,wed,thu", "09:30", "10:30")
	dst := at(rome, 2026, 3, 5, 0, 0) // step 2 on 25 March, before Rome's spring forward on the 29th
	ny := at(newYork, 2026, 10, 10, 0, 0)

	tests := []struct {
		name      string
		seq       *configs.Sequence
		loc       *time.Location
		e         store.Enrollment
		back, now time.Time
		deferred  bool
		wantNext  time.Time // the next step's planned time after the rule
		wantLater time.Time // the step after it (spacing kept)
	}{
		{
			name: "back after the next step: the step waits for the return, the next keeps its 10 days",
			seq:  tradeFair(), e: active(a, 1, ptr(day(10))), back: day(30), now: day(11),
			deferred: true, wantNext: day(30), wantLater: day(40),
		},
		{
			name: "back before the next step: nothing changes",
			seq:  tradeFair(), e: active(a, 1, ptr(day(10))), back: day(15), now: day(11),
			wantNext: day(20), wantLater: day(30),
		},
		{
			name: "back the day the step is planned: nothing changes",
			seq:  tradeFair(), e: active(a, 1, ptr(day(10))), back: day(20), now: day(11),
			wantNext: day(20), wantLater: day(30),
		},
		{
			name: "a return date in the past: nothing changes",
			seq:  tradeFair(), e: active(a, 1, ptr(day(10))), back: day(5), now: day(11),
			wantNext: day(20), wantLater: day(30),
		},
		{
			name: "window tue-thu 09:30: back on a Saturday, the step goes the Tuesday after at 09:30",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			e:    active(a, 1, ptr(day(10))), back: at(rome, 2026, 1, 31, 0, 0), now: day(11),
			deferred: true, wantNext: at(rome, 2026, 2, 3, 9, 30),
			wantLater: at(rome, 2026, 2, 17, 9, 30), // 13 Feb is a Friday: the window's next Tuesday
		},
		{
			name: "nothing sent yet (the prospect wrote first): step 1 waits for the return",
			seq:  tradeFair(), e: active(a, 0, nil), back: day(25), now: day(3),
			deferred: true, wantNext: day(25), wantLater: day(35),
		},
		{
			name: "back on a holiday (8 Dec, Immacolata, a Tuesday), window tue-thu, holidays it: the Wednesday after",
			seq: withSeq(tradeFair(), func(s *configs.Sequence) {
				w := mustWindow("tue,wed,thu", "09:30", "10:30")
				w.Holidays = []string{"it"}
				s.Window = w
			}),
			e:    active(at(rome, 2026, 11, 2, 0, 0), 1, ptr(at(rome, 2026, 11, 12, 9, 30))),
			back: at(rome, 2026, 12, 8, 0, 0), now: at(rome, 2026, 11, 25, 9, 0),
			deferred: true, wantNext: at(rome, 2026, 12, 9, 9, 30),
			wantLater: at(rome, 2026, 12, 22, 9, 30), // 19 Dec is a Saturday: the window's next Tuesday
		},
		{
			name: "the step due now while away waits for the return, nothing skipped",
			seq:  tradeFair(), e: active(a, 1, ptr(day(10))), back: day(27), now: day(20),
			deferred: true, wantNext: day(27), wantLater: day(37),
		},
		{
			name: "across Rome's spring forward: midnight local before and after",
			seq:  tradeFair(), e: active(dst, 1, ptr(dst.AddDate(0, 0, 10))),
			back: at(rome, 2026, 4, 2, 0, 0), now: dst.AddDate(0, 0, 12),
			deferred: true, wantNext: at(rome, 2026, 4, 2, 0, 0), wantLater: at(rome, 2026, 4, 12, 0, 0),
		},
		{
			name: "across New York's fall back with a window: 09:30 local",
			seq: withSeq(tradeFair(), func(s *configs.Sequence) {
				s.Window, s.Location, s.Timezone = tueThu, newYork, "America/New_York"
			}),
			loc: newYork, e: active(ny, 1, ptr(ny.AddDate(0, 0, 10))),
			back: at(newYork, 2026, 11, 5, 0, 0), now: ny.AddDate(0, 0, 11),
			deferred: true, wantNext: at(newYork, 2026, 11, 5, 9, 30), wantLater: at(newYork, 2026, 11, 17, 9, 30),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			anchor, at, deferred := sequencer.DeferAnchor(tt.e, tt.seq, tt.loc, tt.back, tt.now)
			if deferred != tt.deferred {
				t.Fatalf("deferred = %v, want %v (anchor %v, at %v)", deferred, tt.deferred, anchor, at)
			}
			if !deferred && !anchor.Equal(tt.e.Anchor) {
				t.Fatalf("not deferred but the anchor moved: %v → %v", tt.e.Anchor, anchor)
			}
			e := tt.e
			e.Anchor = anchor
			d := sequencer.Decide(e, tt.seq, tt.loc, tt.now)
			if d.Step != e.LastStep+1 || !d.At.Equal(tt.wantNext) || len(d.Skip) != 0 {
				t.Fatalf("next: step %d at %v skipping %v, want step %d at %v", d.Step, d.At, d.Skip, e.LastStep+1, tt.wantNext)
			}
			if deferred && !at.Equal(d.At) {
				t.Errorf("returned planned time %v, Decide says %v", at, d.At)
			}
			// Send it, then look at the step after.
			e.LastStep, e.LastSentAt = d.Step, &d.At
			later := sequencer.Decide(e, tt.seq, tt.loc, d.At)
			if !later.At.Equal(tt.wantLater) {
				t.Errorf("step %d at %v, want %v", later.Step, later.At, tt.wantLater)
			}
		})
	}
}

func TestDeferAnchorLeavesPausedAndEndedEnrollmentsAlone(t *testing.T) {
	a := at(rome, 2026, 1, 5, 0, 0)
	back := a.AddDate(0, 0, 40)
	for _, s := range []store.State{store.StatePaused, store.StateReplied, store.StateCompleted, store.StateBounced} {
		e := inState(active(a, 1, ptr(a.AddDate(0, 0, 10))), s)
		if anchor, _, deferred := sequencer.DeferAnchor(e, tradeFair(), rome, back, a.AddDate(0, 0, 11)); deferred || !anchor.Equal(a) {
			t.Errorf("%s: deferred=%v anchor %v, want unchanged", s, deferred, anchor)
		}
	}
	// The last step sent: R6 completes it, nothing to defer.
	e := active(a, 60, ptr(a.AddDate(0, 0, 600)))
	if _, _, deferred := sequencer.DeferAnchor(e, tradeFair(), rome, a.AddDate(0, 0, 700), a.AddDate(0, 0, 601)); deferred {
		t.Error("completed: deferred")
	}
}
