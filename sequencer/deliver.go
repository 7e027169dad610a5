package sequencer

// Deliver: workers render and send one step each and turn what the wire
// reported into an outcome (DecideDelivery) and the settle that records it.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

// worker delivers jobs until the channel closes.
func (e *Engine) worker(ctx context.Context) {
	for j := range e.jobs {
		e.o.Metrics.workerBusy(1)
		e.deliver(ctx, j)
		e.mu.Lock()
		delete(e.inFlight, j.e.ID)
		e.mu.Unlock()
		e.o.Metrics.workerBusy(-1)
	}
}

// deliver renders, sends and records one step; it returns once the
// outcome is stored, so that a worker never has more than one "sending" row.
func (e *Engine) deliver(ctx context.Context, j *job) {
	now := e.o.Clock.Now()
	c, err := Compose(j.seq, j.snd, j.p, j.e, j.d.Step, j.msgID, e.o.UnsubscribeURL(j.p.ID), now)
	var raw []byte
	if err == nil {
		raw, err = mailer.Build(c.Message)
	}
	if errors.Is(err, templates.ErrRenderTooSlow) {
		// The render ran out of time: perhaps a busy machine. Like a
		// message's own temporary failure: retried within its budget.
		e.outcome(ctx, j, mailer.Temporary, fmt.Errorf("composing the message: %w", err), now)
		return
	}
	if err != nil {
		// A template or data problem is this prospect's: fail the step and
		// the enrollment with the reason; drip status shows it.
		e.o.Metrics.failed(FailurePermanent)
		e.finish(j, store.SendFailed, store.StateFailed, "composing the message: "+err.Error(), nil, now)
		return
	}
	if e.limiter != nil {
		if err := e.limiter.Wait(ctx); err != nil {
			// Shutting down before the send: it waits, uncharged.
			e.retryAt(j, err, now)
			return
		}
	}
	t0 := time.Now()
	err = j.snd.Transport.Send(ctx, j.snd.FromEmail, j.p.Email, raw)
	e.o.Metrics.attempt(time.Since(t0))
	now = e.o.Clock.Now()
	kind := mailer.Classify(err)
	if kind == 0 {
		e.senderWorks(j.snd.Config.Name)
		e.o.Metrics.delivered(j.e.Sequence, now.Sub(j.d.At))
		j.events = append(j.events, j.event(store.EventSent, now, j.msgID, ""))
		e.advance(j, store.SendSent, &now, c.ThreadSubject, c.ThreadRefs, now, &j.msgID)
		return
	}
	e.outcome(ctx, j, kind, err, now)
}

// outcome carries out DecideDelivery's verdict on a failed attempt of
// kind.
func (e *Engine) outcome(ctx context.Context, j *job, kind mailer.FailKind, err error, now time.Time) {
	attempts := 1
	if kind == mailer.Temporary {
		// Only a message's own temporary failure counts against its retry
		// budget; the store counted the attempt when it started.
		if s, err := e.o.Store.SendGet(ctx, j.e.ID, j.d.Step); err == nil {
			attempts = s.Attempts
		}
	}
	v := DecideDelivery(Failure{Kind: kind, Err: err}, attempts, e.o.Retry, now)
	e.o.Metrics.failed(v.Metric)
	switch v.Verdict {
	case Bounce:
		// The breaker first, counting this bounce: tripped, it holds the
		// sender before the commit that stores this outcome starts the
		// next step.
		e.checkBreaker(ctx, j.snd, now)
		e.finish(j, store.SendBounced, store.StateBounced, err.Error(), nil, now)
	case FailEnrollment:
		e.finish(j, store.SendFailed, store.StateFailed, err.Error(), nil, now)
	case Unknown:
		j.events = append(j.events, j.event(store.EventUnknown, now, j.msgID, err.Error()))
		e.advance(j, store.SendUnknown, &now, "", "", now, nil)
	case HoldSender:
		// The mailbox's problem, not the prospect's (R9): hold the
		// sender; the step waits, and its attempt is taken back.
		h := e.senderFailed(ctx, j.snd, v.HoldReason, err, now)
		s := e.settleOf(j, &store.SendUpdate{Step: j.d.Step, Status: store.SendRetry, Error: err.Error(), Uncount: true}, nil, store.StateActive)
		en := j.e
		en.LastStep = s.LastStep
		at := PlanFrom(en, j.seq.Config, Location(j.p, j.seq.Config), h.Until)
		s.NextSendAt = &at
		e.settleWait(j, s, Outcome{EnrollmentID: j.e.ID, Sequence: j.e.Sequence, Email: j.p.Email, Step: j.d.Step, Status: store.SendRetry, NextSendAt: &at, Err: err})
	case GiveUp:
		msg := fmt.Sprintf("gave up after %d attempts: %v", attempts, err)
		j.events = append(j.events, j.event(store.EventFailed, now, j.msgID, msg))
		j.skips = append(j.skips, store.SendUpdate{Step: j.d.Step, Status: store.SendFailed, Error: msg, FinishedAt: &now})
		e.advance(j, store.SendFailed, j.e.LastSentAt, "", "", now, nil)
	case RetryLater:
		e.retryAt(j, err, v.RetryAt)
	}
}

// retryAt plans another attempt of the step at next.
func (e *Engine) retryAt(j *job, cause error, next time.Time) {
	s := e.settleOf(j, &store.SendUpdate{Step: j.d.Step, Status: store.SendRetry, Error: cause.Error()}, &next, store.StateActive)
	e.settleWait(j, s, Outcome{EnrollmentID: j.e.ID, Sequence: j.e.Sequence, Email: j.p.Email, Step: j.d.Step, Status: store.SendRetry, NextSendAt: &next, Err: cause})
}

// finish ends the enrollment after a permanent outcome of its step.
func (e *Engine) finish(j *job, status store.SendStatus, state store.State, reason string, _ *time.Time, now time.Time) {
	kind := store.EventFailed
	if status == store.SendBounced {
		kind = store.EventBounce
	}
	j.events = append(j.events, j.event(kind, now, j.msgID, reason))
	s := e.settleOf(j, &store.SendUpdate{Step: j.d.Step, Status: status, Error: reason, FinishedAt: &now}, nil, state)
	s.LastStep = j.d.Step
	s.Reason = reason
	if status == store.SendBounced {
		s.Suppress, s.SuppressEvent = "bounce", store.EventBounce
	}
	e.settleWait(j, s, Outcome{EnrollmentID: j.e.ID, Sequence: j.e.Sequence, Email: j.p.Email, Step: j.d.Step, Status: status, State: state, Err: errors.New(reason)})
}

// advance records the step as handled with status and plans the next one.
func (e *Engine) advance(j *job, status store.SendStatus, lastSent *time.Time, threadSubject, threadRefs string, now time.Time, sentID *string) {
	en := j.e
	en.LastStep = j.d.Step
	en.LastSentAt = lastSent
	if threadRefs != "" {
		en.ThreadSubject, en.ThreadRefs = threadSubject, threadRefs
	}
	var up *store.SendUpdate
	if status == store.SendSent || status == store.SendUnknown {
		up = &store.SendUpdate{Step: j.d.Step, Status: status, FinishedAt: &now}
		if sentID != nil {
			up.MessageID = *sentID
		}
	}
	s := e.settleOf(j, up, nil, store.StateActive)
	s.LastStep, s.LastSentAt, s.ThreadSubject, s.ThreadRefs = en.LastStep, en.LastSentAt, en.ThreadSubject, en.ThreadRefs
	out := Outcome{EnrollmentID: en.ID, Sequence: en.Sequence, Email: j.p.Email, Step: j.d.Step, Status: status, State: store.StateActive}
	next := Decide(en, j.seq.Config, Location(j.p, j.seq.Config), now)
	switch next.Action {
	case Complete:
		s.State = store.StateCompleted
		s.Events = append(s.Events, j.event(store.EventCompleted, now, "", ""))
		s.Events[len(s.Events)-1].Step = 0
		out.State = store.StateCompleted
	case Wait, Send:
		s.NextSendAt = &next.At
		out.NextSendAt = &next.At
	}
	e.settleWait(j, s, out)
}

// settleOf is the settle of a job with the skips and events gathered so
// far, plus the step's own update.
func (e *Engine) settleOf(j *job, up *store.SendUpdate, next *time.Time, state store.State) store.Settle {
	lastStep := j.e.LastStep
	if len(j.d.Skip) > 0 {
		lastStep = max(lastStep, j.d.Skip[len(j.d.Skip)-1])
	}
	s := store.Settle{
		EnrollmentID: j.e.ID, Owner: e.o.Owner,
		Sends:    append([]store.SendUpdate(nil), j.skips...),
		Events:   append([]store.Event(nil), j.events...),
		LastStep: lastStep, LastSentAt: j.e.LastSentAt,
		ThreadSubject: j.e.ThreadSubject, ThreadRefs: j.e.ThreadRefs,
		NextSendAt: next, State: state,
	}
	if up != nil {
		s.Sends = append(s.Sends, *up)
	}
	return s
}

func (j *job) event(kind store.EventKind, at time.Time, msgID, detail string) store.Event {
	return stepEvent(j.e, j.d.Step, kind, msgID, detail, at)
}

// settleWait queues the settle of job j and waits until it is stored.
func (e *Engine) settleWait(j *job, s store.Settle, o Outcome) {
	done := make(chan struct{})
	e.settles <- settleReq{s: s, o: o, done: done, delivered: j.started}
	<-done
}
