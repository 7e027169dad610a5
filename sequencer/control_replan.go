package sequencer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// A first contact entered wrong (the moment of import instead of the day
// of the fair, a day and month swapped) is corrected by importing the
// list again, or enrolling the prospect again, with the right date. The
// prospect's running enrollments are then re-planned from it:
//
//   - the first contact and the anchor move by the correction (an anchor
//     already shifted by a pause keeps that shift, R5); in a sequence with
//     late_start: first, an enrollment that has handled no step yet starts
//     again as a new one would (latestart.go), so that a correction never
//     pushes its step 1 further out than enrolling afresh would;
//   - the next step is the one after the last handled: nothing is sent
//     again (R8), the plan of an active enrollment is what R1 and R2 give
//     from the new anchor, and when that lies in the past the engine sends
//     only the latest past-due step (R3); a paused one gets its new anchor
//     and stays paused;
//   - the timeline says `updated` with the old and new first contact.
//
// Ended enrollments are history and keep their dates.

// replanFirstContact re-plans every running enrollment of p whose first
// contact is not first, and returns them as re-planned.
func (c *Control) replanFirstContact(ctx context.Context, p store.Prospect, first time.Time) ([]store.Enrollment, error) {
	ens, err := c.Store.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("reading enrollments: %w", err)
	}
	return c.replanEnrollments(ctx, p, ens, first)
}

// replanEnrollments is replanFirstContact over enrollments already read.
func (c *Control) replanEnrollments(ctx context.Context, p store.Prospect, ens []store.Enrollment, first time.Time) ([]store.Enrollment, error) {
	var out []store.Enrollment
	for _, e := range ens {
		if !running(e) || e.FirstContact.Equal(first) {
			continue
		}
		got, ok, err := c.replan(ctx, p, e, first)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, got)
		}
	}
	return out, nil
}

// replan moves one enrollment to the first contact first, re-reading it
// when it changed under us; ok is false when there was nothing to do.
func (c *Control) replan(ctx context.Context, p store.Prospect, e store.Enrollment, first time.Time) (store.Enrollment, bool, error) {
	seq, ok := c.Config.Sequences[e.Sequence]
	if !ok {
		return e, false, nil // no longer configured: nothing to plan with
	}
	loc := Location(p, seq)
	for range resumeAttempts {
		if !running(e) || e.FirstContact.Equal(first) {
			return e, false, nil
		}
		now := c.now()
		anchor := first.Add(e.Anchor.Sub(e.FirstContact))
		if e.LastStep == 0 && seq.LateStart == configs.LateStartFirst {
			anchor = LateStartAnchor(seq.LateStart, first, seq, loc, now)
		}
		var next *time.Time
		if e.State == store.StateActive {
			planned := e
			planned.Anchor, planned.FirstContact = anchor, first
			if next = Plan(planned, seq, loc, now); next == nil {
				next = &now // every step handled: due now, so the engine completes it (R6)
			}
		}
		detail := fmt.Sprintf("first contact %s -> %s", e.FirstContact.In(loc).Format(time.RFC3339), first.In(loc).Format(time.RFC3339))
		got, err := c.Store.EnrollmentTransition(ctx, store.Transition{
			EnrollmentID: e.ID, From: []store.State{e.State}, To: e.State, At: now,
			Anchor: &anchor, FirstContact: &first, NextSendAt: next, Reason: e.Reason, ExpectVersion: e.Version,
			Event: &store.Event{Kind: store.EventUpdated, Step: e.LastStep, Detail: detail, At: now},
		})
		if err == nil {
			return got, true, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return e, false, fmt.Errorf("re-planning %s in %s: %w", p.Email, e.Sequence, err)
		}
		if e, err = c.Store.EnrollmentGet(ctx, e.ID); err != nil {
			return e, false, fmt.Errorf("re-reading enrollment: %w", err)
		}
	}
	return e, false, conflictf("%s in %s kept changing while re-planning; try again", p.Email, e.Sequence)
}
