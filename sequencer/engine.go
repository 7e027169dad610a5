package sequencer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/store"
)

// Store is what the engine needs of the store.
type Store interface {
	EnrollmentClaimDue(ctx context.Context, p store.ClaimParams) ([]store.Enrollment, error)
	EnrollmentRelease(ctx context.Context, owner string, ids []int64) error
	ProspectsByIDs(ctx context.Context, ids []int64) (map[int64]store.Prospect, error)
	SendsStart(ctx context.Context, starts []store.SendStart) ([]error, error)
	SendGet(ctx context.Context, enrollmentID int64, step int) (store.Send, error)
	SendsByEnrollment(ctx context.Context, enrollmentID int64) ([]store.Send, error)
	Settle(ctx context.Context, s []store.Settle) ([]error, error)
}

// Transport delivers one raw message; *mailer.Pool is the real one. Its
// errors are classified with mailer.Classify.
type Transport interface {
	Send(ctx context.Context, from, to string, msg []byte) error
}

// RetryPolicy bounds retries of temporary failures.
type RetryPolicy struct {
	Max      int           // attempts of one step before it is failed
	Base     time.Duration // first delay; doubled each attempt, with jitter
	MaxDelay time.Duration // cap of one delay
}

// delay before attempt n+1 after n failed attempts: exponential with
// "equal jitter", so retries of many prospects do not arrive together.
func (r RetryPolicy) delay(n int) time.Duration {
	d := r.Base
	for i := 1; i < n && d < r.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, r.MaxDelay)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// Options configure an Engine. Zero values get the defaults noted.
type Options struct {
	Store     Store
	Clock     Clock // default SystemClock
	Sequences map[string]*Sequence
	Senders   map[string]*Sender
	Owner     string        // this instance's lease owner name
	Workers   int           // concurrent deliveries (default 8)
	Batch     int           // enrollments claimed at once (default 100)
	Lease     time.Duration // claim lease (default 5m)
	Poll      time.Duration // longest sleep between looks for due work (default 1s)
	RateLimit float64       // messages/s over all senders; 0 = none
	Retry     RetryPolicy   // default 8 attempts, 1m base, 1h cap
	// ShutdownGrace bounds how long Run waits for in-flight sends after its
	// context ends (default 1m); then they are cancelled (and end unknown).
	ShutdownGrace time.Duration
	// UnsubscribeURL makes the link for a prospect.
	UnsubscribeURL func(prospectID int64) string
	Metrics        *Metrics
	Log            *slog.Logger
	// OnSettled, if set, is called after each settled outcome (tests, demo).
	OnSettled func(Outcome)
}

// Outcome is what happened to one claimed enrollment, as the engine
// reports it to OnSettled.
type Outcome struct {
	EnrollmentID int64
	Sequence     string
	Email        string
	Step         int
	Status       store.SendStatus // "" when nothing was attempted
	State        store.State      // the enrollment state written
	NextSendAt   *time.Time
	Err          error
}

// Engine claims due enrollments, decides with the schedule rules, and
// delivers through a pool of workers, recording every step before and
// after its SMTP transaction so that no step is delivered twice (R8).
//
// The at-most-once argument: a step is delivered only after SendsStart
// wrote its row as "sending" while this instance held the enrollment's
// lease; the row's (enrollment, step) key is unique and SendsStart refuses
// any row it did not create or flip from "retry". A worker holds its slot
// until its outcome is settled, so at most Workers rows are "sending" at
// any moment; after a crash those, and only those, become "unknown" when
// their enrollment is claimed again.
type Engine struct {
	o       Options
	limiter *rate.Limiter
	log     *slog.Logger

	slots   chan struct{} // one token per worker not holding a job
	jobs    chan *job
	settles chan settleReq

	mu       sync.Mutex
	holds    map[string]time.Time // sender -> no sends before (auth failure, daily cap)
	inFlight map[int64]bool       // enrollments this instance is delivering
	wake     chan struct{}
}

// job is one step about to be delivered.
type job struct {
	e      store.Enrollment
	p      store.Prospect
	seq    *Sequence
	snd    *Sender
	d      Decision
	skips  []store.SendUpdate
	events []store.Event
	msgID  string
}

type settleReq struct {
	s    store.Settle
	o    Outcome
	done chan struct{} // closed once stored; nil = nobody waits
}

// New returns an engine; Run starts it.
func New(o Options) (*Engine, error) {
	if o.Store == nil || len(o.Senders) == 0 || o.UnsubscribeURL == nil || o.Owner == "" {
		return nil, errors.New("engine: store, senders, owner and unsubscribe links are required")
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	o.Workers = cmp(o.Workers, 8)
	o.Batch = cmp(o.Batch, 100)
	o.Lease = cmp(o.Lease, 5*time.Minute)
	o.Poll = cmp(o.Poll, time.Second)
	o.ShutdownGrace = cmp(o.ShutdownGrace, time.Minute)
	o.Retry.Max = cmp(o.Retry.Max, 8)
	o.Retry.Base = cmp(o.Retry.Base, time.Minute)
	o.Retry.MaxDelay = cmp(o.Retry.MaxDelay, time.Hour)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		o:        o,
		log:      o.Log,
		slots:    make(chan struct{}, o.Workers),
		jobs:     make(chan *job, o.Workers),
		settles:  make(chan settleReq, 4*o.Workers),
		holds:    map[string]time.Time{},
		inFlight: map[int64]bool{},
		wake:     make(chan struct{}, 1),
	}
	for range o.Workers {
		e.slots <- struct{}{}
	}
	if o.RateLimit > 0 {
		e.limiter = rate.NewLimiter(rate.Limit(o.RateLimit), 1)
	}
	for name := range o.Sequences {
		o.Metrics.SequenceSeen(name)
	}
	return e, nil
}

func cmp[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Wake makes the engine look for due work now (after an enrollment).
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends, then stops claiming, lets in-flight sends
// finish (up to ShutdownGrace), records them, releases its leases and
// returns nil. Errors of the store are logged and retried, not returned.
func (e *Engine) Run(ctx context.Context) error {
	// Deliveries and records outlive ctx: a send that began must finish and
	// be recorded. They end only when the grace period is over.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	settleCtx, stopSettler := context.WithCancel(context.WithoutCancel(ctx))
	settlerDone := make(chan struct{})
	go func() { e.settler(settleCtx); close(settlerDone) }()

	var workers sync.WaitGroup
	for range e.o.Workers {
		workers.Add(1)
		go func() { defer workers.Done(); e.worker(workCtx) }()
	}

	e.schedule(ctx, workCtx)

	// Stop: no more jobs; wait for the ones in flight.
	close(e.jobs)
	finished := make(chan struct{})
	go func() { workers.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(e.o.ShutdownGrace):
		e.log.Warn("shutdown grace over; cancelling in-flight sends (they will show as unknown)")
		cancelWork()
		<-finished
	}
	stopSettler()
	<-settlerDone
	return nil
}

// schedule is the claim loop: claim, decide, start and hand out jobs.
func (e *Engine) schedule(ctx, workCtx context.Context) {
	var pending []*job
	defer func() { e.release(workCtx, pending) }()
	for ctx.Err() == nil {
		if len(pending) == 0 {
			var err error
			pending, err = e.claim(ctx, workCtx)
			if err != nil && ctx.Err() == nil {
				e.log.Error("claiming due work", "err", err)
			}
			if len(pending) == 0 {
				select {
				case <-ctx.Done():
				case <-e.wake:
				case <-time.After(e.o.Poll):
				}
				continue
			}
		}
		// Start as many jobs as there are free workers, at least one.
		var n int
		select {
		case <-ctx.Done():
			return
		case <-e.slots:
			n = 1
		}
		for n < len(pending) {
			select {
			case <-e.slots:
				n++
				continue
			default:
			}
			break
		}
		batch := pending[:n]
		pending = pending[n:]
		started := e.start(workCtx, batch)
		for range n - len(started) {
			e.slots <- struct{}{}
		}
		for _, j := range started {
			e.jobs <- j
		}
	}
}

// claim leases due enrollments and decides what to do with each; it
// settles the ones that need no delivery and returns the ones to send.
func (e *Engine) claim(ctx, workCtx context.Context) ([]*job, error) {
	now := e.o.Clock.Now()
	names := make([]string, 0, len(e.o.Sequences))
	for n := range e.o.Sequences {
		names = append(names, n)
	}
	claimed, err := e.o.Store.EnrollmentClaimDue(ctx, store.ClaimParams{
		Owner: e.o.Owner, Now: now, LeaseUntil: now.Add(e.o.Lease),
		Limit: min(e.o.Batch, 4*e.o.Workers), Sequences: names,
	})
	if err != nil || len(claimed) == 0 {
		return nil, err
	}
	ids := make([]int64, len(claimed))
	for i, en := range claimed {
		ids[i] = en.ProspectID
	}
	prospects, err := e.o.Store.ProspectsByIDs(workCtx, ids)
	if err != nil {
		e.releaseIDs(workCtx, claimed)
		return nil, fmt.Errorf("loading prospects: %w", err)
	}
	var jobs []*job
	for _, en := range claimed {
		if e.delivering(en.ID) {
			// Our own delivery outlived its lease (a very slow server):
			// it is still ours; its settle will plan what comes next.
			continue
		}
		j, ok := e.decide(workCtx, en, prospects, now)
		if ok {
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// decide applies the rules to one claimed enrollment. It returns a job
// when a step is to be sent now; everything else is settled here.
func (e *Engine) decide(ctx context.Context, en store.Enrollment, prospects map[int64]store.Prospect, now time.Time) (*job, bool) {
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
		e.settleAsync(base, out)
		return nil, false
	}
	d := Decide(en, seq.Config, Location(p, seq.Config), now)
	switch d.Action {
	case Complete:
		base.State = store.StateCompleted
		base.Events = []store.Event{{ProspectID: en.ProspectID, EnrollmentID: en.ID, Sequence: en.Sequence, Kind: store.EventCompleted, At: now}}
		out.State = store.StateCompleted
		e.settleAsync(base, out)
		return nil, false
	case Wait:
		base.NextSendAt = &d.At
		out.NextSendAt = &d.At
		e.settleAsync(base, out)
		return nil, false
	case Idle:
		e.releaseIDs(ctx, []store.Enrollment{en})
		return nil, false
	}
	if until, held := e.held(en.Sender, now); held {
		base.NextSendAt = &until
		out.NextSendAt = &until
		e.settleAsync(base, out)
		return nil, false
	}
	j := &job{e: en, p: p, seq: seq, snd: snd, d: d, msgID: mailer.NewMessageID(snd.domain())}
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

// start gates a batch through SendsStart; it returns the jobs that may be
// delivered and settles the others.
func (e *Engine) start(ctx context.Context, batch []*job) []*job {
	now := e.o.Clock.Now()
	starts := make([]store.SendStart, len(batch))
	for i, j := range batch {
		starts[i] = store.SendStart{
			EnrollmentID: j.e.ID, Owner: e.o.Owner, Step: j.d.Step, Sender: j.snd.Config.Name,
			MessageID: j.msgID, PlannedAt: j.d.At, StartedAt: now,
			Day: now.In(j.snd.Location).Format(time.DateOnly), DailyLimit: j.snd.Config.DailyLimit,
		}
	}
	errs, err := e.o.Store.SendsStart(ctx, starts)
	if err != nil {
		e.log.Error("starting sends", "err", err)
		e.releaseIDs(ctx, enrollmentsOf(batch))
		return nil
	}
	var ok []*job
	for i, j := range batch {
		switch {
		case errs[i] == nil:
			e.mu.Lock()
			e.inFlight[j.e.ID] = true
			e.mu.Unlock()
			ok = append(ok, j)
		case errors.Is(errs[i], store.ErrLeaseLost):
			// Paused, stopped or taken over meanwhile: nothing to do.
		case errors.Is(errs[i], store.ErrDailyLimit):
			next := nextDay(now, j.snd.Location)
			e.hold(j.snd.Config.Name, next)
			e.log.Info("daily limit reached; sends wait for the next day", "sender", j.snd.Config.Name, "until", next)
			e.settleAsync(e.settleOf(j, nil, &next, store.StateActive), Outcome{})
		case errors.Is(errs[i], store.ErrSuppressed):
			s := e.settleOf(j, nil, nil, store.StateUnsubscribed)
			s.Reason = "address is suppressed"
			e.settleAsync(s, Outcome{EnrollmentID: j.e.ID, Email: j.p.Email, State: store.StateUnsubscribed})
		case errors.Is(errs[i], store.ErrConflict):
			e.conflict(ctx, j, now)
		default:
			e.log.Error("starting send", "enrollment", j.e.ID, "err", errs[i])
			e.releaseIDs(ctx, []store.Enrollment{j.e})
		}
	}
	return ok
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

// worker delivers jobs until the channel closes.
func (e *Engine) worker(ctx context.Context) {
	for j := range e.jobs {
		e.o.Metrics.workerBusy(1)
		e.deliver(ctx, j)
		e.mu.Lock()
		delete(e.inFlight, j.e.ID)
		e.mu.Unlock()
		e.o.Metrics.workerBusy(-1)
		e.slots <- struct{}{}
	}
}

// deliver renders, sends and records one step; it returns once the
// outcome is stored, so that a slot never covers more than one "sending" row.
func (e *Engine) deliver(ctx context.Context, j *job) {
	now := e.o.Clock.Now()
	c, err := Compose(j.seq, j.snd, j.p, j.e, j.d.Step, j.msgID, e.o.UnsubscribeURL(j.p.ID), now)
	var raw []byte
	if err == nil {
		raw, err = mailer.Build(c.Message)
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
			e.retry(ctx, j, err, now)
			return
		}
	}
	t0 := time.Now()
	err = j.snd.Transport.Send(ctx, j.snd.FromEmail, j.p.Email, raw)
	e.o.Metrics.attempt(time.Since(t0))
	now = e.o.Clock.Now()
	switch mailer.Classify(err) {
	case 0:
		e.o.Metrics.delivered(j.e.Sequence, now.Sub(j.d.At))
		j.events = append(j.events, j.event(store.EventSent, now, j.msgID, ""))
		e.advance(j, store.SendSent, &now, c.ThreadSubject, c.ThreadRefs, now, &j.msgID)
	case mailer.RecipientRejected:
		e.o.Metrics.failed(FailurePermanent)
		e.finish(j, store.SendBounced, store.StateBounced, err.Error(), nil, now)
	case mailer.Permanent:
		e.o.Metrics.failed(FailurePermanent)
		e.finish(j, store.SendFailed, store.StateFailed, err.Error(), nil, now)
	case mailer.Ambiguous:
		e.o.Metrics.failed(FailureUnknown)
		j.events = append(j.events, j.event(store.EventUnknown, now, j.msgID, err.Error()))
		e.advance(j, store.SendUnknown, &now, "", "", now, nil)
	case mailer.SenderFault:
		e.o.Metrics.failed(FailureSender)
		until := now.Add(e.o.Retry.MaxDelay)
		e.hold(j.snd.Config.Name, until)
		e.log.Error("sender refused by its SMTP server; its sends wait", "sender", j.snd.Config.Name, "until", until, "err", err)
		s := e.settleOf(j, &store.SendUpdate{Step: j.d.Step, Status: store.SendRetry, Error: err.Error()}, &until, store.StateActive)
		e.settleWait(s, Outcome{EnrollmentID: j.e.ID, Sequence: j.e.Sequence, Email: j.p.Email, Step: j.d.Step, Status: store.SendRetry, NextSendAt: &until, Err: err})
	default:
		e.retry(ctx, j, err, now)
	}
}

// retry handles a temporary failure: try again after a backoff, or fail
// the step (not the enrollment) once the attempts are used up.
func (e *Engine) retry(ctx context.Context, j *job, cause error, now time.Time) {
	e.o.Metrics.failed(FailureTransient)
	attempts := 1
	if s, err := e.o.Store.SendGet(ctx, j.e.ID, j.d.Step); err == nil {
		attempts = s.Attempts
	}
	if attempts >= e.o.Retry.Max {
		msg := fmt.Sprintf("gave up after %d attempts: %v", attempts, cause)
		j.events = append(j.events, j.event(store.EventFailed, now, j.msgID, msg))
		j.skips = append(j.skips, store.SendUpdate{Step: j.d.Step, Status: store.SendFailed, Error: msg, FinishedAt: &now})
		e.advance(j, store.SendFailed, j.e.LastSentAt, "", "", now, nil)
		return
	}
	next := now.Add(e.o.Retry.delay(attempts))
	s := e.settleOf(j, &store.SendUpdate{Step: j.d.Step, Status: store.SendRetry, Error: cause.Error()}, &next, store.StateActive)
	e.settleWait(s, Outcome{EnrollmentID: j.e.ID, Sequence: j.e.Sequence, Email: j.p.Email, Step: j.d.Step, Status: store.SendRetry, NextSendAt: &next, Err: cause})
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
		s.Suppress = "bounce"
	}
	e.settleWait(s, Outcome{EnrollmentID: j.e.ID, Sequence: j.e.Sequence, Email: j.p.Email, Step: j.d.Step, Status: status, State: state, Err: errors.New(reason)})
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
	e.settleWait(s, out)
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
	return store.Event{ProspectID: j.e.ProspectID, EnrollmentID: j.e.ID, Sequence: j.e.Sequence,
		Step: j.d.Step, Kind: kind, MessageID: msgID, Detail: detail, At: at}
}

// settleAsync queues a settle nobody waits for (decisions without a send).
func (e *Engine) settleAsync(s store.Settle, o Outcome) {
	e.settles <- settleReq{s: s, o: o}
}

// settleWait queues a settle and waits until it is stored.
func (e *Engine) settleWait(s store.Settle, o Outcome) {
	done := make(chan struct{})
	e.settles <- settleReq{s: s, o: o, done: done}
	<-done
}

// settler stores settles in batches: while one batch is being written the
// next one gathers, so a busy engine commits many outcomes at once.
func (e *Engine) settler(ctx context.Context) {
	for {
		var batch []settleReq
		select {
		case r := <-e.settles:
			batch = append(batch, r)
		case <-ctx.Done():
			// Drain what is left, then stop.
			for {
				select {
				case r := <-e.settles:
					e.store(context.WithoutCancel(ctx), []settleReq{r})
				default:
					return
				}
			}
		}
	gather:
		for len(batch) < 256 {
			select {
			case r := <-e.settles:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		e.store(ctx, batch)
	}
}

// store writes one batch of settles, retrying store errors: an outcome
// that happened must be recorded.
func (e *Engine) store(ctx context.Context, batch []settleReq) {
	ss := make([]store.Settle, len(batch))
	for i, r := range batch {
		ss[i] = r.s
	}
	for attempt := 0; ; attempt++ {
		errs, err := e.o.Store.Settle(context.WithoutCancel(ctx), ss)
		if err == nil {
			for i, r := range batch {
				if errs[i] != nil && !errors.Is(errs[i], store.ErrLeaseLost) {
					e.log.Error("recording outcome", "enrollment", r.s.EnrollmentID, "err", errs[i])
				}
				if e.o.OnSettled != nil && r.o.EnrollmentID != 0 {
					e.o.OnSettled(r.o)
				}
				if r.done != nil {
					close(r.done)
				}
			}
			return
		}
		e.log.Error("recording outcomes; retrying", "err", err, "attempt", attempt+1)
		select {
		case <-time.After(min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second)):
		case <-ctx.Done():
			if attempt > 20 {
				for _, r := range batch {
					if r.done != nil {
						close(r.done)
					}
				}
				return
			}
		}
	}
}

// release gives back the leases of jobs that were claimed but not started.
func (e *Engine) release(ctx context.Context, jobs []*job) {
	if len(jobs) > 0 {
		e.releaseIDs(ctx, enrollmentsOf(jobs))
	}
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

// hold stops sends from a sender until t (daily cap, refused login).
func (e *Engine) hold(sender string, t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.After(e.holds[sender]) {
		e.holds[sender] = t
	}
}

func (e *Engine) delivering(id int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inFlight[id]
}

func (e *Engine) held(sender string, now time.Time) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.holds[sender]
	return t, ok && now.Before(t)
}

// nextDay is the start of the day after now in loc.
func nextDay(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

func ptr[T any](v T) *T { return &v }
