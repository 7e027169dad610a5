package sequencer

// The engine runs three jobs, one file each: claim.go claims due enrollments
// and decides what each needs, deliver.go sends one step and turns what the
// wire reported into an outcome, commit.go stores the outcomes in batches.
// This file holds what they share: the store they need, options, the run loop.

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

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
	// SettleAndStart is Settle then SendsStart in one transaction.
	SettleAndStart(ctx context.Context, settles []store.Settle, starts []store.SendStart) (settleErrs, startErrs []error, err error)
	SenderHoldSet(ctx context.Context, h store.SenderHold) error
	SenderHolds(ctx context.Context, now time.Time) ([]store.SenderHold, error)
	SenderPaces(ctx context.Context) ([]store.SenderPace, error)
	SenderBounces(ctx context.Context, sender string, window int) (store.BounceCount, error)
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
	paces     map[string]store.SenderPace // paced sender -> its turn (see pace.go)
	inHand    map[string]bool             // paced sender -> a step of it decided, not started
	anyPaced  bool                        // some sender has a pace
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
	gap     time.Duration // the pace's gap drawn for its start (0: not paced)
	since   time.Time     // a paced sender's run, as the claim found it (decideFor)
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
		paces:    map[string]store.SenderPace{},
		inHand:   map[string]bool{},
		inFlight: map[int64]bool{},
		wake:     make(chan struct{}, 1),
	}
	if o.RateLimit > 0 {
		e.limiter = rate.NewLimiter(rate.Limit(o.RateLimit), 1)
	}
	for name := range o.Sequences {
		o.Metrics.SequenceSeen(name)
	}
	for _, s := range o.Senders {
		e.anyPaced = e.anyPaced || s.Config.Pace != nil
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
			case <-time.After(e.untilNextLook()):
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

// maxBatch bounds the outcomes one transaction stores.
const maxBatch = 256

// lingerFor bounds how long a round that stores delivered outcomes waits
// for the outcomes of the other steps in flight (group commit). Each
// transaction costs about the same whatever its size (a sync of the log,
// round trips), so when deliveries are quicker than commits (a nearby
// SMTP server), one round of all the workers' outcomes and their next
// starts beats two rounds of half of them; when they are slow, outcomes
// pile up during a commit anyway and nothing waits.
const lingerFor = 2 * time.Millisecond

func (e *Engine) isStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopped
}

// nextDay is the start of the day after now in loc.
func nextDay(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

func ptr[T any](v T) *T { return &v }
