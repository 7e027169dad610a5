package sequencer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// Ending one enrollment by hand without suppressing the address
// (unenroll), moving a prospect from one sequence to another, and the
// rule about prospects running in two sequences at once: allowed, with a
// warning, unless the sequence they join says `exclusive: true`.

func conflictf(format string, a ...any) error {
	return &UserError{Kind: store.ErrConflict, Msg: fmt.Sprintf(format, a...)}
}

// running reports whether an enrollment may still send (active, or paused
// and able to resume).
func running(e store.Enrollment) bool { return !e.State.Terminal() }

// secondSequence checks a prospect joining seq against its other running
// enrollments (ens; those in seq and in skip are not counted): an
// exclusive seq refuses it (a UserError of kind store.ErrConflict), else
// each one is a warning for the user.
func secondSequence(email string, ens []store.Enrollment, seq *configs.Sequence, skip string) ([]string, error) {
	var others []string
	for _, e := range ens {
		if running(e) && e.Sequence != seq.Name && e.Sequence != skip {
			others = append(others, fmt.Sprintf("%s (%s)", e.Sequence, e.State))
		}
	}
	if len(others) == 0 {
		return nil, nil
	}
	if seq.Exclusive {
		return nil, conflictf("%s is running in sequence %s, and sequence %s is exclusive: unenroll or move it first",
			email, strings.Join(others, ", "), seq.Name)
	}
	return []string{fmt.Sprintf("%s is also running in sequence %s: it may get the emails of both",
		email, strings.Join(others, ", "))}, nil
}

// EnrollWarnings are the warnings of enrolling the known prospect p in
// seq (nil for a prospect not stored yet), or the refusal of an exclusive
// sequence.
func (c *Control) enrollWarnings(ctx context.Context, p store.Prospect, seq *configs.Sequence) ([]string, error) {
	if p.ID == 0 {
		return nil, nil
	}
	ens, err := c.Store.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("reading enrollments: %w", err)
	}
	return secondSequence(p.Email, ens, seq, "")
}

// enrollmentIn finds the prospect's enrollment in sequence.
func (c *Control) enrollmentIn(ctx context.Context, email, sequence string) (store.Prospect, store.Enrollment, []store.Enrollment, error) {
	if strings.TrimSpace(sequence) == "" {
		return store.Prospect{}, store.Enrollment{}, nil, invalidf("a sequence is required (--sequence)")
	}
	p, err := c.Prospect(ctx, email)
	if err != nil {
		return p, store.Enrollment{}, nil, err
	}
	ens, err := c.Store.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		return p, store.Enrollment{}, nil, fmt.Errorf("reading enrollments: %w", err)
	}
	for _, e := range ens {
		if e.Sequence == sequence {
			return p, e, ens, nil
		}
	}
	return p, store.Enrollment{}, ens, notFoundf("%s is not enrolled in sequence %s", p.Email, sequence)
}

// Unenroll ends the prospect's enrollment in sequence as unenrolled: no
// further step is sent, the address is not suppressed (it may be enrolled
// in other sequences, and stays in this one's history), and the timeline
// says `unenrolled`. An enrollment that has already ended is a conflict.
func (c *Control) Unenroll(ctx context.Context, email, sequence string) (store.Enrollment, error) {
	p, e, _, err := c.enrollmentIn(ctx, email, sequence)
	if err != nil {
		return e, err
	}
	return c.unenroll(ctx, p, e, "unenrolled by hand")
}

func (c *Control) unenroll(ctx context.Context, p store.Prospect, e store.Enrollment, why string) (store.Enrollment, error) {
	for range resumeAttempts {
		if !running(e) {
			return e, conflictf("%s's enrollment in %s has already ended (%s)", p.Email, e.Sequence, e.State)
		}
		now := c.now()
		got, err := c.Store.EnrollmentTransition(ctx, store.Transition{
			EnrollmentID: e.ID, From: []store.State{e.State}, To: store.StateUnenrolled, At: now,
			Reason: why, ExpectVersion: e.Version,
			Event: &store.Event{Kind: store.EventUnenrolled, Step: e.LastStep, Detail: why, At: now},
		})
		if err == nil {
			return got, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return e, fmt.Errorf("unenrolling %s from %s: %w", p.Email, e.Sequence, err)
		}
		if e, err = c.Store.EnrollmentGet(ctx, e.ID); err != nil {
			return e, fmt.Errorf("re-reading enrollment: %w", err)
		}
	}
	return e, conflictf("%s in %s kept changing while unenrolling; try again", p.Email, e.Sequence)
}

// MoveResult is the outcome of Move.
type MoveResult struct {
	From     store.Enrollment // now unenrolled
	To       store.Enrollment // the new enrollment
	Warnings []string         // the prospect still runs in yet another sequence
}

// Move ends the prospect's running enrollment in from (unenrolled, "moved
// to T") and enrols it in to with the same first contact and sender, its
// first send planned by the rules as for any enrollment. Everything that
// would refuse the new enrollment (an unknown sequence, a suppressed
// address, a missing custom field, an existing enrollment in to, an
// exclusive to) is checked before the old one is ended.
func (c *Control) Move(ctx context.Context, email, from, to string) (MoveResult, error) {
	seq, err := c.sequence(to)
	if err != nil {
		return MoveResult{}, err
	}
	if from == to {
		return MoveResult{}, invalidf("--from and --to are the same sequence %s", from)
	}
	p, e, ens, err := c.enrollmentIn(ctx, email, from)
	if err != nil {
		return MoveResult{}, err
	}
	if !running(e) {
		return MoveResult{}, conflictf("%s's enrollment in %s has already ended (%s): nothing to move; enroll it in %s instead", p.Email, from, e.State, to)
	}
	for _, o := range ens {
		if o.Sequence == to {
			return MoveResult{}, conflictf("%s is already enrolled in %s (%s)", p.Email, to, o.State)
		}
	}
	if _, err := secondSequence(p.Email, ens, seq, from); err != nil {
		return MoveResult{}, err
	}
	if sup, err := c.Store.Suppressed(ctx, p.Email); err != nil {
		return MoveResult{}, fmt.Errorf("checking the suppression list: %w", err)
	} else if sup {
		return MoveResult{}, suppressedError(p.Email)
	}
	for _, f := range seq.Fields {
		if strings.TrimSpace(p.Fields[f]) == "" {
			return MoveResult{}, invalidf("missing custom field %q: sequence %s uses it in its templates", f, seq.Name)
		}
	}
	if msg := basisMissing(seq, p, store.Prospect{}); msg != "" {
		return MoveResult{}, &UserError{Kind: ErrNoBasis, Msg: msg}
	}
	sender := e.Sender
	if _, ok := c.Config.Sender(sender); !ok {
		sender = "" // no longer configured: the default one
	}

	old, err := c.unenroll(ctx, p, e, "moved to "+to)
	if err != nil {
		return MoveResult{}, err
	}
	res, err := c.Enroll(ctx, EnrollRequest{
		Sequence: to, Sender: sender, Prospect: store.Prospect{Email: p.Email},
		FirstContact: e.FirstContact.Format(time.RFC3339Nano),
	})
	if err != nil {
		// Put the old enrollment back as it was, so a failed move changes
		// nothing but the timeline.
		back := old.NextSendAt
		if e.State == store.StateActive {
			back = e.NextSendAt
		}
		if _, rerr := c.Store.EnrollmentTransition(ctx, store.Transition{
			EnrollmentID: old.ID, From: []store.State{store.StateUnenrolled}, To: e.State, At: c.now(),
			Anchor: &e.Anchor, NextSendAt: back, Reason: e.Reason, ExpectVersion: old.Version,
		}); rerr != nil {
			return MoveResult{}, errors.Join(err, fmt.Errorf("restoring %s in %s: %w", p.Email, from, rerr))
		}
		return MoveResult{}, err
	}
	c.wake()
	return MoveResult{From: old, To: res.Enrollment, Warnings: res.Warnings}, nil
}
