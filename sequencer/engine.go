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
	"github.com/drip-email/drip/templates"
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
	// SettleAndStart is Settle then SendsStart in one transaction.
	SettleAndStart(ctx context.Context, settles []store.Settle, starts []store.SendStart) (settleErrs, startErrs []error, err error)
	SenderHoldSet(ctx context.Context, h store.SenderHold) error
	SenderHolds(ctx context.Context, now time.Time) ([]store.SenderHold, error)
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
// any row it did not create or flip from "retry". At most Workers started
// steps are unsettled at any moment: the committer starts a step only while
// fewer than Workers are, counting a worker's step until its outcome is
// stored, and a transaction that stores outcomes and starts the steps that
// take their places commits both at once. After a crash the "sending"
// rows, at most Workers, become "unknown" when their enrollment is claimed
// again.
//
// Three kinds of goroutine: the scheduler claims due work and decides what
// each enrollment needs, queueing the steps to send; the committer writes
// to the store in batches, each one transaction recording the outcomes
// that are ready and starting queued steps in the slots they free; the
// workers deliver started steps and wait for their outcome to be recorded.
type Engine struct {
	o       Options
	limiter *rate.Limiter
	log     *slog.Logger

	jobs    chan *job      // started steps, for the workers
	settles chan settleReq // outcomes to record
	kick    chan struct{}  // the committer has something to start, or to stop
	drained chan struct{}  // the committer took from the queue
	side    sync.WaitGroup // goroutines that settle a refused start

	mu        sync.Mutex
	queue     []*job                      // decided and leased, not started yet
	stopped   bool                        // no more starts: the engine is stopping
	holds     map[string]store.SenderHold // sender -> its hold (see holds.go)
	holdsRead time.Time                   // wall time holds were last read from the store
	failing   map[string]int              // sender -> unreachable failures in a row
	inFlight  map[int64]bool              // enrollments this instance is starting or delivering
	wake      chan struct{}
}

// job is one step about to be delivered.
type job struct {
	started bool // SendsStart let it through: its row is "sending"
	e       store.Enrollment
	p       store.Prospect
	seq     *Sequence
	snd     *Sender
	d       Decision
	skips   []store.SendUpdate
	events  []store.Event
	msgID   string
}

type settleReq struct {
	s         store.Settle
	o         Outcome
	done      chan struct{} // closed once stored; nil = nobody waits
	delivered bool          // the outcome of a started step: storing it frees a slot
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
		jobs:     make(chan *job, o.Workers), // never full: it holds started steps only
		settles:  make(chan settleReq, 4*o.Workers),
		kick:     make(chan struct{}, 1),
		drained:  make(chan struct{}, 1),
		holds:    map[string]store.SenderHold{},
		failing:  map[string]int{},
		inFlight: map[int64]bool{},
		wake:     make(chan struct{}, 1),
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
	commitCtx, stopCommitter := context.WithCancel(context.WithoutCancel(ctx))
	committerDone := make(chan struct{})
	go func() { e.committer(commitCtx, workCtx); close(committerDone) }()

	var workers sync.WaitGroup
	for range e.o.Workers {
		workers.Add(1)
		go func() { defer workers.Done(); e.worker(workCtx) }()
	}

	e.schedule(ctx, workCtx)

	// Stop: no more starts (the committer then closes jobs); wait for the
	// steps in flight.
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
	e.poke(e.kick)
	finished := make(chan struct{})
	go func() { workers.Wait(); e.side.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(e.o.ShutdownGrace):
		e.log.Warn("shutdown grace over; cancelling in-flight sends (they will show as unknown)")
		cancelWork()
		<-finished
	}
	stopCommitter()
	<-committerDone
	return nil
}

// poke signals c without waiting (c has room for one signal).
func (e *Engine) poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// schedule is the claim loop: it keeps the queue of decided steps at
// least Workers long while there is due work, and wakes the committer.
func (e *Engine) schedule(ctx, workCtx context.Context) {
	defer func() {
		e.mu.Lock()
		left := e.queue
		e.queue = nil
		e.mu.Unlock()
		e.release(workCtx, left)
	}()
	for ctx.Err() == nil {
		if e.queued() >= e.o.Workers {
			select {
			case <-ctx.Done():
			case <-e.drained:
			}
			continue
		}
		jobs, more, err := e.claim(ctx, workCtx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("claiming due work", "err", err)
		}
		if len(jobs) > 0 {
			e.mu.Lock()
			e.queue = append(e.queue, jobs...)
			e.mu.Unlock()
			e.poke(e.kick)
		} else if !more {
			select {
			case <-ctx.Done():
			case <-e.wake:
			case <-time.After(e.o.Poll):
			}
		}
	}
}

// queued is how many decided steps wait to be started.
func (e *Engine) queued() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.queue)
}

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
		Limit: min(e.o.Batch, 4*e.o.Workers), Sequences: names}
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
		j, ok := e.decide(workCtx, en, prospects, now, &settled)
		if ok {
			jobs = append(jobs, j)
		}
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
// settled, which the claim stores.
func (e *Engine) decide(ctx context.Context, en store.Enrollment, prospects map[int64]store.Prospect, now time.Time, settled *[]settleReq) (*job, bool) {
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
	d := Decide(en, seq.Config, Location(p, seq.Config), now)
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
	if h, held := e.heldNow(en.Sender, now); held {
		// R9: planned at the first window instant after the hold, where
		// R3 is judged again; nothing skipped for the wait.
		at := PlanFrom(en, seq.Config, Location(p, seq.Config), h.Until)
		base.NextSendAt = &at
		out.NextSendAt = &at
		*settled = append(*settled, settleReq{s: base, o: out})
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

// startsOf is the SendStart of each job.
func (e *Engine) startsOf(batch []*job, now time.Time) []store.SendStart {
	starts := make([]store.SendStart, len(batch))
	for i, j := range batch {
		starts[i] = store.SendStart{
			EnrollmentID: j.e.ID, Owner: e.o.Owner, Step: j.d.Step, Sender: j.snd.Config.Name,
			MessageID: j.msgID, PlannedAt: j.d.At, StartedAt: now,
			Day: now.In(j.snd.Location).Format(time.DateOnly), DailyLimit: j.snd.Config.DailyLimit,
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

// maxBatch bounds the outcomes one transaction stores.
const maxBatch = 256

// committer writes to the store: each round, one transaction stores the
// outcomes that are ready and starts queued steps in the places they free,
// so that a busy engine commits many outcomes and starts at once, and
// while it commits the next round gathers. free counts the slots that hold
// no started step: a round starts at most free steps plus one per
// delivered outcome it stores, and the outcome and the start commit
// together, so that at no commit are more than Workers steps started and
// not settled. Once the engine stops no more steps start and jobs is
// closed; the committer goes on storing outcomes until ctx ends.
func (e *Engine) committer(ctx, workCtx context.Context) {
	free := e.o.Workers
	awaited := 0          // started steps whose outcome no round has taken yet
	var carry []settleReq // settles of refused starts, for the next round
	closed := false
	for {
		stopped := e.isStopped()
		if stopped && !closed {
			close(e.jobs)
			closed = true
		}
		batch := carry
		carry = nil
		if len(batch) == 0 && (stopped || free == 0 || e.queued() == 0) {
			select {
			case r := <-e.settles:
				batch = append(batch, r)
			case <-e.kick:
				continue
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
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-e.settles:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		batch = e.linger(batch, awaited)
		freed := 0
		for _, r := range batch {
			if r.delivered {
				freed++
			}
		}
		awaited -= freed
		var starts []*job
		if !e.isStopped() {
			starts = e.take(free + freed)
		}
		ok, follow := e.commit(ctx, workCtx, batch, starts)
		e.notStarted(starts, ok)
		carry = follow
		free += freed - len(ok)
		awaited += len(ok)
		for _, j := range ok {
			e.jobs <- j
		}
	}
}

// lingerFor bounds how long a round that stores delivered outcomes waits
// for the outcomes of the other steps in flight (group commit). Each
// transaction costs about the same whatever its size (a sync of the log,
// round trips), so when deliveries are quicker than commits (a nearby
// SMTP server), one round of all the workers' outcomes and their next
// starts beats two rounds of half of them; when they are slow, outcomes
// pile up during a commit anyway and nothing waits.
const lingerFor = 2 * time.Millisecond

// linger adds to a batch that holds a delivered outcome the outcomes of
// the other awaited started steps, as they arrive, for at most lingerFor.
func (e *Engine) linger(batch []settleReq, awaited int) []settleReq {
	have := 0
	for _, r := range batch {
		if r.delivered {
			have++
		}
	}
	if have == 0 || have >= awaited {
		return batch
	}
	t := time.NewTimer(lingerFor)
	defer t.Stop()
	for have < awaited && len(batch) < maxBatch {
		select {
		case r := <-e.settles:
			batch = append(batch, r)
			if r.delivered {
				have++
			}
		case <-t.C:
			return batch
		}
	}
	return batch
}

func (e *Engine) isStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopped
}

// take removes up to n steps from the front of the queue.
func (e *Engine) take(n int) []*job {
	e.mu.Lock()
	n = min(n, len(e.queue))
	jobs := append([]*job(nil), e.queue[:n]...)
	e.queue = e.queue[n:]
	for _, j := range jobs {
		e.inFlight[j.e.ID] = true // until it is started and delivered, or given back
	}
	short := len(e.queue) < e.o.Workers
	e.mu.Unlock()
	if n > 0 && short {
		e.poke(e.drained)
	}
	return jobs
}

// commit stores batch and starts starts, in one transaction when the
// store can, and returns the steps that may be delivered and the settles
// their refusals call for. Outcomes are retried until stored (see store);
// a batch of starts that failed is given up and its leases released.
func (e *Engine) commit(ctx, workCtx context.Context, batch []settleReq, starts []*job) (ok []*job, follow []settleReq) {
	if len(starts) == 0 {
		e.store(ctx, batch)
		return nil, nil
	}
	now := e.o.Clock.Now()
	starts, follow = e.redecide(starts, now)
	if len(starts) == 0 {
		e.store(ctx, batch)
		return nil, follow
	}
	ss := e.startsOf(starts, now)
	settleErrs, errs, err := e.o.Store.SettleAndStart(workCtx, settlesOf(batch), ss)
	if err == nil {
		e.stored(batch, settleErrs)
	} else {
		if len(batch) > 0 {
			e.log.Error("recording outcomes and starting sends; retrying the outcomes alone", "err", err)
		}
		e.store(ctx, batch)
		e.log.Error("starting sends", "err", err)
		e.releaseIDs(workCtx, enrollmentsOf(starts))
		return nil, follow
	}
	ok, more := e.started(workCtx, starts, errs, now)
	return ok, append(follow, more...)
}

// notStarted forgets the jobs of starts that are not in ok: taken from
// the queue, they were given back instead of delivered.
func (e *Engine) notStarted(starts, ok []*job) {
	went := make(map[*job]bool, len(ok))
	for _, j := range ok {
		went[j] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, j := range starts {
		if !went[j] {
			delete(e.inFlight, j.e.ID)
		}
	}
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
		d := Decide(j.e, j.seq.Config, loc, now)
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

func settlesOf(batch []settleReq) []store.Settle {
	ss := make([]store.Settle, len(batch))
	for i, r := range batch {
		ss[i] = r.s
	}
	return ss
}

// stored reports a stored batch: errors, OnSettled, and the waiters.
func (e *Engine) stored(batch []settleReq, errs []error) {
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
}

// store writes one batch of settles, retrying store errors: an outcome
// that happened must be recorded.
func (e *Engine) store(ctx context.Context, batch []settleReq) {
	if len(batch) == 0 {
		return
	}
	ss := settlesOf(batch)
	for attempt := 0; ; attempt++ {
		errs, err := e.o.Store.Settle(context.WithoutCancel(ctx), ss)
		if err == nil {
			e.stored(batch, errs)
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

// nextDay is the start of the day after now in loc.
func nextDay(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

func ptr[T any](v T) *T { return &v }
