package sequencer_test

import (
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/sequencer"
)

// late_start: first, state by state. Each case enrols at now with first
// contact first and checks what the prospect would notice: the step that
// goes out first, when, and what the steps after it keep as spacing.
// Under latest (R3) the anchor is always the first contact.
//
// States: not late; late by a few hours inside the window; late outside
// the window; late across a DST change (an exact one, and one whose clock
// time does not exist on the anchor's day); on a holiday; on a closure;
// the sender held after the enrollment; first contact 95 days back; first
// contact in the future.
func TestLateStartAnchor(t *testing.T) {
	win := mustWindow("tue,wed,thu", "09:30", "10:30")
	withWindow := func(w *configs.Window) *configs.Sequence {
		return withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = w })
	}
	closedAug := mustWindow("mon,tue,wed,thu,fri", "09:30", "10:30")
	var r configs.DateRange
	if err := r.UnmarshalText([]byte("2026-08-10/2026-08-21")); err != nil {
		t.Fatal(err)
	}
	closedAug.Closed = []configs.DateRange{r}
	holidaysIT := mustWindow("mon,tue,wed,thu,fri", "09:30", "10:30")
	holidaysIT.Holidays = []string{"it"}

	tests := []struct {
		name  string
		seq   *configs.Sequence
		first time.Time
		now   time.Time
		// want is when the first send goes out under first; late says
		// whether the anchor moves (else it is the first contact).
		want time.Time
		late bool
	}{
		{
			name: "not late: step 1 ten days after the fair, as R1 says",
			seq:  withWindow(win), first: at(rome, 2026, 11, 24, 0, 0), now: at(rome, 2026, 11, 25, 15, 0),
			want: at(rome, 2026, 12, 8, 9, 30), // 4 Dec is a Friday: the next window day
		},
		{
			name: "late by a few hours, now inside the window: step 1 now",
			seq:  withWindow(win), first: at(rome, 2026, 11, 14, 7, 0), now: at(rome, 2026, 11, 24, 10, 0),
			want: at(rome, 2026, 11, 24, 10, 0), late: true,
		},
		{
			name: "late, now outside the window: step 1 at the next opening",
			seq:  withWindow(win), first: at(rome, 2026, 11, 4, 7, 0), now: at(rome, 2026, 11, 27, 15, 0),
			want: at(rome, 2026, 12, 1, 9, 30), late: true,
		},
		{
			name: "late across Rome's fall back: 09:30 CET, the anchor 09:30 CEST ten calendar days before",
			seq:  withWindow(win), first: at(rome, 2026, 9, 1, 0, 0), now: at(rome, 2026, 10, 26, 8, 0),
			want: at(rome, 2026, 10, 27, 9, 30), late: true,
		},
		{
			name: "late across Rome's spring forward, no window: 02:30 does not exist ten days back, step 1 at 03:00",
			seq:  tradeFair(), first: at(rome, 2026, 1, 5, 0, 0), now: at(rome, 2026, 4, 8, 2, 30),
			want: at(rome, 2026, 4, 8, 3, 0), late: true,
		},
		{
			name: "late, enrolled on Pasquetta 2027 (a holiday in Italy, the day after the clocks change): Tuesday 09:30 CEST",
			seq:  withWindow(holidaysIT), first: at(rome, 2027, 1, 10, 0, 0), now: at(rome, 2027, 3, 29, 8, 0),
			want: at(rome, 2027, 3, 30, 9, 30), late: true,
		},
		{
			name: "late, enrolled in an August closure: the first window day after it",
			seq:  withWindow(closedAug), first: at(rome, 2026, 6, 1, 0, 0), now: at(rome, 2026, 8, 11, 9, 45),
			want: at(rome, 2026, 8, 24, 9, 30), late: true,
		},
		{
			name: "first contact 95 days back: step 1, not step 9",
			seq:  withWindow(win), first: at(rome, 2026, 11, 24, 10, 0).AddDate(0, 0, -95), now: at(rome, 2026, 11, 24, 10, 0),
			want: at(rome, 2026, 11, 24, 10, 0), late: true,
		},
		{
			name: "first contact in the future: planned from it, as R1 says",
			seq:  withWindow(win), first: at(rome, 2026, 12, 15, 0, 0), now: at(rome, 2026, 11, 24, 10, 0),
			want: at(rome, 2026, 12, 29, 9, 30), // 25 Dec is a Friday
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sequencer.LateStartAnchor(configs.LateStartLatest, tt.first, tt.seq, rome, tt.now); !got.Equal(tt.first) {
				t.Fatalf("latest: anchor %v, want the first contact %v", got, tt.first)
			}
			anchor := sequencer.LateStartAnchor(configs.LateStartFirst, tt.first, tt.seq, rome, tt.now)
			if moved := !anchor.Equal(tt.first); moved != tt.late {
				t.Fatalf("first: anchor %v from first contact %v: moved=%v, want %v", anchor.In(rome), tt.first.In(rome), moved, tt.late)
			}
			e := active(anchor, 0, nil)
			e.FirstContact = tt.first
			d := sequencer.Decide(e, tt.seq, rome, tt.now)
			if d.Step != 1 || len(d.Skip) != 0 || !d.At.Equal(tt.want) {
				t.Fatalf("first send: step %d at %v skipping %v, want step 1 at %v skipping none", d.Step, d.At.In(rome), d.Skip, tt.want.In(rome))
			}
			// The spacing holds from step 1: step 2 is one interval (ten
			// calendar days) after step 1's nominal time.
			if s1, s2 := sequencer.Nominal(anchor, tt.seq, rome, 1), sequencer.Nominal(anchor, tt.seq, rome, 2); !s2.Equal(s1.AddDate(0, 0, 10)) {
				t.Fatalf("step 1 due %v, step 2 due %v: want ten days apart", s1.In(rome), s2.In(rome))
			}
		})
	}
}

// Under latest, the 95-day-old contact starts at step 9 with steps 1-8
// skipped (R3); that is what first is for.
func TestLateStartLatestIsR3(t *testing.T) {
	now := at(rome, 2026, 11, 24, 10, 0)
	first := now.AddDate(0, 0, -95)
	seq := withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = mustWindow("tue,wed,thu", "09:30", "10:30") })
	d := sequencer.Decide(active(sequencer.LateStartAnchor(configs.LateStartLatest, first, seq, rome, now), 0, nil), seq, rome, now)
	if d.Step != 9 || len(d.Skip) != 8 {
		t.Fatalf("latest: step %d skipping %v, want step 9 skipping 1-8", d.Step, d.Skip)
	}
}

// A sender held after a late_start: first enrollment: step 1 waits for it
// and goes out when it is released (not skipped); a hold longer than the
// interval is downtime, and R3 decides then, as for every enrollment.
func TestLateStartSenderHeld(t *testing.T) {
	seq := withSeq(tradeFair(), func(s *configs.Sequence) { s.Window = mustWindow("tue,wed,thu", "09:30", "10:30") })
	now := at(rome, 2026, 11, 24, 10, 0) // Tuesday, in the window
	anchor := sequencer.LateStartAnchor(configs.LateStartFirst, now.AddDate(0, 0, -60), seq, rome, now)
	e := active(anchor, 0, nil)

	released := at(rome, 2026, 11, 26, 10, 15) // held two days
	if d := sequencer.Decide(e, seq, rome, released); d.Action != sequencer.Send || d.Step != 1 || len(d.Skip) != 0 {
		t.Fatalf("released after two days: %v step %d skipping %v, want send step 1", d.Action, d.Step, d.Skip)
	}
	released = at(rome, 2026, 12, 9, 10, 0) // held past step 2's time
	if d := sequencer.Decide(e, seq, rome, released); d.Step != 2 || len(d.Skip) != 1 {
		t.Fatalf("released after 15 days: step %d skipping %v, want step 2 skipping step 1 (R3)", d.Step, d.Skip)
	}
}

func TestParseLateStart(t *testing.T) {
	for in, want := range map[string]configs.LateStart{"": configs.LateStartLatest, "latest": configs.LateStartLatest, "first": configs.LateStartFirst} {
		if got, err := configs.ParseLateStart(in); err != nil || got != want {
			t.Errorf("ParseLateStart(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := configs.ParseLateStart("earliest"); err == nil {
		t.Error("ParseLateStart(earliest): no error")
	}
}
