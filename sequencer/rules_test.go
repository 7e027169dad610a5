package sequencer_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST cases must not depend on the machine's zoneinfo

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

var (
	rome    = mustLoad("Europe/Rome")
	newYork = mustLoad("America/New_York")
)

func TestNominal(t *testing.T) {
	tests := []struct {
		name    string
		seq     *configs.Sequence
		anchor  time.Time
		loc     *time.Location
		step    int
		want    time.Time
		elapsed time.Duration // checked when not 0: shows a DST change was crossed
	}{
		{
			name: "step 1 is first_step_after after first contact",
			seq:  tradeFair(), anchor: at(rome, 2026, 5, 4, 0, 0), loc: rome, step: 1,
			want: at(rome, 2026, 5, 14, 0, 0),
		},
		{
			name: "step 60 is 59 intervals after step 1",
			seq:  tradeFair(), anchor: at(rome, 2026, 5, 4, 0, 0), loc: rome, step: 60,
			want: at(rome, 2026, 5, 4+600, 0, 0),
		},
		{
			name:   "first_step_after 0 is the moment of first contact",
			seq:    withSeq(tradeFair(), func(s *configs.Sequence) { s.FirstStepAfter = configs.Span{} }),
			anchor: at(rome, 2026, 5, 4, 16, 20), loc: rome, step: 1,
			want: at(rome, 2026, 5, 4, 16, 20),
		},
		{
			name: "Rome spring forward: 09:30 before, 09:30 after",
			seq:  tradeFair(), anchor: at(rome, 2026, 3, 20, 9, 30), loc: rome, step: 1,
			want: at(rome, 2026, 3, 30, 9, 30), elapsed: 239 * time.Hour,
		},
		{
			name: "Rome fall back: 09:30 before, 09:30 after",
			seq:  tradeFair(), anchor: at(rome, 2026, 10, 20, 9, 30), loc: rome, step: 1,
			want: at(rome, 2026, 10, 30, 9, 30), elapsed: 241 * time.Hour,
		},
		{
			name: "New York spring forward: 09:30 before, 09:30 after",
			seq:  tradeFair(), anchor: at(newYork, 2026, 3, 1, 9, 30), loc: newYork, step: 1,
			want: at(newYork, 2026, 3, 11, 9, 30), elapsed: 239 * time.Hour,
		},
		{
			name: "New York fall back: 09:30 before, 09:30 after",
			seq:  tradeFair(), anchor: at(newYork, 2026, 10, 25, 9, 30), loc: newYork, step: 1,
			want: at(newYork, 2026, 11, 4, 9, 30), elapsed: 241 * time.Hour,
		},
		{
			name: "a step straddling both Rome changes keeps midnight local",
			seq:  tradeFair(), anchor: at(rome, 2026, 3, 1, 0, 0), loc: rome, step: 24,
			want: at(rome, 2026, 3, 1+240, 0, 0), elapsed: 240 * 24 * time.Hour,
		},
		{
			name: "the days are counted in the prospect's zone",
			seq:  tradeFair(), anchor: at(rome, 2026, 3, 1, 15, 30), loc: newYork, step: 1, // 09:30 in New York
			want: at(newYork, 2026, 3, 11, 9, 30), elapsed: 239 * time.Hour,
		},
		{
			name: "a step due at a time lost to Rome's spring forward is due at 03:00",
			seq:  tradeFair(), anchor: at(rome, 2026, 3, 19, 2, 30), loc: rome, step: 1,
			want: at(rome, 2026, 3, 29, 3, 0),
		},
		{
			name: "a step due at a time lost to New York's spring forward is due at 03:00",
			seq:  tradeFair(), anchor: at(newYork, 2026, 2, 26, 2, 30), loc: newYork, step: 1,
			want: at(newYork, 2026, 3, 8, 3, 0),
		},
		{
			name:   "hours are elapsed: first_step_after 12h across spring forward is 09:00 local",
			seq:    withSeq(tradeFair(), func(s *configs.Sequence) { s.FirstStepAfter = configs.Span{Dur: 12 * time.Hour} }),
			anchor: at(rome, 2026, 3, 28, 20, 0), loc: rome, step: 1,
			want: at(rome, 2026, 3, 29, 9, 0), elapsed: 12 * time.Hour,
		},
		{
			name: "a compressed 2s test clock is exact",
			seq: withSeq(tradeFair(), func(s *configs.Sequence) {
				s.Interval, s.FirstStepAfter = configs.Span{Dur: 2 * time.Second}, configs.Span{}
			}),
			anchor: at(rome, 2026, 5, 4, 12, 0), loc: rome, step: 60,
			want: at(rome, 2026, 5, 4, 12, 0).Add(118 * time.Second),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sequencer.Nominal(tt.anchor, tt.seq, tt.loc, tt.step)
			if !got.Equal(tt.want) {
				t.Fatalf("step %d due %v, want %v", tt.step, got.In(tt.loc), tt.want.In(tt.loc))
			}
			if tt.elapsed != 0 && got.Sub(tt.anchor) != tt.elapsed {
				t.Errorf("%v after the anchor, want %v", got.Sub(tt.anchor), tt.elapsed)
			}
		})
	}
}

func TestWindowStart(t *testing.T) {
	tueThu := mustWindow("tue,wed,thu", "09:30", "10:30")
	tests := []struct {
		name string
		t    time.Time
		w    *configs.Window
		loc  *time.Location
		want time.Time
	}{
		{
			name: "no window: any time",
			t:    at(rome, 2026, 6, 6, 3, 17), loc: rome,
			want: at(rome, 2026, 6, 6, 3, 17),
		},
		{
			name: "due on Saturday, window tue-thu: Tuesday at 09:30",
			t:    at(rome, 2026, 6, 6, 0, 0), w: tueThu, loc: rome,
			want: at(rome, 2026, 6, 9, 9, 30),
		},
		{
			name: "due inside the window: sent when due",
			t:    at(rome, 2026, 6, 10, 10, 5), w: tueThu, loc: rome,
			want: at(rome, 2026, 6, 10, 10, 5),
		},
		{
			name: "due before the window opens: that day at 09:30",
			t:    at(rome, 2026, 6, 10, 7, 45), w: tueThu, loc: rome,
			want: at(rome, 2026, 6, 10, 9, 30),
		},
		{
			name: "due exactly at its close (exclusive): next allowed day",
			t:    at(rome, 2026, 6, 10, 10, 30), w: tueThu, loc: rome,
			want: at(rome, 2026, 6, 11, 9, 30),
		},
		{
			name: "due Thursday after the close: next Tuesday",
			t:    at(rome, 2026, 6, 11, 11, 0), w: tueThu, loc: rome,
			want: at(rome, 2026, 6, 16, 9, 30),
		},
		{
			name: "a window without days is open every day",
			t:    at(rome, 2026, 6, 6, 11, 0), w: mustWindow("", "09:30", "10:30"), loc: rome,
			want: at(rome, 2026, 6, 7, 9, 30),
		},
		{
			name: "a window to 24:00 is open until midnight",
			t:    at(rome, 2026, 6, 6, 23, 59), w: mustWindow("", "18:00", "24:00"), loc: rome,
			want: at(rome, 2026, 6, 6, 23, 59),
		},
		{
			name: "the window is read in the prospect's zone: New York's Tuesday 09:30",
			t:    at(rome, 2026, 6, 9, 14, 0), w: tueThu, loc: newYork, // 08:00 in New York
			want: at(newYork, 2026, 6, 9, 9, 30),
		},
		{
			name: "Saturday before Rome's spring forward: Tuesday still at 09:30 local",
			t:    at(rome, 2026, 3, 28, 8, 0), w: tueThu, loc: rome,
			want: at(rome, 2026, 3, 31, 9, 30),
		},
		{
			name: "Saturday before Rome's fall back: Tuesday still at 09:30 local",
			t:    at(rome, 2026, 10, 24, 8, 0), w: tueThu, loc: rome,
			want: at(rome, 2026, 10, 27, 9, 30),
		},
		{
			name: "Saturday before New York's spring forward: Tuesday still at 09:30 local",
			t:    at(newYork, 2026, 3, 7, 8, 0), w: tueThu, loc: newYork,
			want: at(newYork, 2026, 3, 10, 9, 30),
		},
		{
			name: "Saturday before New York's fall back: Tuesday still at 09:30 local",
			t:    at(newYork, 2026, 10, 31, 8, 0), w: tueThu, loc: newYork,
			want: at(newYork, 2026, 11, 3, 9, 30),
		},
		{
			name: "a window opening lost to Rome's spring forward opens at the jump, 03:00",
			t:    at(rome, 2026, 3, 29, 0, 0), w: mustWindow("sun", "02:30", "04:00"), loc: rome,
			want: at(rome, 2026, 3, 29, 3, 0),
		},
		{
			// time.Date(…, 2, 30, …) is 01:30 EST here: before the window.
			name: "a window opening lost to New York's spring forward opens at the jump, 03:00",
			t:    at(newYork, 2026, 3, 8, 0, 0), w: mustWindow("sun", "02:30", "04:00"), loc: newYork,
			want: at(newYork, 2026, 3, 8, 3, 0),
		},
		{
			name: "a window wholly inside the lost hour does not open that day",
			t:    at(rome, 2026, 3, 29, 0, 0), w: mustWindow("", "02:00", "03:00"), loc: rome,
			want: at(rome, 2026, 3, 30, 2, 0),
		},
		{
			name: "a window wholly inside the lost hour on its only day: next week",
			t:    at(newYork, 2026, 3, 8, 0, 0), w: mustWindow("sun", "02:00", "03:00"), loc: newYork,
			want: at(newYork, 2026, 3, 15, 2, 0),
		},
		{
			// Literal R2: at 02:00 EDT the clocks go back to 01:00 EST, inside the window again.
			name: "clocks going back reopen the window in the repeated hour",
			t:    at(newYork, 2026, 11, 1, 1, 50), w: mustWindow("", "01:00", "01:45"), loc: newYork,
			want: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), // 01:00 EST
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sequencer.WindowStart(tt.t, tt.w, tt.loc)
			if !got.Equal(tt.want) {
				t.Fatalf("due %v: sent %v, want %v", tt.t.In(tt.loc), got.In(tt.loc), tt.want.In(tt.loc))
			}
			if got.Before(tt.t) || !inWindow(got, tt.w, tt.loc) {
				t.Fatalf("%v is before %v or outside the window", got.In(tt.loc), tt.t.In(tt.loc))
			}
		})
	}
}

func TestWindowStartImpossibleWindowDoesNotHang(t *testing.T) {
	due := at(rome, 2026, 6, 6, 12, 0)
	if got := sequencer.WindowStart(due, mustWindow("", "10:30", "09:30"), rome); !got.Equal(due) {
		t.Fatalf("got %v, want the due time %v", got, due)
	}
}

func TestDecide(t *testing.T) {
	a := at(rome, 2026, 1, 5, 0, 0) // first contact, a Monday
	day := func(n int) time.Time { return a.AddDate(0, 0, n) }
	tueThu := mustWindow("tue,wed,thu", "09:30", "10:30")
	tests := []struct {
		name string
		seq  *configs.Sequence
		loc  *time.Location // nil: the sequence's (Rome)
		e    store.Enrollment
		now  time.Time
		want sequencer.Decision
	}{
		{
			name: "nothing due yet: step 1 planned 10 days after first contact",
			seq:  tradeFair(), e: active(a, 0, nil), now: day(3),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 1, At: day(10)},
		},
		{
			name: "first contact in the future: step 1 planned 10 days after it",
			seq:  tradeFair(), e: active(a, 0, nil), now: day(-30),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 1, At: day(10)},
		},
		{
			name: "step 1 due: sent",
			seq:  tradeFair(), e: active(a, 0, nil), now: day(10),
			want: sequencer.Decision{Action: sequencer.Send, Step: 1, At: day(10)},
		},
		{
			name: "first_step_after 0: step 1 goes right away",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.FirstStepAfter = configs.Span{} }),
			e:    active(a, 0, nil), now: a.Add(time.Minute),
			want: sequencer.Decision{Action: sequencer.Send, Step: 1, At: a},
		},
		{
			name: "first contact 95 days ago: step 9 now, steps 1-8 skipped",
			seq:  tradeFair(), e: active(a, 0, nil), now: day(95),
			want: sequencer.Decision{Action: sequencer.Send, Step: 9, At: day(90), Skip: []int{1, 2, 3, 4, 5, 6, 7, 8}},
		},
		{
			name: "engine down 25 days: one catch-up send, the step in between skipped",
			seq:  tradeFair(), e: active(a, 1, ptr(day(10))), now: day(35),
			want: sequencer.Decision{Action: sequencer.Send, Step: 3, At: day(30), Skip: []int{2}},
		},
		{
			name: "engine down 25 days: after the catch-up, the next step on its own day",
			seq:  tradeFair(), e: active(a, 3, ptr(day(35))), now: day(35),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 4, At: day(40)},
		},
		{
			name: "a late send defers the next step by min_gap, by default half the interval",
			seq:  tradeFair(), e: active(a, 9, ptr(day(98))), now: day(100),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 10, At: day(103)},
		},
		{
			name: "with min_gap 1d the same late send does not defer the next step",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.MinGap = &configs.Span{Days: 1} }),
			e:    active(a, 9, ptr(day(98))), now: day(100),
			want: sequencer.Decision{Action: sequencer.Send, Step: 10, At: day(100)},
		},
		{
			name: "min_gap is measured from the last send, not from its nominal time",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.MinGap = &configs.Span{Days: 7} }),
			e:    active(a, 9, ptr(day(94).Add(5*time.Hour))), now: day(100),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 10, At: day(101).Add(5 * time.Hour)},
		},
		{
			name: "min_gap ending inside the window: sent then, not at the window's opening",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			// Step 2 due Tue 16 June 00:00; step 1 went out late, Thu 11 June 10:29.
			e:    active(at(rome, 2026, 5, 27, 0, 0), 1, ptr(at(rome, 2026, 6, 11, 10, 29))),
			now:  at(rome, 2026, 6, 16, 9, 30),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 2, At: at(rome, 2026, 6, 16, 10, 29)},
		},
		{
			name: "min_gap ending after the window closes: next allowed day at 09:30",
			seq: withSeq(tradeFair(), func(s *configs.Sequence) {
				s.Window, s.MinGap = tueThu, &configs.Span{Days: 5, Dur: 12 * time.Hour}
			}),
			e:    active(at(rome, 2026, 5, 27, 0, 0), 1, ptr(at(rome, 2026, 6, 11, 10, 0))),
			now:  at(rome, 2026, 6, 16, 9, 30),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 2, At: at(rome, 2026, 6, 17, 9, 30)},
		},
		{
			name: "due on Saturday with a tue-thu window: waits for Tuesday 09:30",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			e:    active(at(rome, 2026, 5, 27, 0, 0), 0, nil), now: at(rome, 2026, 6, 7, 12, 0),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 1, At: at(rome, 2026, 6, 9, 9, 30)},
		},
		{
			name: "due on Saturday with a tue-thu window: sent on Tuesday when the window opens",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			e:    active(at(rome, 2026, 5, 27, 0, 0), 0, nil), now: at(rome, 2026, 6, 9, 9, 30),
			want: sequencer.Decision{Action: sequencer.Send, Step: 1, At: at(rome, 2026, 6, 9, 9, 30)},
		},
		{
			name: "two steps due over a weekend: only the later goes out on Tuesday",
			seq: withSeq(tradeFair(), func(s *configs.Sequence) {
				s.Window, s.Interval, s.FirstStepAfter = tueThu, configs.Span{Days: 2}, configs.Span{Days: 2}
			}),
			// Step 1 due Fri 5 June, step 2 Sun 7 June, step 3 Tue 9 June 00:00.
			e: active(at(rome, 2026, 6, 3, 0, 0), 0, nil), now: at(rome, 2026, 6, 8, 12, 0),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 2, At: at(rome, 2026, 6, 9, 9, 30), Skip: []int{1}},
		},
		{
			name: "two steps due over a weekend, a third due Tuesday at midnight: the third goes out",
			seq: withSeq(tradeFair(), func(s *configs.Sequence) {
				s.Window, s.Interval, s.FirstStepAfter = tueThu, configs.Span{Days: 2}, configs.Span{Days: 2}
			}),
			e: active(at(rome, 2026, 6, 3, 0, 0), 0, nil), now: at(rome, 2026, 6, 9, 9, 31),
			want: sequencer.Decision{Action: sequencer.Send, Step: 3, At: at(rome, 2026, 6, 9, 9, 30), Skip: []int{1, 2}},
		},
		{
			name: "the prospect's zone sets the window, not the sequence's",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			loc:  newYork,
			e:    active(at(newYork, 2026, 5, 27, 0, 0), 0, nil), now: at(newYork, 2026, 6, 9, 8, 0),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 1, At: at(newYork, 2026, 6, 9, 9, 30)},
		},
		// R2 holds for every send, also for a step found past due outside
		// the window: the states a step can be found in late.
		{
			name: "found past due on Sunday 05:30 (a list from last spring): waits for Tuesday 09:30",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			// Step 1 was due Thu 15 Jan, step 2 is due Sun 25 Jan.
			e: active(a, 0, nil), now: at(rome, 2026, 1, 18, 5, 30),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 1, At: at(rome, 2026, 1, 20, 9, 30)},
		},
		{
			name: "found past due on Sunday 05:30: sent at Tuesday's opening, planned for it",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			e:    active(a, 0, nil), now: at(rome, 2026, 1, 20, 9, 31),
			want: sequencer.Decision{Action: sequencer.Send, Step: 1, At: at(rome, 2026, 1, 20, 9, 30)},
		},
		{
			name: "engine down Thursday 10:40 to Saturday: nothing before Tuesday 09:30",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			e:    active(a, 0, nil), now: at(rome, 2026, 1, 17, 11, 0),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 1, At: at(rome, 2026, 1, 20, 9, 30)},
		},
		{
			name: "found due after the window closed the same day: waits for the next window day",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			e:    active(a, 0, nil), now: at(rome, 2026, 1, 15, 10, 40),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 1, At: at(rome, 2026, 1, 20, 9, 30)},
		},
		{
			name: "found due before the window opens on a window day: that day's opening",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			e:    active(a, 0, nil), now: at(rome, 2026, 1, 20, 6, 0),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 1, At: at(rome, 2026, 1, 20, 9, 30)},
		},
		{
			name: "a later step falls due while waiting for the window: R3 judged again at the opening",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			// Step 2 due Sun 25 Jan 00:00; found Sun 08:00, sent Tue 27 Jan.
			e: active(a, 0, nil), now: at(rome, 2026, 1, 25, 8, 0),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 2, At: at(rome, 2026, 1, 27, 9, 30), Skip: []int{1}},
		},
		{
			name: "found past due on the Sunday Rome springs forward: Tuesday 09:30 CEST",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			// Anchor Thu 5 Mar: step 2 due Wed 25 Mar, step 3 Sat 4 Apr.
			e:    active(at(rome, 2026, 3, 5, 0, 0), 1, ptr(at(rome, 2026, 3, 17, 9, 30))),
			now:  at(rome, 2026, 3, 29, 5, 30),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 2, At: at(rome, 2026, 3, 31, 9, 30)},
		},
		{
			name: "found past due on the Sunday New York falls back, in the prospect's zone",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tueThu }),
			loc:  newYork,
			// Anchor Thu 8 Oct: step 2 due Wed 28 Oct, step 3 Sat 7 Nov.
			e:    active(at(newYork, 2026, 10, 8, 0, 0), 1, ptr(at(newYork, 2026, 10, 20, 9, 30))),
			now:  at(newYork, 2026, 11, 1, 5, 30),
			want: sequencer.Decision{Action: sequencer.Wait, Step: 2, At: at(newYork, 2026, 11, 3, 9, 30)},
		},
		{
			name: "no window: a past-due step goes out when found, planned at its due time",
			seq:  tradeFair(), e: active(a, 0, nil), now: at(rome, 2026, 1, 18, 5, 30),
			want: sequencer.Decision{Action: sequencer.Send, Step: 1, At: day(10)},
		},
		{
			name: "step 60 handled: the enrollment completes",
			seq:  tradeFair(), e: active(a, 60, ptr(day(600))), now: day(601),
			want: sequencer.Decision{Action: sequencer.Complete},
		},
		{
			name: "sequence shortened to 40 under an enrollment at step 45: it completes",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Steps = 40 }),
			e:    active(a, 45, ptr(day(450))), now: day(451),
			want: sequencer.Decision{Action: sequencer.Complete},
		},
		{
			name: "sequence shortened to 40 under an enrollment at step 39: step 40 still goes",
			seq:  withSeq(tradeFair(), func(s *configs.Sequence) { s.Steps = 40 }),
			e:    active(a, 39, ptr(day(390))), now: day(455),
			want: sequencer.Decision{Action: sequencer.Send, Step: 40, At: day(400)},
		},
		{
			name: "paused by hand: nothing planned",
			seq:  tradeFair(), e: inState(active(a, 3, ptr(day(30))), store.StatePaused), now: day(95),
			want: sequencer.Decision{Action: sequencer.Idle},
		},
		{
			name: "paused by a reply: nothing planned",
			seq:  tradeFair(), e: inState(active(a, 3, ptr(day(30))), store.StateReplied), now: day(95),
			want: sequencer.Decision{Action: sequencer.Idle},
		},
		{
			name: "bounced: nothing planned",
			seq:  tradeFair(), e: inState(active(a, 3, ptr(day(30))), store.StateBounced), now: day(95),
			want: sequencer.Decision{Action: sequencer.Idle},
		},
		{
			name: "unsubscribed: nothing planned",
			seq:  tradeFair(), e: inState(active(a, 3, ptr(day(30))), store.StateUnsubscribed), now: day(95),
			want: sequencer.Decision{Action: sequencer.Idle},
		},
		{
			name: "already completed: nothing planned",
			seq:  tradeFair(), e: inState(active(a, 60, ptr(day(600))), store.StateCompleted), now: day(601),
			want: sequencer.Decision{Action: sequencer.Idle},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sequencer.Decide(tt.e, tt.seq, tt.loc, tt.now)
			if diff := diffDecision(got, tt.want); diff != "" {
				t.Fatal(diff)
			}
			plan := sequencer.Plan(tt.e, tt.seq, tt.loc, tt.now)
			switch tt.want.Action {
			case sequencer.Wait, sequencer.Send:
				if plan == nil || !plan.Equal(tt.want.At) {
					t.Errorf("Plan = %v, want %v", plan, tt.want.At)
				}
			default:
				if plan != nil {
					t.Errorf("Plan = %v, want nothing planned", *plan)
				}
			}
		})
	}
}

// A prospect met 95 days ago is enrolled today: the sequence resumes where
// the calendar says it is, with one email, and then keeps its own rhythm.
func TestLateEnrollmentCatchesUpWithoutDrift(t *testing.T) {
	seq := tradeFair()
	a := at(rome, 2026, 1, 5, 0, 0)
	now := a.AddDate(0, 0, 95)
	e := active(a, 0, nil)

	d := sequencer.Decide(e, seq, rome, now)
	if diff := diffDecision(d, sequencer.Decision{Action: sequencer.Send, Step: 9, At: a.AddDate(0, 0, 90),
		Skip: []int{1, 2, 3, 4, 5, 6, 7, 8}}); diff != "" {
		t.Fatal(diff)
	}
	e.LastStep, e.LastSentAt = 9, ptr(now)
	for step := 10; step <= 12; step++ {
		due := a.AddDate(0, 0, 10*step) // anchored: not 95 + 10
		d = sequencer.Decide(e, seq, rome, now)
		if d.Action != sequencer.Wait || d.Step != step || !d.At.Equal(due) {
			t.Fatalf("after step %d: %v step %d at %v, want step %d planned at %v", step-1, d.Action, d.Step, d.At, step, due)
		}
		now = due
		if d = sequencer.Decide(e, seq, rome, now); d.Action != sequencer.Send || d.Step != step || len(d.Skip) != 0 {
			t.Fatalf("at %v: %+v, want step %d sent, nothing skipped", now, d, step)
		}
		e.LastStep, e.LastSentAt = step, ptr(now)
	}

	// Sent at 10:00 instead of midnight, the catch-up pushes step 10 by the
	// default min_gap (5 days from the send), which is then 10 hours late.
	late := active(a, 9, ptr(a.AddDate(0, 0, 95).Add(10*time.Hour)))
	want := a.AddDate(0, 0, 100).Add(10 * time.Hour)
	if d = sequencer.Decide(late, seq, rome, late.LastSentAt.Add(time.Minute)); d.Step != 10 || !d.At.Equal(want) {
		t.Fatalf("after a catch-up at 10:00: step %d at %v, want step 10 at %v", d.Step, d.At, want)
	}
	// ...and step 11 is back on its nominal time.
	late.LastStep, late.LastSentAt = 10, ptr(want)
	if d = sequencer.Decide(late, seq, rome, want); d.Step != 11 || !d.At.Equal(a.AddDate(0, 0, 110)) {
		t.Fatalf("step 11 at %v, want its nominal %v", d.At, a.AddDate(0, 0, 110))
	}
}

func TestResumeAfterPause(t *testing.T) {
	seq := tradeFair()
	tests := []struct {
		name        string
		loc         *time.Location
		anchor      time.Time
		lastStep    int
		pausedAfter int // days after the anchor
		pausedDays  int
		wantStep    int
		wantInDays  int // days after the resume
	}{
		{
			name: "40-day pause after step 3: step 4 keeps its 6 days", loc: rome,
			anchor: at(rome, 2026, 5, 4, 0, 0), lastStep: 3, pausedAfter: 34, pausedDays: 40,
			wantStep: 4, wantInDays: 6,
		},
		{
			name: "40-day pause across Rome's spring forward: still midnight local", loc: rome,
			anchor: at(rome, 2026, 1, 10, 0, 0), lastStep: 5, pausedAfter: 54, pausedDays: 40, // 5 March to 14 April
			wantStep: 6, wantInDays: 6,
		},
		{
			name: "40-day pause across New York's fall back: still midnight local", loc: newYork,
			anchor: at(newYork, 2026, 8, 20, 0, 0), lastStep: 3, pausedAfter: 34, pausedDays: 40, // 23 Sept to 2 Nov
			wantStep: 4, wantInDays: 6,
		},
		{
			name: "paused while step 4 was due and unsent: sent right at resume", loc: rome,
			anchor: at(rome, 2026, 5, 4, 0, 0), lastStep: 3, pausedAfter: 40, pausedDays: 40,
			wantStep: 4, wantInDays: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pausedAt := tt.anchor.AddDate(0, 0, tt.pausedAfter)
			now := pausedAt.AddDate(0, 0, tt.pausedDays)
			e := active(tt.anchor, tt.lastStep, ptr(tt.anchor.AddDate(0, 0, 10*(tt.lastStep+1))))
			e.State, e.PausedAt = store.StateReplied, &pausedAt

			if d := sequencer.Decide(e, seq, tt.loc, now); d.Action != sequencer.Idle {
				t.Fatalf("while paused: %v, want nothing planned", d.Action)
			}
			e.Anchor = sequencer.ResumeAnchor(e, tt.loc, now)
			if want := tt.anchor.AddDate(0, 0, tt.pausedDays); !e.Anchor.Equal(want) {
				t.Fatalf("anchor %v, want it %d days later: %v", e.Anchor, tt.pausedDays, want)
			}
			e.State, e.PausedAt = store.StateActive, nil

			d := sequencer.Decide(e, seq, tt.loc, now)
			want := now.AddDate(0, 0, tt.wantInDays)
			if d.Step != tt.wantStep || !d.At.Equal(want) || len(d.Skip) != 0 {
				t.Fatalf("after resume: step %d at %v skipping %v, want step %d at %v skipping nothing",
					d.Step, d.At.In(tt.loc), d.Skip, tt.wantStep, want.In(tt.loc))
			}
			// Without the shift, the steps due during the pause would be skipped.
			e.Anchor = tt.anchor
			if d := sequencer.Decide(e, seq, tt.loc, now); len(d.Skip) == 0 {
				t.Fatalf("unshifted anchor skips nothing: the case does not test R5")
			}
		})
	}
}

func TestResumeAnchorWithoutPauseOrBackwardsClock(t *testing.T) {
	a := at(rome, 2026, 5, 4, 0, 0)
	e := active(a, 2, nil)
	if got := sequencer.ResumeAnchor(e, rome, a.AddDate(0, 0, 50)); !got.Equal(a) {
		t.Errorf("never paused: anchor moved to %v", got)
	}
	e.PausedAt = ptr(a.AddDate(0, 0, 30))
	if got := sequencer.ResumeAnchor(e, rome, a.AddDate(0, 0, 29)); !got.Equal(a) {
		t.Errorf("resumed before the pause (clock skew): anchor moved to %v", got)
	}
	if got, want := sequencer.ResumeAnchor(e, nil, a.AddDate(0, 0, 30).Add(90*time.Minute)), a.Add(90*time.Minute); !got.Equal(want) {
		t.Errorf("90-minute pause without a zone: anchor %v, want %v", got, want)
	}
}

// A whole 60-step sequence on a fake clock: the engine sleeps until the
// planned time, sends, records, and asks again.
func TestSixtyStepsEndToEnd(t *testing.T) {
	weekly := withSeq(tradeFair(), func(s *configs.Sequence) {
		s.Interval, s.FirstStepAfter = configs.Span{Days: 7}, configs.Span{}
		s.Window = mustWindow("tue,wed,thu", "09:00", "12:00")
	})
	tenDays := withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = mustWindow("tue,wed,thu", "09:30", "10:30") })

	t.Run("weekly on Tuesdays at 09:30 for 14 months: every send at its nominal time", func(t *testing.T) {
		first := at(rome, 2026, 1, 6, 9, 30) // a Tuesday
		sends := simulate(t, weekly, rome, first, first, onTime)
		for k, s := range sends {
			if want := at(rome, 2026, 1, 6+7*k, 9, 30); !s.at.Equal(want) || s.step != k+1 {
				t.Fatalf("send %d: step %d at %v, want step %d at %v", k, s.step, s.at, k+1, want)
			}
		}
	})
	t.Run("weekly in New York, engine up to an hour late each time: still planned on time, no drift", func(t *testing.T) {
		first := at(newYork, 2026, 1, 6, 9, 30)
		rng := rand.New(rand.NewPCG(1, 2))
		sends := simulate(t, weekly, newYork, first, first, func() time.Duration { return time.Duration(rng.Int64N(int64(time.Hour))) })
		for k, s := range sends {
			want := at(newYork, 2026, 1, 6+7*k, 9, 30)
			if !s.planned.Equal(want) || s.at.Before(want) || s.at.Sub(want) >= time.Hour {
				t.Fatalf("step %d planned %v sent %v, want planned %v", s.step, s.planned, s.at, want)
			}
		}
	})
	t.Run("every 10 days, tue-thu 09:30-10:30: 60 sends, all in the window, on time", func(t *testing.T) {
		a := at(rome, 2026, 1, 5, 0, 0)
		sends := simulate(t, tenDays, rome, a, a, onTime)
		for k, s := range sends {
			nominal := a.AddDate(0, 0, 10*(k+1))
			if s.at.Before(nominal) || s.at.Sub(nominal) > 7*24*time.Hour || !inWindow(s.at, tenDays.Window, rome) {
				t.Fatalf("step %d (due %v) sent %v: before it, a week late, or outside the window", s.step, nominal, s.at.In(rome))
			}
			if k > 0 && s.at.Sub(sends[k-1].at) < tenDays.Gap() {
				t.Fatalf("step %d only %v after the previous send", s.step, s.at.Sub(sends[k-1].at))
			}
		}
	})
	t.Run("the demo's 2s clock: 60 sends two seconds apart", func(t *testing.T) {
		fast := withSeq(tradeFair(), func(s *configs.Sequence) {
			s.Interval, s.FirstStepAfter = configs.Span{Dur: 2 * time.Second}, configs.Span{}
		})
		a := at(rome, 2026, 5, 4, 12, 0)
		for k, s := range simulate(t, fast, rome, a, a, onTime) {
			if want := a.Add(time.Duration(2*k) * time.Second); !s.at.Equal(want) {
				t.Fatalf("step %d at %v, want %v", s.step, s.at, want)
			}
		}
	})
}

func onTime() time.Duration { return 0 }

type sent struct {
	step        int
	planned, at time.Time
}

// simulate runs an enrollment to completion and fails unless it is exactly
// seq.Steps sends in order, nothing skipped. The engine wakes lag() after
// each planned time (a busy engine, a coarse poll).
func simulate(t *testing.T, seq *configs.Sequence, loc *time.Location, anchor, start time.Time, lag func() time.Duration) []sent {
	t.Helper()
	e := active(anchor, 0, nil)
	var sends []sent
	now, lastStep := start, 0
	for range 100000 {
		d := sequencer.Decide(e, seq, loc, now)
		if d.Action != sequencer.Complete && d.Step < lastStep {
			t.Fatalf("at %v the next step went back from %d to %d", now, lastStep, d.Step)
		}
		lastStep = d.Step
		switch d.Action {
		case sequencer.Complete:
			if len(sends) != seq.Steps {
				t.Fatalf("completed after %d sends, want %d", len(sends), seq.Steps)
			}
			return sends
		case sequencer.Send:
			if len(d.Skip) != 0 || d.Step != e.LastStep+1 {
				t.Fatalf("at %v: step %d after %d, skipping %v", now, d.Step, e.LastStep, d.Skip)
			}
			sends = append(sends, sent{step: d.Step, planned: d.At, at: now})
			e.LastStep, e.LastSentAt = d.Step, ptr(now)
		case sequencer.Wait:
			if !d.At.After(now) {
				t.Fatalf("at %v: wait for %v, which is not later", now, d.At)
			}
			now = d.At.Add(lag())
		default:
			t.Fatalf("at %v: %v", now, d.Action)
		}
	}
	t.Fatalf("no completion after 100000 decisions, %d sends", len(sends))
	return nil
}

// Random enrollments, sequences, windows and zones (seeded, so a failure
// reproduces): the invariants a user relies on hold for every decision.
func TestDecideProperties(t *testing.T) {
	zones := []*time.Location{rome, newYork, time.UTC, mustLoad("Australia/Lord_Howe"),
		mustLoad("America/Santiago"), mustLoad("Asia/Kolkata"), mustLoad("Pacific/Chatham")}
	rng := rand.New(rand.NewPCG(2026, 60))
	base := at(time.UTC, 2026, 1, 1, 0, 0)
	randTime := func(days int) time.Time {
		return base.Add(time.Duration(rng.Int64N(int64(days) * int64(24*time.Hour))))
	}
	for i := range 3000 {
		loc := zones[rng.IntN(len(zones))]
		seq := &configs.Sequence{
			Steps:          1 + rng.IntN(60),
			Interval:       configs.Span{Days: rng.IntN(15), Dur: time.Duration(rng.IntN(48)) * time.Hour},
			FirstStepAfter: configs.Span{Days: rng.IntN(15), Dur: time.Duration(rng.IntN(3600)) * time.Second},
			Location:       loc,
		}
		if seq.Interval.IsZero() {
			seq.Interval.Dur = time.Minute
		}
		if rng.IntN(3) == 0 {
			seq.MinGap = &configs.Span{Days: rng.IntN(10), Dur: time.Duration(rng.IntN(24)) * time.Hour}
		}
		if rng.IntN(4) != 0 {
			seq.Window = randWindow(rng)
		}
		e := active(randTime(900), rng.IntN(seq.Steps+3), nil)
		if rng.IntN(2) == 0 {
			e.LastSentAt = ptr(randTime(1400))
		}
		now := randTime(1500)
		name := fmt.Sprintf("case %d: %s steps=%d interval=%v offset=%v gap=%v window=%s anchor=%v last=%d sent=%v now=%v",
			i, loc, seq.Steps, seq.Interval, seq.FirstStepAfter, seq.Gap(), windowString(seq.Window), e.Anchor, e.LastStep, e.LastSentAt, now)

		d := sequencer.Decide(e, seq, loc, now)
		checkDecision(t, name, e, seq, loc, now, d)

		// Later, without a send in between: the step never goes back, nor its time.
		later := now.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		d2 := sequencer.Decide(e, seq, loc, later)
		checkDecision(t, name+" (later)", e, seq, loc, later, d2)
		if d.Action != sequencer.Complete && (d2.Step < d.Step || d2.At.Before(d.At)) {
			t.Fatalf("%s: at %v step %d at %v, but earlier step %d at %v", name, later, d2.Step, d2.At, d.Step, d.At)
		}
	}
}

func checkDecision(t *testing.T, name string, e store.Enrollment, seq *configs.Sequence, loc *time.Location, now time.Time, d sequencer.Decision) {
	t.Helper()
	next := e.LastStep + 1
	if next > seq.Steps {
		if d.Action != sequencer.Complete {
			t.Fatalf("%s: %v after the last step, want complete", name, d.Action)
		}
		return
	}
	nominal := func(k int) time.Time { return sequencer.Nominal(e.Anchor, seq, loc, k) }
	switch {
	case d.Step < next || d.Step > seq.Steps:
		t.Fatalf("%s: step %d, want %d..%d", name, d.Step, next, seq.Steps)
	case d.At.Before(nominal(d.Step)):
		t.Fatalf("%s: step %d at %v, before it is due at %v", name, d.Step, d.At, nominal(d.Step))
	case e.LastSentAt != nil && d.At.Sub(*e.LastSentAt) < seq.Gap():
		t.Fatalf("%s: at %v, only %v after the last send", name, d.At, d.At.Sub(*e.LastSentAt))
	case !inWindow(d.At, seq.Window, loc):
		t.Fatalf("%s: at %v, outside the window", name, d.At.In(loc))
	case (d.Action == sequencer.Send) != !d.At.After(now) || (d.Action != sequencer.Send && d.Action != sequencer.Wait):
		t.Fatalf("%s: %v at %v", name, d.Action, d.At)
	case d.Step > next && nominal(d.Step).After(now):
		t.Fatalf("%s: steps skipped to reach step %d, which is not due yet", name, d.Step)
	case d.Step < seq.Steps && !nominal(d.Step+1).After(now):
		t.Fatalf("%s: step %d chosen while the later step %d is already due", name, d.Step, d.Step+1)
	}
	var wantSkip []int
	for k := next; k < d.Step; k++ {
		wantSkip = append(wantSkip, k)
	}
	if !slices.Equal(d.Skip, wantSkip) {
		t.Fatalf("%s: skip %v, want %v", name, d.Skip, wantSkip)
	}
	// R1, R4 and R2 together: the earliest time the step may go out.
	earliest := nominal(d.Step)
	if e.LastSentAt != nil && e.LastSentAt.Add(seq.Gap()).After(earliest) {
		earliest = e.LastSentAt.Add(seq.Gap())
	}
	if d.Action == sequencer.Send {
		// Sent now: now is inside the window, and the plan was not
		// before the step could go out.
		if !inWindow(now, seq.Window, loc) {
			t.Fatalf("%s: sent at %v, outside the window", name, now.In(loc))
		}
		if d.At.Before(earliest) {
			t.Fatalf("%s: planned at %v, before the earliest time %v", name, d.At, earliest)
		}
		return
	}
	// Waiting: At is the first window instant at or after both the
	// earliest time and now (a step found due outside the window waits
	// for the next opening, never for a time in the past).
	from := earliest
	if now.After(from) {
		from = now
	}
	if before := d.At.Add(-time.Nanosecond); !before.Before(from) && inWindow(before, seq.Window, loc) {
		t.Fatalf("%s: at %v, but %v was already in the window", name, d.At, before)
	}
	for probe := from; probe.Before(d.At); probe = probe.Add(17 * time.Minute) {
		if inWindow(probe, seq.Window, loc) {
			t.Fatalf("%s: at %v, but %v was already in the window", name, d.At.In(loc), probe.In(loc))
		}
	}
}

func randWindow(rng *rand.Rand) *configs.Window {
	w := &configs.Window{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if rng.IntN(3) == 0 {
			w.Days = append(w.Days, configs.Weekday(d))
		}
	}
	// Half the windows sit in the small hours, where DST changes happen.
	from := rng.IntN(24 * 60)
	if rng.IntN(2) == 0 {
		from = rng.IntN(4 * 60)
	}
	w.From = configs.TimeOfDay(from)
	w.To = configs.TimeOfDay(from + 1 + rng.IntN(24*60-from))
	return w
}

func windowString(w *configs.Window) string {
	if w == nil {
		return "none"
	}
	var days []string
	for _, d := range w.Days {
		b, _ := d.MarshalText()
		days = append(days, string(b))
	}
	return fmt.Sprintf("[%s] %v-%v", strings.Join(days, ","), w.From, w.To)
}

// inWindow is R2's "inside the window", read off the local clock.
func inWindow(u time.Time, w *configs.Window, loc *time.Location) bool {
	if w == nil {
		return true
	}
	l := u.In(loc)
	minute := l.Hour()*60 + l.Minute()
	return w.Allows(l.Weekday()) && minute >= int(w.From) && minute < int(w.To)
}

func diffDecision(got, want sequencer.Decision) string {
	if got.Action != want.Action || got.Step != want.Step || !got.At.Equal(want.At) || !slices.Equal(got.Skip, want.Skip) {
		return fmt.Sprintf("got %v step %d at %v skip %v\nwant %v step %d at %v skip %v",
			got.Action, got.Step, got.At, got.Skip, want.Action, want.Step, want.At, want.Skip)
	}
	return ""
}

func tradeFair() *configs.Sequence {
	return &configs.Sequence{
		Name: "trade-fair", Steps: 60, Timezone: "Europe/Rome", Location: rome,
		Interval: configs.Span{Days: 10}, FirstStepAfter: configs.Span{Days: 10},
	}
}

func withSeq(s *configs.Sequence, change func(*configs.Sequence)) *configs.Sequence {
	change(s)
	return s
}

func active(anchor time.Time, lastStep int, lastSentAt *time.Time) store.Enrollment {
	return store.Enrollment{ID: 1, State: store.StateActive, FirstContact: anchor, Anchor: anchor,
		LastStep: lastStep, LastSentAt: lastSentAt}
}

func inState(e store.Enrollment, s store.State) store.Enrollment {
	e.State = s
	if s.Paused() {
		e.PausedAt = e.LastSentAt
	}
	return e
}

func mustWindow(days, from, to string) *configs.Window {
	w := &configs.Window{}
	for d := range strings.SplitSeq(days, ",") {
		if d == "" {
			continue
		}
		var wd configs.Weekday
		if err := wd.UnmarshalText([]byte(d)); err != nil {
			panic(err)
		}
		w.Days = append(w.Days, wd)
	}
	if err := w.From.UnmarshalText([]byte(from)); err != nil {
		panic(err)
	}
	if err := w.To.UnmarshalText([]byte(to)); err != nil {
		panic(err)
	}
	return w
}

func at(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

func ptr(t time.Time) *time.Time { return &t }

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// R2 with public holidays and closures, in the prospect's zone: a holiday
// or a closed day is no window day, and the plan (next_send_at) says so.
func TestWindowStartHolidaysAndClosures(t *testing.T) {
	warsaw := mustLoad("Europe/Warsaw")
	win := func(days string, holidays []string, closed ...string) *configs.Window {
		w := mustWindow(days, "09:30", "10:30")
		w.Holidays = holidays
		for _, c := range closed {
			var r configs.DateRange
			if err := r.UnmarshalText([]byte(c)); err != nil {
				t.Fatal(err)
			}
			w.Closed = append(w.Closed, r)
		}
		return w
	}
	tests := []struct {
		name string
		t    time.Time
		w    *configs.Window
		loc  *time.Location
		want time.Time
	}{
		{
			name: "Pasquetta 2027 (Easter Monday) in Italy, the day after Rome springs forward: Tuesday 09:30 CEST",
			t:    at(rome, 2027, 3, 29, 8, 0), w: win("mon,tue,wed,thu,fri", []string{"it"}), loc: rome,
			want: at(rome, 2027, 3, 30, 9, 30),
		},
		{
			name: "Festa della Repubblica (Tue 2 June 2026): Wednesday",
			t:    at(rome, 2026, 6, 2, 9, 0), w: win("tue,wed,thu", []string{"it"}), loc: rome,
			want: at(rome, 2026, 6, 3, 9, 30),
		},
		{
			name: "Polish Independence Day (Wed 11 Nov 2026): Thursday",
			t:    at(warsaw, 2026, 11, 11, 9, 0), w: win("tue,wed,thu", []string{"pl"}), loc: warsaw,
			want: at(warsaw, 2026, 11, 12, 9, 30),
		},
		{
			name: "holidays: prospect, a Warsaw prospect on Boże Ciało (Thu 4 June 2026): next Tuesday",
			t:    at(warsaw, 2026, 6, 4, 8, 0), w: win("tue,wed,thu", []string{"prospect"}), loc: warsaw,
			want: at(warsaw, 2026, 6, 9, 9, 30),
		},
		{
			name: "holidays: prospect, a Rome prospect on the same day: no Italian holiday",
			t:    at(rome, 2026, 6, 4, 8, 0), w: win("tue,wed,thu", []string{"prospect"}), loc: rome,
			want: at(rome, 2026, 6, 4, 9, 30),
		},
		{
			name: "an August closure: the first window day after it",
			t:    at(rome, 2026, 8, 11, 9, 0), w: win("tue,wed,thu", nil, "2026-08-10/2026-08-21"), loc: rome,
			want: at(rome, 2026, 8, 25, 9, 30),
		},
		{
			name: "a Christmas closure across the new year, both calendars too",
			t:    at(rome, 2026, 12, 23, 11, 0), w: win("tue,wed,thu", []string{"it", "pl"}, "2026-12-24/2027-01-06"), loc: rome,
			want: at(rome, 2027, 1, 7, 9, 30),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sequencer.WindowStart(tt.t, tt.w, tt.loc)
			if !got.Equal(tt.want) {
				t.Fatalf("due %v: sent %v, want %v", tt.t.In(tt.loc), got.In(tt.loc), tt.want.In(tt.loc))
			}
			// The plan an enrollment shows is the same instant.
			seq := withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = tt.w; s.FirstStepAfter = configs.Span{} })
			if plan := sequencer.Plan(active(tt.t, 0, nil), seq, tt.loc, tt.t.Add(-time.Hour)); plan == nil || !plan.Equal(tt.want) {
				t.Fatalf("next_send_at = %v, want %v", plan, tt.want.In(tt.loc))
			}
		})
	}
}
