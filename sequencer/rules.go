package sequencer

import (
	"sort"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// The contract's schedule rules R1–R6 as pure functions: no I/O and no
// clock of their own, so a test can walk 60 steps in a millisecond.
//
// Every function takes the prospect's time zone, already resolved by the
// caller (prospect's zone, else the sequence's); calendar days and window
// clock times are read in it. A nil zone falls back to the sequence's
// Location where there is a sequence, else UTC, rather than panic.

// Action is what Decide tells the engine to do with an enrollment now.
type Action int

const (
	// Idle: the enrollment is not active (paused, replied or ended), so
	// nothing is planned. It is the zero value on purpose.
	Idle Action = iota
	// Wait: step Step is planned at At, which is still in the future.
	Wait
	// Send: send step Step now (At is when it was planned, <= now) and
	// record the steps in Skip as skipped, in the same settle.
	Send
	// Complete: every step is handled (R6); the enrollment is completed.
	Complete
)

func (a Action) String() string {
	switch a {
	case Wait:
		return "wait"
	case Send:
		return "send"
	case Complete:
		return "complete"
	}
	return "idle"
}

// Decision is the outcome of the schedule rules for one enrollment at one
// instant.
type Decision struct {
	Action Action
	Step   int       // the step to send (Wait, Send); 0 otherwise
	At     time.Time // its planned time (Wait, Send); zero otherwise
	// Skip lists the earlier past-due steps that R3 records as skipped
	// when Step is sent, in order. With Wait it is what would be skipped
	// if nothing changed; the engine records it only with the send.
	Skip []int
}

// Nominal is R1: when step k (1..Steps) is due, anchor + first_step_after
// + (k-1)*interval. The days of those spans are calendar days in loc, so a
// step keeps the anchor's local clock time across DST changes; the rest is
// elapsed time. It is computed from the anchor every time, never from the
// previous step, so a late send never moves the steps after it.
func Nominal(anchor time.Time, seq *configs.Sequence, loc *time.Location, k int) time.Time {
	loc = zoneOf(seq, loc)
	offset := seq.Interval.Times(k - 1)
	offset.Days += seq.FirstStepAfter.Days
	offset.Dur += seq.FirstStepAfter.Dur
	return offset.AddTo(anchor, loc).In(loc)
}

// WindowStart is R2: the first instant at or after t whose local time in
// loc falls within [From, To) on a window day: an allowed weekday that is
// no public holiday of the window's calendars (`holidays: prospect` reads
// the country of loc's time zone) and lies in no closure. A nil window
// allows any time.
//
// It does not build "day D at From" with time.Date: a From that does not
// exist that day (skipped by a DST jump) is normalised by time.Date forwards
// in Europe/Rome but backwards, before the window, in America/New_York.
// Instead it walks the stretches of constant UTC offset from t: within one,
// local time is t plus a fixed offset, so the search is plain clock
// arithmetic, and a result that falls past the stretch's end is looked for
// again in the next stretch. A clock time lost in a spring-forward gap thus
// opens the window at the instant the clocks jump to.
func WindowStart(t time.Time, w *configs.Window, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	if w == nil {
		return t.In(loc)
	}
	country := ""
	if w.UsesProspectCountry() {
		country = configs.CountryOfZone(loc.String())
	}
	// Every weekday recurs within a week and closures are bounded, so a
	// window that opens at all opens within MaxSearchDays.
	limit := t.AddDate(0, 0, configs.MaxSearchDays+1)
	for from := t.In(loc); from.Before(limit); {
		_, end := from.ZoneBounds() // zero: the offset never changes again
		clock := wallClock(from)
		if at, ok := windowOpen(clock, w, country); ok {
			found := from.Add(at.Sub(clock))
			if end.IsZero() || found.Before(end) {
				return found
			}
		}
		if end.IsZero() {
			break
		}
		from = end.In(loc)
	}
	// Only a window that can never open (From >= To) gets here, and config
	// validation refuses it; not holding the send back is the safe answer.
	return t.In(loc)
}

// wallClock is t's local date and time of day as a UTC time, so that
// calendar arithmetic on it is free of DST.
func wallClock(t time.Time) time.Time {
	_, offset := t.Zone()
	return t.UTC().Add(time.Duration(offset) * time.Second)
}

// windowOpen is the first wall-clock time at or after clock inside w, on
// a window day for a prospect of country.
func windowOpen(clock time.Time, w *configs.Window, country string) (time.Time, bool) {
	y, m, d := clock.Date()
	for i := range configs.MaxSearchDays {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC)
		if !w.DayOpen(configs.DateOf(day), country) {
			continue
		}
		opens := day.Add(time.Duration(w.From) * time.Minute)
		closes := day.Add(time.Duration(w.To) * time.Minute)
		if !opens.Before(closes) || !clock.Before(closes) {
			continue
		}
		if clock.Before(opens) {
			return opens, true
		}
		return clock, true
	}
	return time.Time{}, false
}

// Decide applies R1–R4 and R6 to an active enrollment at now: which step is
// next, which past-due steps R3 skips, and when the step goes out. Paused
// (R5) and ended (R7) enrollments are not scheduled: for them it returns
// Idle.
func Decide(e store.Enrollment, seq *configs.Sequence, loc *time.Location, now time.Time) Decision {
	if e.State != store.StateActive {
		return Decision{Action: Idle}
	}
	next := e.LastStep + 1
	if next > seq.Steps {
		// R6, also for a sequence shortened below the steps already handled.
		return Decision{Action: Complete}
	}
	loc = zoneOf(seq, loc)
	nominal := func(k int) time.Time { return Nominal(e.Anchor, seq, loc, k) }

	// R3: of the steps already due, only the latest goes out. Nominal
	// times grow with k, so the first step not yet due is found by search.
	notDue := next + sort.Search(seq.Steps-next+1, func(i int) bool {
		return nominal(next + i).After(now)
	})
	step := max(next, notDue-1)
	var skip []int
	for k := next; k < step; k++ {
		skip = append(skip, k)
	}

	// R4: never closer than the minimum gap to the previous send.
	earliest := nominal(step)
	if e.LastSentAt != nil {
		if gapEnd := e.LastSentAt.Add(seq.Gap()); gapEnd.After(earliest) {
			earliest = gapEnd
		}
	}
	at := WindowStart(earliest, seq.Window, loc) // R2
	d := Decision{Action: Wait, Step: step, At: at, Skip: skip}
	if at.After(now) {
		return d
	}
	// Due. R2 holds for every send: a step found due outside the window
	// (late enrollment, downtime, a held sender) waits for the window's
	// next opening, where R3 is judged again.
	if opens := WindowStart(now, seq.Window, loc); opens.After(now) {
		d.At = opens
		return d
	}
	d.Action = Send
	if opened := windowOpenedToday(now, seq.Window, loc); opened.After(at) {
		d.At = opened
	}
	return d
}

// windowOpenedToday is when the window stretch holding now opened, as far
// back as the start of now's local day: the time a step found due late
// inside the window was planned for (next_send_at said so while it
// waited), so that a catch-up send is not reported as days late. Without a
// window it is the zero time.
func windowOpenedToday(now time.Time, w *configs.Window, loc *time.Location) time.Time {
	if w == nil {
		return time.Time{}
	}
	y, m, d := now.In(loc).Date()
	opened := WindowStart(time.Date(y, m, d, 0, 0, 0, 0, loc), w, loc)
	if opened.After(now) {
		return time.Time{}
	}
	return opened
}

// PlanFrom is when the next step of e goes out if nothing is sent before
// t: the instant a held sender's or a deferred enrollment's step is
// planned for once the wait ends. The zero time when nothing is planned.
func PlanFrom(e store.Enrollment, seq *configs.Sequence, loc *time.Location, t time.Time) time.Time {
	switch d := Decide(e, seq, loc, t); d.Action {
	case Wait:
		return d.At
	case Send:
		return t
	}
	return time.Time{}
}

// Plan is the planned time of an enrollment's next send (the API's
// next_send_at), or nil when nothing is planned: not active, or complete.
// For a step that is already due inside its window it is the time it was
// planned for, <= now; one found due outside the window is planned at the
// window's next opening, never in the past.
func Plan(e store.Enrollment, seq *configs.Sequence, loc *time.Location, now time.Time) *time.Time {
	d := Decide(e, seq, loc, now)
	if d.Action != Wait && d.Action != Send {
		return nil
	}
	return &d.At
}

// ResumeAnchor is R5: the anchor of an enrollment paused at e.PausedAt and
// resumed at now, shifted by the time spent paused. The next unsent step
// then lies as far from now as it lay from the pause, so the pause makes no
// step past due (none is skipped because of it). Whole days of the pause
// are counted as calendar days in loc, like the sequence's own spans, so a
// pause across a DST change does not move the local clock time of later
// steps by an hour.
func ResumeAnchor(e store.Enrollment, loc *time.Location, now time.Time) time.Time {
	if e.PausedAt == nil || !now.After(*e.PausedAt) {
		return e.Anchor
	}
	if loc == nil {
		loc = time.UTC
	}
	wall := wallClock(now.In(loc)).Sub(wallClock(e.PausedAt.In(loc)))
	days := max(0, int(wall/(24*time.Hour)))
	rest := now.Sub(configs.Span{Days: days}.AddTo(*e.PausedAt, loc))
	return configs.Span{Days: days, Dur: rest}.AddTo(e.Anchor, loc)
}

// zoneOf resolves the zone the rules read local times in; time.In panics
// on a nil Location, and a missing zone must not crash the engine.
func zoneOf(seq *configs.Sequence, loc *time.Location) *time.Location {
	switch {
	case loc != nil:
		return loc
	case seq != nil && seq.Location != nil:
		return seq.Location
	}
	return time.UTC
}
