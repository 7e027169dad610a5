package sequencer

import (
	"context"
	"fmt"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/store"
)

// What an auto-reply says about its writer's absence, beyond "recorded,
// the sequence goes on":
//
//   - a return date (R5b): each active enrollment of the prospect whose
//     next step is planned before the first window instant after the
//     return is deferred to it (DeferAnchor), with a `deferred` entry that
//     gives the date read and the sentence it came from;
//   - "left the company": each running enrollment of the prospect ends in
//     state `left` (not a bounce, not suppressed), with the successor when
//     the message names one.
//
// A later human reply still pauses (R5): the deferral only moved the plan.

// autoReplyRead is what DecideInbound keeps of an auto-reply for
// DecideAbsence: the parsed message and its classification.
type autoReplyRead struct {
	m   *inbound.Message
	res inbound.Result
}

// AbsenceLookup is what DecideAbsence reads of the store.
type AbsenceLookup interface {
	EnrollmentsByProspect(ctx context.Context, prospectID int64) ([]store.Enrollment, error)
	ProspectGet(ctx context.Context, id int64) (store.Prospect, error)
}

// DecideAbsence completes the decision d of an auto-reply (DecideInbound)
// with what it says about its writer's absence: a return date defers the
// prospect's active enrollments of the sequences in seqs (those not
// configured are left alone), "left the company" ends every running one in
// state left. Anything else, or an auto-reply matching nothing, is d
// unchanged. It reads the store and writes nothing.
func DecideAbsence(ctx context.Context, lk AbsenceLookup, seqs map[string]*configs.Sequence, d InboundDecision, now time.Time) (InboundDecision, error) {
	// Only a plain auto-reply: one held for review (flagged) or matching
	// nothing changes no enrollment.
	if d.auto == nil || d.Kind != inbound.LabelAutoReply || len(d.Matched) == 0 {
		return d, nil
	}
	res := d.auto.res
	if !res.Left && res.Return.IsZero() {
		return d, nil
	}
	target := d.Matched[0]
	ens, err := lk.EnrollmentsByProspect(ctx, target.ProspectID)
	if err != nil {
		return InboundDecision{}, fmt.Errorf("reading enrollments of prospect %d: %w", target.ProspectID, err)
	}
	if res.Left {
		return decideLeft(d, ens, res, now), nil
	}
	p, err := lk.ProspectGet(ctx, target.ProspectID)
	if err != nil {
		return InboundDecision{}, fmt.Errorf("reading prospect %d: %w", target.ProspectID, err)
	}
	for _, e := range ens {
		seq, ok := seqs[e.Sequence]
		if !ok || e.State != store.StateActive {
			continue
		}
		loc := Location(p, seq)
		back, text, ok := inbound.ReturnDateOf(d.auto.m, loc)
		if !ok {
			continue
		}
		anchor, next, moved := DeferAnchor(e, seq, loc, back, now)
		if !moved {
			continue
		}
		detail := clip(fmt.Sprintf("back %s, read from %q", back.In(loc).Format("2006-01-02"), text))
		d.Record.Transitions = append(d.Record.Transitions, deferred(e, anchor, next, detail, now))
		if d.Kind != inbound.LabelDeferred {
			d.Kind = inbound.LabelDeferred
			d.Note = fmt.Sprintf("back %s: %s step %d deferred to %s", back.In(loc).Format("2006-01-02"), e.Sequence,
				e.LastStep+1, next.In(loc).Format("2006-01-02 15:04 MST"))
		}
	}
	return d, nil
}

// decideLeft ends each running enrollment of the prospect in state left,
// with one `left` entry each instead of the auto_reply entry; a matched
// enrollment that no longer runs keeps its auto_reply entry.
func decideLeft(d InboundDecision, ens []store.Enrollment, res inbound.Result, now time.Time) InboundDecision {
	succ := store.Successor{Email: res.Successor.Email, Name: res.Successor.Name}
	detail := "left the company"
	if !succ.IsZero() {
		detail += "; successor " + successorText(succ)
	}
	detail = clip(fmt.Sprintf("%s, read from %q", detail, res.LeftText))
	byID := map[int64]store.SentRef{}
	for _, r := range d.Matched {
		byID[r.EnrollmentID] = r
	}
	ended := map[int64]bool{}
	for _, e := range ens {
		if e.State.Terminal() {
			continue
		}
		ev := store.Event{Detail: detail, At: now}
		if r, ok := byID[e.ID]; ok {
			ev.Step, ev.MessageID = r.Step, d.auto.m.MessageID
		}
		d.Record.Transitions = append(d.Record.Transitions, left(e, succ, ev))
		ended[e.ID] = true
	}
	if len(ended) == 0 {
		return d
	}
	kept := d.Record.Events[:0]
	for _, ev := range d.Record.Events {
		if !ended[ev.EnrollmentID] {
			kept = append(kept, ev)
		}
	}
	d.Record.Events = kept
	d.Kind, d.Note = inbound.LabelLeft, "no successor named"
	if !succ.IsZero() {
		d.Note = "successor " + successorText(succ)
	}
	return d
}

// successorText is "Name <email>", or whichever of the two is known.
func successorText(s store.Successor) string {
	switch {
	case s.Name != "" && s.Email != "":
		return s.Name + " <" + s.Email + ">"
	case s.Email != "":
		return s.Email
	}
	return s.Name
}
