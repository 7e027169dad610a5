package sequencer

import (
	"time"

	"github.com/drip-email/drip/store"
)

// Every change of an enrollment's state that is not a delivery outcome is
// built here, with the one timeline entry that explains it: the control
// commands (pause, resume, unsubscribe) and the inbound handler (a reply, a
// stop request, a bounce) pick one of these and hand it to the store, which
// records the events it is given and invents none. Which states are
// terminal is store.TerminalStates; store.RunningStates are the others.
//
// The engine's outcomes (sent, skipped, failed, unknown, bounced at RCPT,
// completed) are settles, built in engine.go; their timeline entries come
// from the event builders at the end of this file.

// replied: a person answered; an active or hand-paused enrollment stops
// sending until resumed (R5).
func replied(e store.Enrollment, at time.Time) store.Transition {
	return store.Transition{
		EnrollmentID: e.ID,
		From:         []store.State{store.StateActive, store.StatePaused},
		To:           store.StateReplied,
		At:           at,
		Reason:       "reply",
		Event:        &store.Event{Kind: store.EventPaused, Detail: "paused by a reply", At: at},
	}
}

// paused: paused by hand (R5).
func paused(e store.Enrollment, at time.Time) store.Transition {
	return store.Transition{
		EnrollmentID: e.ID,
		From:         []store.State{store.StateActive},
		To:           store.StatePaused,
		At:           at,
		Event:        &store.Event{Kind: store.EventPaused, At: at},
	}
}

// pausedForReview: a reply or stop request that could be forged stops the
// canned mail until a person has looked (R5), and suppresses nothing.
func pausedForReview(e store.Enrollment, at time.Time) store.Transition {
	t := paused(e, at)
	t.Reason, t.Event.Detail = FlaggedReason, FlaggedReason
	return t
}

// resumed: a paused or replied enrollment becomes active again with its
// anchor shifted by the pause (R5) and its next step planned; it applies
// only to the version read, so that a resume never overwrites a change it
// did not see.
func resumed(e store.Enrollment, anchor time.Time, next *time.Time, at time.Time) store.Transition {
	return store.Transition{
		EnrollmentID:  e.ID,
		From:          []store.State{e.State},
		To:            store.StateActive,
		At:            at,
		Anchor:        &anchor,
		NextSendAt:    next,
		ClearPaused:   true,
		ExpectVersion: e.Version,
		Event:         &store.Event{Kind: store.EventResumed, At: at},
	}
}

// ended is the end of a running enrollment in a terminal state with the one
// event that says why (ev's kind: unsubscribe, bounce, failed, completed).
// It applies while the enrollment still runs, whichever running state.
func ended(e store.Enrollment, to store.State, reason string, ev store.Event) store.Transition {
	ev.ProspectID, ev.EnrollmentID, ev.Sequence = e.ProspectID, e.ID, e.Sequence
	return store.Transition{
		EnrollmentID: e.ID,
		From:         store.RunningStates(),
		To:           to,
		At:           ev.At,
		Reason:       reason,
		Event:        &ev,
	}
}

// unsubscribed: the prospect asked to stop (R7), by mail, by link or by hand.
func unsubscribed(e store.Enrollment, reason string, ev store.Event) store.Transition {
	ev.Kind = store.EventUnsubscribe
	return ended(e, store.StateUnsubscribed, reason, ev)
}

// bounced: the address does not take mail (a 5.x.x delivery report).
func bounced(e store.Enrollment, reason string, ev store.Event) store.Transition {
	ev.Kind = store.EventBounce
	return ended(e, store.StateBounced, reason, ev)
}

// stop is what a stop request or a bounce does to a prospect: each of its
// running enrollments ends in state `to` with one event of kind, and its
// address goes on the suppression list. Events of targets (the enrollments
// the message matched) carry the step and Message-ID they matched; the
// prospect's other running enrollments get an event about no step. A
// target that no longer runs (completed, say) still gets its event. The
// suppression names the same kind for an enrollment created meanwhile, so
// that each enrollment ends with exactly one event.
type stop struct {
	To     store.State     // StateUnsubscribed or StateBounced
	Kind   store.EventKind // EventUnsubscribe or EventBounce
	Reason string          // the enrollment's reason and the suppression's
	// end is the transition of one running enrollment (unsubscribed or
	// bounced).
	end func(e store.Enrollment, reason string, ev store.Event) store.Transition
}

var (
	stopUnsubscribe = stop{To: store.StateUnsubscribed, Kind: store.EventUnsubscribe, Reason: "unsubscribe", end: unsubscribed}
	stopBounce      = stop{To: store.StateBounced, Kind: store.EventBounce, Reason: "bounce", end: bounced}
)

// apply adds the stop of one prospect to rec: ens are all of the
// prospect's enrollments, targets what the message matched among them.
func (s stop) apply(rec *store.Inbound, targets []store.SentRef, ens []store.Enrollment, msgID, detail string, at time.Time) {
	byID := make(map[int64]store.SentRef, len(targets))
	for _, t := range targets {
		byID[t.EnrollmentID] = t
	}
	running := map[int64]bool{}
	for _, e := range ens {
		if e.State.Terminal() {
			continue
		}
		running[e.ID] = true
		ev := store.Event{Kind: s.Kind, Detail: detail, At: at}
		if t, ok := byID[e.ID]; ok {
			ev.Step, ev.MessageID = t.Step, msgID
		}
		rec.Transitions = append(rec.Transitions, s.end(e, s.Reason, ev))
	}
	for _, t := range targets {
		if !running[t.EnrollmentID] {
			rec.Events = append(rec.Events, refEvent(t, s.Kind, msgID, detail, at))
		}
	}
	rec.SuppressReason, rec.SuppressState, rec.SuppressEvent = s.Reason, s.To, s.Kind
}

// refEvent is a timeline entry about the send (or, with Step 0, the
// enrollment) that ref names.
func refEvent(ref store.SentRef, kind store.EventKind, msgID, detail string, at time.Time) store.Event {
	return store.Event{ProspectID: ref.ProspectID, EnrollmentID: ref.EnrollmentID, Sequence: ref.Sequence,
		Step: ref.Step, Kind: kind, MessageID: msgID, Detail: detail, At: at}
}

// stepEvent is a timeline entry about step of e (the engine's outcomes:
// sent, skipped, failed, unknown, bounce; step 0 for completed).
func stepEvent(e store.Enrollment, step int, kind store.EventKind, msgID, detail string, at time.Time) store.Event {
	return store.Event{ProspectID: e.ProspectID, EnrollmentID: e.ID, Sequence: e.Sequence,
		Step: step, Kind: kind, MessageID: msgID, Detail: detail, At: at}
}

// completedEvent: every step is handled (R6).
func completedEvent(e store.Enrollment, at time.Time) store.Event {
	return stepEvent(e, 0, store.EventCompleted, "", "", at)
}

// deferred: an out-of-office reply's return date moved the anchor of an
// active enrollment so that its next step lands at the first window
// instant after the return (R5b). It applies only to the version read, so
// that a deferral never overwrites a change it did not see; the lease, if
// any, stays (a claimed step decides again when it starts).
func deferred(e store.Enrollment, anchor, next time.Time, detail string, at time.Time) store.Transition {
	return store.Transition{
		EnrollmentID:  e.ID,
		From:          []store.State{store.StateActive},
		To:            store.StateActive,
		At:            at,
		Anchor:        &anchor,
		NextSendAt:    &next,
		ExpectVersion: e.Version,
		Event: &store.Event{ProspectID: e.ProspectID, EnrollmentID: e.ID, Sequence: e.Sequence,
			Kind: store.EventDeferred, Detail: detail, At: at},
	}
}

// left: an auto-reply said the person left the company; the enrollment
// ends in state left with the successor it named (none: zero). Not a
// bounce, and the address is not suppressed.
func left(e store.Enrollment, succ store.Successor, ev store.Event) store.Transition {
	ev.Kind = store.EventLeft
	t := ended(e, store.StateLeft, "left the company", ev)
	t.Successor = &succ
	return t
}
