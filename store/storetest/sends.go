package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

func start(e store.Enrollment, owner string, step int, at time.Time) store.SendStart {
	return store.SendStart{EnrollmentID: e.ID, Owner: owner, Step: step, Sender: "rep1",
		MessageID: fmt.Sprintf("<%d.%d@drip.test>", e.ID, step), PlannedAt: t0, StartedAt: at, Day: "2026-11-20"}
}

func testSendsStartGate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	ok := enrolled(t, s, "ok@example.com", "fair", ptr(t0))
	sup := enrolled(t, s, "suppressed@example.com", "fair", ptr(t0))
	taken := enrolled(t, s, "taken@example.com", "fair", ptr(t0))
	claimed := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 10}))(t)
	if len(claimed) != 3 {
		t.Fatalf("claimed %d, want 3", len(claimed))
	}
	// Suppressed after the claim, without ending the enrollment: the gate
	// still refuses.
	noErr(t, s.SuppressionAdd(ctx, "Suppressed@Example.com", "complaint", "", "", t0))
	at := t0.Add(time.Second)
	errs := must(s.SendsStart(ctx, []store.SendStart{start(taken, "A", 1, at)}))(t)
	noErr(t, errs[0])

	// One batch with every kind of refusal: none of them stops the others.
	batch := []store.SendStart{
		start(sup, "A", 1, at),
		start(ok, "A", 1, at),
		start(taken, "A", 1, at), // already sending
		start(ok, "B", 2, at),    // B holds no lease
		{EnrollmentID: 999999, Owner: "A", Step: 1, StartedAt: at},
	}
	errs = must(s.SendsStart(ctx, batch))(t)
	wantErr(t, errs[0], store.ErrSuppressed)
	noErr(t, errs[1])
	wantErr(t, errs[2], store.ErrConflict)
	wantErr(t, errs[3], store.ErrLeaseLost)
	wantErr(t, errs[4], store.ErrLeaseLost)

	send := must(s.SendGet(ctx, ok.ID, 1))(t)
	if send.Status != store.SendSending || send.Attempts != 1 || send.MessageID != batch[1].MessageID || send.Sender != "rep1" {
		t.Fatalf("started send = %+v", send)
	}
	sameTime(t, "StartedAt", send.StartedAt, &at)
	sameTime(t, "PlannedAt", send.PlannedAt, &t0)
	if _, err := s.SendGet(ctx, sup.ID, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused start left a send row: %v", err)
	}
	// Only the starts that went through used the daily cap.
	if n := must(s.SenderDailyUsed(ctx, "rep1", "2026-11-20"))(t); n != 2 {
		t.Fatalf("SenderDailyUsed = %d, want 2", n)
	}
	if n := must(s.SenderDailyUsed(ctx, "rep1", "2026-11-21"))(t); n != 0 {
		t.Fatalf("SenderDailyUsed of another day = %d, want 0", n)
	}

	// Once the lease has run out, even its holder may not start: another
	// instance may have claimed the enrollment meanwhile.
	errs = must(s.SendsStart(ctx, []store.SendStart{start(ok, "A", 2, t0.Add(time.Minute))}))(t)
	wantErr(t, errs[0], store.ErrLeaseLost)
	byB := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "B", Now: t0.Add(2 * time.Minute), LeaseUntil: t0.Add(time.Hour), Limit: 10}))(t)
	if len(byB) != 3 {
		t.Fatalf("B claimed %d expired leases, want 3", len(byB))
	}
	errs = must(s.SendsStart(ctx, []store.SendStart{start(ok, "A", 2, t0.Add(90*time.Second))}))(t)
	wantErr(t, errs[0], store.ErrLeaseLost)
	errs = must(s.SendsStart(ctx, []store.SendStart{start(ok, "B", 2, t0.Add(2*time.Minute))}))(t)
	noErr(t, errs[0])

	// A paused enrollment is not active: its lease is no licence to send.
	half := t0.Add(30 * time.Minute)
	p := enrolled(t, s, "paused@example.com", "fair", &half)
	claimOne(t, s, "C", half, time.Hour)
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: p.ID, From: []store.State{store.StateActive}, To: store.StatePaused, At: half}))(t)
	errs = must(s.SendsStart(ctx, []store.SendStart{start(p, "C", 1, half)}))(t)
	wantErr(t, errs[0], store.ErrLeaseLost)
}

func testSendsStartRetry(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "retry@example.com", "fair", ptr(t0))
	claimOne(t, s, "A", t0, time.Minute)
	st := start(e, "A", 1, t0)
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{st}))(t)[0])
	// A temporary failure: the row goes to retry, the enrollment is planned again.
	errs := must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", NextSendAt: ptr(t0.Add(10 * time.Minute)),
		Sends: []store.SendUpdate{{Step: 1, Status: store.SendRetry, Error: "451 try later"}}}}))(t)
	noErr(t, errs[0])
	claimOne(t, s, "A", t0.Add(10*time.Minute), time.Minute)
	again := st
	again.StartedAt = t0.Add(10 * time.Minute)
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{again}))(t)[0])
	send := must(s.SendGet(ctx, e.ID, 1))(t)
	if send.Status != store.SendSending || send.Attempts != 2 || send.MessageID != st.MessageID || send.Error != "" {
		t.Fatalf("retried send = %+v", send)
	}
	sameTime(t, "StartedAt", send.StartedAt, &again.StartedAt)
	// While it is in flight, no third attempt.
	wantErr(t, must(s.SendsStart(ctx, []store.SendStart{again}))(t)[0], store.ErrConflict)
	if n := must(s.SenderDailyUsed(ctx, "rep1", "2026-11-20"))(t); n != 2 {
		t.Fatalf("SenderDailyUsed = %d, want 2 attempts", n)
	}
}

// testDailyLimitConcurrent: the cap holds exactly when many workers start
// at once (on PostgreSQL: through separate connections).
func testDailyLimitConcurrent(t *testing.T, s store.Store) {
	const limit, n, workers = 7, 24, 4
	importDue(t, s, n, "fair", t0)
	ctx := ctxT(t)
	claimed := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Hour), Limit: n}))(t)
	if len(claimed) != n {
		t.Fatalf("claimed %d, want %d", len(claimed), n)
	}
	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		started, refused   int
		other              []error
		perWorker          = n / workers
		dailyLimitStartFor = func(e store.Enrollment) store.SendStart {
			st := start(e, "A", 1, t0.Add(time.Second))
			st.DailyLimit = limit
			return st
		}
	)
	for w := range workers {
		wg.Add(1)
		go func(part []store.Enrollment) {
			defer wg.Done()
			// Two items per call: refusals inside a batch must not spoil it.
			for i := 0; i < len(part); i += 2 {
				batch := []store.SendStart{dailyLimitStartFor(part[i]), dailyLimitStartFor(part[i+1])}
				errs, err := s.SendsStart(ctx, batch)
				mu.Lock()
				if err != nil {
					other = append(other, err)
				}
				for _, e := range errs {
					switch {
					case e == nil:
						started++
					case errors.Is(e, store.ErrDailyLimit):
						refused++
					default:
						other = append(other, e)
					}
				}
				mu.Unlock()
			}
		}(claimed[w*perWorker : (w+1)*perWorker])
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("unexpected errors: %v", other)
	}
	if started != limit || refused != n-limit {
		t.Fatalf("started %d, refused %d; want %d and %d", started, refused, limit, n-limit)
	}
	if used := must(s.SenderDailyUsed(ctx, "rep1", "2026-11-20"))(t); used != limit {
		t.Fatalf("SenderDailyUsed = %d, want %d", used, limit)
	}
	// The next day has its own cap.
	st := dailyLimitStartFor(claimed[0])
	st.Step, st.Day = 2, "2026-11-21"
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{st}))(t)[0])
}
