package sequencer

// Commit outcomes: the committer stores the settles of finished steps in
// batches, together with the starts of the next claims, and tells each worker
// when its outcome is safe.

import (
	"context"
	"errors"
	"time"

	"github.com/drip-email/drip/store"
)

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
	defer e.handOver(starts)
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

// handOver ends what this instance held in hand of the paced senders of
// starts: started, refused or given back, their next steps may be
// claimed (the store's turn, not this instance, paces them now).
func (e *Engine) handOver(starts []*job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, j := range starts {
		if j.snd.Config.Pace != nil {
			delete(e.inHand, j.snd.Config.Name)
		}
	}
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
