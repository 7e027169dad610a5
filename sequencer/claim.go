package sequencer

// Claim and decide: the scheduler takes due enrollments from the store under a
// lease, applies the rules (R1-R9) to each and starts the sends it decided on,
// all in as few store calls as it can.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/store"
)

// claim leases due enrollments and decides what to do with each; it
// settles the ones that need no delivery and returns the ones to send.
// The claim passes over held senders; their due enrollments are claimed
// apart, a batch at a time, to be planned at the end of the hold (more:
// a full batch of them was taken, so there may be more at once).
func (e *Engine) claim(ctx, workCtx context.Context) (jobs []*job, more bool, err error) {
	now := e.o.Clock.Now()
	e.refreshHolds(ctx, now)
	names := make([]string, 0, len(e.o.Sequences))
	for n := range e.o.Sequences {
		names = append(names, n)
	}
	p := store.ClaimParams{Owner: e.o.Owner, Now: now, LeaseUntil: now.Add(e.o.Lease),
		Limit: min(e.o.Batch, 4*e.o.Workers), Sequences: names, SkipSenders: e.inHandSenders()}
	claimed, err := e.o.Store.EnrollmentClaimDue(ctx, p)
	if err != nil {
		return nil, false, err
	}
	if e.anyHeld(now) {
		p.Held, p.Limit = true, maxBatch
		parked, err := e.o.Store.EnrollmentClaimDue(ctx, p)
		if err != nil && ctx.Err() == nil {
			e.log.Error("claiming held senders' due work", "err", err)
		}
		more = len(parked) == p.Limit
		claimed = append(claimed, parked...)
	}
	if len(claimed) == 0 {
		return nil, false, nil
	}
	ids := make([]int64, len(claimed))
	for i, en := range claimed {
		ids[i] = en.ProspectID
	}
	var settled []settleReq
	var turn []store.Enrollment // paced senders' steps that wait for their turn
	prospects, err := e.o.Store.ProspectsByIDs(workCtx, ids)
	if err != nil {
		e.releaseIDs(workCtx, claimed)
		return nil, false, fmt.Errorf("loading prospects: %w", err)
	}
	for _, en := range claimed {
		if e.delivering(en.ID) || e.isQueued(en.ID) {
			// Ours already: either our step outlived its lease (a very
			// slow server, a long store outage), or its outcome was
			// stored a moment ago and the worker has not let go of it
			// yet. A second job for it would find its own send row and
			// take it for a crashed one. Its settle or start plans what
			// comes next; once it is done, the lease this claim took is
			// given back, or the enrollment would wait for it to run out.
			e.releaseWhenDone(workCtx, en)
			continue
		}
		j, ok := e.decide(workCtx, en, prospects, now, &settled, &turn)
		if ok {
			jobs = append(jobs, j)
		}
	}
	if len(turn) > 0 {
		// Given back untouched: at the sender's turn the claim takes the
		// longest-due of them first.
		e.releaseIDs(workCtx, turn)
	}
	// What the claim settled (waits, completions, steps planned past a
	// hold) is stored in one transaction here, not one by one behind the
	// deliveries' outcomes: parking a capped sender's thousands of due
	// steps costs a handful of commits, and the other senders' outcomes
	// never queue behind them.
	e.store(ctx, settled)
	return jobs, more, nil
}

// decide applies the rules to one claimed enrollment. It returns a job
// when a step is to be sent now; everything else is settled: added to
// settled, which the claim stores, or, for a paced sender's step that
// waits for its turn, to turn, whose leases the claim gives back.
func (e *Engine) decide(ctx context.Context, en store.Enrollment, prospects map[int64]store.Prospect, now time.Time, settled *[]settleReq, turn *[]store.Enrollment) (*job, bool) {
	seq := e.o.Sequences[en.Sequence]
	p, havePros := prospects[en.ProspectID]
	snd := e.o.Senders[en.Sender]
	base := store.Settle{EnrollmentID: en.ID, Owner: e.o.Owner, State: store.StateActive,
		LastStep: en.LastStep, LastSentAt: en.LastSentAt, ThreadSubject: en.ThreadSubject, ThreadRefs: en.ThreadRefs}
	out := Outcome{EnrollmentID: en.ID, Sequence: en.Sequence, Email: p.Email}
	switch {
	case seq == nil || !havePros:
		e.releaseIDs(ctx, []store.Enrollment{en})
		return nil, false
	case snd == nil:
		// The sender was removed from the configuration: hold the
		// enrollment and say so, rather than send from someone else.
		e.log.Error("enrollment's sender is not configured; holding it", "enrollment", en.ID, "sender", en.Sender)
		base.NextSendAt = ptr(now.Add(time.Hour))
		*settled = append(*settled, settleReq{s: base, o: out})
		return nil, false
	}
	var since time.Time
	d := e.decideFor(en, seq.Config, snd, Location(p, seq.Config), now, &since)
	switch d.Action {
	case Complete:
		base.State = store.StateCompleted
		base.Events = []store.Event{completedEvent(en, now)}
		out.State = store.StateCompleted
		*settled = append(*settled, settleReq{s: base, o: out})
		return nil, false
	case Wait:
		base.NextSendAt = &d.At
		out.NextSendAt = &d.At
		*settled = append(*settled, settleReq{s: base, o: out})
		return nil, false
	case Idle:
		e.releaseIDs(ctx, []store.Enrollment{en})
		return nil, false
	}
	switch v, until := SenderGate(e.senderState(snd, now), now); v {
	case SenderHeld:
		// R9: planned at the first window instant after the hold, where
		// R3 is judged again; nothing skipped for the wait.
		at := PlanFrom(en, seq.Config, Location(p, seq.Config), until)
		base.NextSendAt = &at
		out.NextSendAt = &at
		*settled = append(*settled, settleReq{s: base, o: out})
		return nil, false
	case SenderTurn:
		*turn = append(*turn, en)
		return nil, false
	}
	if snd.Config.Pace != nil {
		e.mu.Lock()
		e.inHand[snd.Config.Name] = true
		e.mu.Unlock()
	}
	j := &job{e: en, p: p, seq: seq, snd: snd, d: d, since: since, msgID: mailer.NewMessageID(snd.domain())}
	if len(d.Skip) > 0 {
		j.skips, j.events = e.skipped(ctx, en, d, now)
	}
	return j, true
}

// skipped records R3's skipped steps. A step that already has a row keeps
// it, except one left "sending" by a dead process, which becomes unknown.
func (e *Engine) skipped(ctx context.Context, en store.Enrollment, d Decision, now time.Time) ([]store.SendUpdate, []store.Event) {
	existing := map[int]store.SendStatus{}
	if sends, err := e.o.Store.SendsByEnrollment(ctx, en.ID); err == nil {
		for _, s := range sends {
			existing[s.Step] = s.Status
		}
	}
	var ups []store.SendUpdate
	var evs []store.Event
	for _, k := range d.Skip {
		status, kind := store.SendSkipped, store.EventSkipped
		switch existing[k] {
		case store.SendSending:
			status, kind = store.SendUnknown, store.EventUnknown
		case "", store.SendRetry:
		default:
			continue
		}
		ups = append(ups, store.SendUpdate{Step: k, Status: status, FinishedAt: &now})
		evs = append(evs, store.Event{ProspectID: en.ProspectID, EnrollmentID: en.ID, Sequence: en.Sequence,
			Step: k, Kind: kind, At: now, Detail: "an earlier step past due when a later one was (R3)"})
	}
	return ups, evs
}

// startsOf is the SendStart of each job.
func (e *Engine) startsOf(batch []*job, now time.Time) []store.SendStart {
	starts := make([]store.SendStart, len(batch))
	for i, j := range batch {
		starts[i] = store.SendStart{
			EnrollmentID: j.e.ID, Owner: e.o.Owner, Step: j.d.Step, Sender: j.snd.Config.Name,
			MessageID: j.msgID, PlannedAt: j.d.At, StartedAt: now,
			Day: now.In(j.snd.Location).Format(time.DateOnly), DailyLimit: j.snd.Config.DailyLimit,
		}
		if pace := j.snd.Config.Pace; pace != nil {
			j.gap = PaceGap(pace, rand.Float64())
			starts[i].PaceGap, starts[i].PaceSlack = j.gap, PaceSlack(pace)
		}
	}
	return starts
}

// started sorts a gated batch by SendsStart's answers: it returns the jobs
// that may be delivered, and the settles of those refused for a reason
// that plans the enrollment (to store with the next batch). A step that
// already has a row is sorted out by conflict, on a goroutine of its own
// (it waits for the committer).
func (e *Engine) started(ctx context.Context, batch []*job, errs []error, now time.Time) (ok []*job, follow []settleReq) {
	for i, j := range batch {
		switch {
		case errs[i] == nil:
			if j.gap > 0 {
				e.turnTaken(j.snd, now, j.gap)
			}
			j.started = true
			e.mu.Lock()
			e.inFlight[j.e.ID] = true
			e.mu.Unlock()
			ok = append(ok, j)
		case errors.Is(errs[i], store.ErrLeaseLost):
			// Paused, stopped or taken over meanwhile: nothing to do.
		case errors.Is(errs[i], store.ErrDailyLimit):
			// R9: the step waits for the first window instant of the
			// sender's next day.
			v := DecideDelivery(Failure{DailyLimit: true}, 0, e.o.Retry, now)
			h := e.senderFailed(ctx, j.snd, v.HoldReason, fmt.Errorf("daily limit of %d sends used up", j.snd.Config.DailyLimit), now)
			follow = append(follow, e.waitUntil(j, PlanFrom(j.e, j.seq.Config, Location(j.p, j.seq.Config), h.Until)))
		case errors.Is(errs[i], store.ErrPaced):
			// R9: another instance took the sender's turn, or holds a
			// step of it due earlier: given back untouched.
			e.releaseIDs(ctx, []store.Enrollment{j.e})
		case errors.Is(errs[i], store.ErrSuppressed):
			s := e.settleOf(j, nil, nil, store.StateUnsubscribed)
			s.Reason = "address is suppressed"
			follow = append(follow, settleReq{s: s, o: Outcome{EnrollmentID: j.e.ID, Email: j.p.Email, State: store.StateUnsubscribed}})
		case errors.Is(errs[i], store.ErrConflict):
			e.side.Add(1)
			go func() { defer e.side.Done(); e.conflict(ctx, j, now) }()
		default:
			e.log.Error("starting send", "enrollment", j.e.ID, "err", errs[i])
			e.releaseIDs(ctx, []store.Enrollment{j.e})
		}
	}
	return ok, follow
}

// conflict handles a step that already has a row: it was attempted before.
// A row still "sending" belongs to a process that died mid-delivery: it
// becomes unknown and is never sent again. Either way the enrollment moves
// past the step.
func (e *Engine) conflict(ctx context.Context, j *job, now time.Time) {
	prev, err := e.o.Store.SendGet(ctx, j.e.ID, j.d.Step)
	if err != nil {
		e.log.Error("reading an earlier attempt", "enrollment", j.e.ID, "step", j.d.Step, "err", err)
		e.releaseIDs(ctx, []store.Enrollment{j.e})
		return
	}
	var up []store.SendUpdate
	var ev []store.Event
	lastSent := j.e.LastSentAt
	switch prev.Status {
	case store.SendSending:
		up = []store.SendUpdate{{Step: j.d.Step, Status: store.SendUnknown, FinishedAt: &now,
			Error: "the process sending it stopped before recording the outcome"}}
		ev = []store.Event{j.event(store.EventUnknown, now, prev.MessageID, "outcome unknown after a crash; not sent again")}
		lastSent = prev.StartedAt
		e.o.Metrics.failed(FailureUnknown)
	case store.SendSent:
		lastSent = prev.FinishedAt
	}
	j.skips = append(j.skips, up...)
	j.events = append(j.events, ev...)
	e.advance(j, prev.Status, lastSent, "", "", now, nil)
}

// redecide decides each step again at the moment it starts (R3: whatever
// waited — a store outage, a full worker pool, a held sender — is judged
// against the time it actually goes out). A step whose decision still
// stands starts; the others are given back, planned as the rules say now
// (a different step due: at once, to be claimed and decided afresh).
func (e *Engine) redecide(starts []*job, now time.Time) (ok []*job, follow []settleReq) {
	for _, j := range starts {
		loc := Location(j.p, j.seq.Config)
		if h, held := e.heldNow(j.snd.Config.Name, now); held {
			follow = append(follow, e.waitUntil(j, PlanFrom(j.e, j.seq.Config, loc, h.Until)))
			continue
		}
		d := e.decideFor(j.e, j.seq.Config, j.snd, loc, now, &j.since)
		switch {
		case d.Action == Send && d.Step == j.d.Step:
			ok = append(ok, j)
		case d.Action == Wait:
			follow = append(follow, e.waitUntil(j, d.At))
		default:
			follow = append(follow, e.waitUntil(j, now))
		}
	}
	return ok, follow
}

// waitUntil is the settle of a job that is not started: nothing recorded
// but its plan, at; the lease goes back.
func (e *Engine) waitUntil(j *job, at time.Time) settleReq {
	s := store.Settle{EnrollmentID: j.e.ID, Owner: e.o.Owner, State: store.StateActive,
		LastStep: j.e.LastStep, LastSentAt: j.e.LastSentAt, ThreadSubject: j.e.ThreadSubject, ThreadRefs: j.e.ThreadRefs}
	if !at.IsZero() {
		s.NextSendAt = &at
	}
	return settleReq{s: s, o: Outcome{EnrollmentID: j.e.ID, Sequence: j.e.Sequence, Email: j.p.Email, NextSendAt: s.NextSendAt}}
}

// release gives back the leases of jobs that were claimed but not started.
func (e *Engine) release(ctx context.Context, jobs []*job) {
	if len(jobs) > 0 {
		e.releaseIDs(ctx, enrollmentsOf(jobs))
	}
}

// releaseWhenDone gives back the lease a claim took on an enrollment
// this engine is still starting or delivering, once that is over (its
// outcome is then stored: the release frees what the claim took, or
// finds the lease already cleared by the settle).
func (e *Engine) releaseWhenDone(ctx context.Context, en store.Enrollment) {
	e.side.Add(1)
	go func() {
		defer e.side.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for e.delivering(en.ID) || e.isQueued(en.ID) {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		e.releaseIDs(ctx, []store.Enrollment{en})
		e.Wake()
	}()
}

func (e *Engine) releaseIDs(ctx context.Context, ens []store.Enrollment) {
	ids := make([]int64, len(ens))
	for i, en := range ens {
		ids[i] = en.ID
	}
	if err := e.o.Store.EnrollmentRelease(ctx, e.o.Owner, ids); err != nil {
		e.log.Error("releasing leases", "err", err)
	}
}

func enrollmentsOf(jobs []*job) []store.Enrollment {
	out := make([]store.Enrollment, len(jobs))
	for i, j := range jobs {
		out[i] = j.e
	}
	return out
}

// isQueued reports whether a step of enrollment id waits in the queue.
func (e *Engine) isQueued(id int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, j := range e.queue {
		if j.e.ID == id {
			return true
		}
	}
	return false
}

func (e *Engine) delivering(id int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inFlight[id]
}
