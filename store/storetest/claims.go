package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

func testClaimAndLeaseExpiry(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	due := enrolled(t, s, "due@example.com", "fair", ptr(t0.Add(-time.Hour)))
	dueLater := enrolled(t, s, "due-later@example.com", "fair", ptr(t0))
	enrolled(t, s, "future@example.com", "fair", ptr(t0.Add(time.Hour)))
	enrolled(t, s, "unplanned@example.com", "fair", nil)
	other := enrolled(t, s, "other-seq@example.com", "webinar", ptr(t0.Add(-2*time.Hour)))
	paused := enrolled(t, s, "paused@example.com", "fair", ptr(t0.Add(-time.Hour)))
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: paused.ID,
		From: []store.State{store.StateActive}, To: store.StatePaused, At: t0}))(t)

	if n := must(s.DueBacklog(ctx, t0))(t); n != 3 {
		t.Fatalf("DueBacklog = %d, want 3", n)
	}
	// Only the configured sequences, earliest first, at most Limit.
	lease := t0.Add(5 * time.Minute)
	got := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: lease, Limit: 1, Sequences: []string{"fair"}}))(t)
	if len(got) != 1 || got[0].ID != due.ID || got[0].LeaseOwner != "A" {
		t.Fatalf("A's first claim = %+v, want %d", got, due.ID)
	}
	sameTime(t, "LeaseUntil", got[0].LeaseUntil, &lease)
	if got[0].Version != due.Version {
		t.Fatalf("claiming changed the version: %d -> %d", due.Version, got[0].Version)
	}
	got = must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: lease, Limit: 10, Sequences: []string{"fair"}}))(t)
	if len(got) != 1 || got[0].ID != dueLater.ID {
		t.Fatalf("A's second claim = %+v, want %d", got, dueLater.ID)
	}
	if n := must(s.DueBacklog(ctx, t0))(t); n != 1 {
		t.Fatalf("DueBacklog with two leased = %d, want 1 (webinar)", n)
	}

	// B finds nothing in fair while A's leases run ...
	got = must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "B", Now: t0.Add(4 * time.Minute), LeaseUntil: t0.Add(10 * time.Minute), Limit: 10, Sequences: []string{"fair"}}))(t)
	if len(got) != 0 {
		t.Fatalf("B claimed %d leased enrollments", len(got))
	}
	// ... and takes them when they expire.
	got = must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "B", Now: lease, LeaseUntil: lease.Add(5 * time.Minute), Limit: 10, Sequences: []string{"fair"}}))(t)
	if len(got) != 2 || got[0].ID != due.ID || got[1].ID != dueLater.ID || got[0].LeaseOwner != "B" {
		t.Fatalf("B's claim after expiry = %+v", got)
	}
	// A released nothing it no longer holds; B's release frees them.
	noErr(t, s.EnrollmentRelease(ctx, "A", []int64{due.ID, dueLater.ID}))
	if e := must(s.EnrollmentGet(ctx, due.ID))(t); e.LeaseOwner != "B" {
		t.Fatalf("A's release dropped B's lease: owner %q", e.LeaseOwner)
	}
	noErr(t, s.EnrollmentRelease(ctx, "B", []int64{due.ID}))
	got = must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "C", Now: lease, LeaseUntil: lease.Add(time.Minute), Limit: 10}))(t)
	if len(got) != 2 || got[0].ID != other.ID || got[1].ID != due.ID {
		t.Fatalf("C's claim (all sequences) = %+v", got)
	}
	if got := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "C", Now: lease, LeaseUntil: lease, Limit: 0}))(t); len(got) != 0 {
		t.Fatalf("Limit 0 claimed %d", len(got))
	}
}

// testConcurrentClaimers: several engine instances claiming at once never
// get the same enrollment, and together they get all of them.
func testConcurrentClaimers(t *testing.T, s store.Store) {
	const total, claimers, batch = 2000, 4, 25
	importDue(t, s, total, "fair", t0.Add(-time.Minute))
	ctx := ctxT(t)
	var (
		mu    sync.Mutex
		owner = map[int64]string{}
		dups  []string
		wg    sync.WaitGroup
		errs  = make(chan error, claimers)
	)
	for c := range claimers {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			for {
				got, err := s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: name, Now: t0,
					LeaseUntil: t0.Add(time.Hour), Limit: batch, Sequences: []string{"fair"}})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					if prev, ok := owner[e.ID]; ok && len(dups) < 10 {
						dups = append(dups, fmt.Sprintf("%d: %s and %s", e.ID, prev, name))
					}
					owner[e.ID] = name
					if e.LeaseOwner != name && len(dups) < 10 {
						dups = append(dups, fmt.Sprintf("%d returned to %s with owner %s", e.ID, name, e.LeaseOwner))
					}
				}
				mu.Unlock()
			}
		}(fmt.Sprintf("claimer-%d", c))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(dups) > 0 {
		t.Fatalf("enrollments claimed twice: %v", dups)
	}
	if len(owner) != total {
		t.Fatalf("claimed %d enrollments, want %d", len(owner), total)
	}
	perOwner := map[string]int{}
	for _, o := range owner {
		perOwner[o]++
	}
	t.Logf("claims per claimer: %v", perOwner)
}

// Explainer is implemented by drivers that can show the plan of their claim
// query (both do).
type Explainer interface {
	ExplainClaim(ctx context.Context, p store.ClaimParams) (string, error)
}

// testDueIndexUsed: with many active enrollments of which few are due, the
// claim reads the partial index enrollments_due, not the whole table.
func testDueIndexUsed(t *testing.T, s store.Store) {
	ex, ok := s.(Explainer)
	if !ok {
		t.Skip("driver cannot explain its claim query")
	}
	importDue(t, s, 3000, "later", t0.Add(30*24*time.Hour))
	importDue(t, s, 5, "now", t0.Add(-time.Minute))
	plan, err := ex.ExplainClaim(ctxT(t), store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 100})
	noErr(t, err)
	if !strings.Contains(plan, "enrollments_due") {
		t.Fatalf("the claim does not use the partial index enrollments_due:\n%s", plan)
	}
}
