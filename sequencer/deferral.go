package sequencer

import (
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// DeferAnchor is R5b: an out-of-office reply says the prospect is back at
// back (midnight of their first day back, as inbound.ReturnDate gives it).
// When the enrollment's next step is planned before the first window
// instant at or after back, the anchor moves just far enough that this
// step's nominal time is that instant; later steps keep their spacing from
// it, as after a pause (R5). It returns the new anchor, the step's new
// planned time, and true; or the anchor unchanged and false when nothing
// needs to move: the step is planned after the return already, or the
// enrollment is not active (a paused or replied one waits for a person,
// R5, and an ended one plans nothing).
//
// The next step is the first unsent one: steps that R3 would have skipped
// as past due are not skipped because of the deferral, since nothing was
// meant to reach the prospect while away.
func DeferAnchor(e store.Enrollment, seq *configs.Sequence, loc *time.Location, back, now time.Time) (anchor, at time.Time, deferred bool) {
	d := Decide(e, seq, loc, now)
	if d.Action != Wait && d.Action != Send {
		return e.Anchor, time.Time{}, false
	}
	loc = zoneOf(seq, loc)
	target := WindowStart(back, seq.Window, loc)
	if !d.At.Before(target) {
		return e.Anchor, d.At, false
	}
	next := e.LastStep + 1
	anchor = anchorFor(target, seq, loc, next)
	if !anchor.After(e.Anchor) {
		// The step is late (R4 spacing or R3) rather than early: only a
		// later anchor can defer, never an earlier one.
		return e.Anchor, d.At, false
	}
	e.Anchor = anchor
	d = Decide(e, seq, loc, now)
	return anchor, d.At, true
}

// anchorFor inverts Nominal: the anchor whose step k is due exactly at
// target. The offset's calendar days are taken back in loc, then its
// elapsed part; a day whose clock time a DST change skipped is corrected
// by the difference, so that Nominal(anchor, k) == target.
func anchorFor(target time.Time, seq *configs.Sequence, loc *time.Location, k int) time.Time {
	offset := seq.Interval.Times(k - 1)
	offset.Days += seq.FirstStepAfter.Days
	offset.Dur += seq.FirstStepAfter.Dur
	anchor := configs.Span{Days: -offset.Days}.AddTo(target.Add(-offset.Dur), loc)
	if got := Nominal(anchor, seq, loc, k); !got.Equal(target) {
		anchor = anchor.Add(target.Sub(got))
	}
	return anchor.In(loc)
}
