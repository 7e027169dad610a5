package sequencer

import (
	"time"

	"github.com/drip-email/drip/configs"
)

// A late enrollment is one whose first contact lies so far back that step
// 1's nominal time (R1) has passed when it is enrolled: an old fair list,
// a lead entered weeks after the fair. The sequence's late_start says how
// it starts:
//
//   - latest (the default) is R3: only the latest past-due step goes out,
//     the earlier ones are recorded as skipped; the anchor stays the first
//     contact.
//   - first starts it at step 1 on the next window instant (R2) at or
//     after the enrollment, and moves the anchor to the instant that puts
//     step 1 exactly there; the later steps keep the interval from it (R1).
//
// Only the enrollment's start is concerned: a step that waits later on
// (downtime, a held sender) is decided by R3 as always.

// LateStartAnchor is the anchor of an enrollment made at now with first
// contact first, under mode. It is first itself unless mode is first and
// the enrollment is late; then it is the instant A such that Nominal(A, 1)
// is the first window instant at or after now.
func LateStartAnchor(mode configs.LateStart, first time.Time, seq *configs.Sequence, loc *time.Location, now time.Time) time.Time {
	if mode != configs.LateStartFirst {
		return first
	}
	loc = zoneOf(seq, loc)
	if !Nominal(first, seq, loc, 1).Before(now) {
		return first // not late: R1 plans step 1 as it is
	}
	target := WindowStart(now, seq.Window, loc)
	// Nominal adds first_step_after's days as calendar days in loc, then
	// its elapsed part: undo them in the opposite order.
	anchor := target.Add(-seq.FirstStepAfter.Dur)
	if seq.FirstStepAfter.Days != 0 {
		anchor = configs.Span{Days: -seq.FirstStepAfter.Days}.AddTo(anchor, loc)
	}
	// A local time lost or doubled by a DST change on the way back can
	// leave step 1 an hour off the target: moving the anchor by what is
	// left fixes that, unless the target's clock time does not exist on
	// the anchor's day (a spring-forward gap); then step 1 goes at the
	// first instant after the target that R1 can reach.
	if got := Nominal(anchor, seq, loc, 1); !got.Equal(target) {
		alt := anchor.Add(target.Sub(got))
		switch altGot := Nominal(alt, seq, loc, 1); {
		case altGot.Equal(target):
			anchor = alt
		case got.Before(target) || (!altGot.Before(target) && altGot.Before(got)):
			anchor = alt
		}
	}
	return anchor.In(loc)
}
