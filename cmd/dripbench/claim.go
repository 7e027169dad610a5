package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// claimSequence holds a fixture's due enrollments. The serving benchmark
// runs an engine that is not configured with it, so it never takes them,
// and every claim measurement finds the same due set.
const claimSequence = "claim-bench"

// seedFixture fills a fresh store with sp.N enrollments through
// ImportBatch: sp.Due of them in claimSequence and due at T0, spread over
// the id range; the rest on trade-fair, their first step planned on one of
// the 365 days after T0 (about N/365 a day), so that nothing else is due
// at T0 and the serving benchmark's run r finds day r due.
func seedFixture(ctx context.Context, sp spec) (map[string]float64, error) {
	st, db, err := openStoreDB(ctx, sp.DB)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	every := max(sp.N/max(sp.Due, 1), 1)
	t0 := time.Now()
	err = seedRows(ctx, st, sp.N, 10_000, func(i int) store.ImportRow {
		if i%every == 0 && i/every < sp.Due {
			at := sp.T0.Add(-time.Hour - time.Duration(i)*time.Millisecond)
			return prospectRow(i, claimSequence, at, &at)
		}
		at := sp.T0.Add(time.Duration(1+i%365) * 24 * time.Hour)
		return prospectRow(i, "trade-fair", at, &at)
	})
	if err != nil {
		return nil, err
	}
	progress("seeded %d enrollments in %s", sp.N, time.Since(t0).Round(time.Millisecond))
	// A running PostgreSQL has analysed and vacuumed a table this size by
	// itself (autovacuum); do it now rather than measure a table it has
	// not got round to yet. SQLite has no such thing and drip runs no
	// ANALYZE, so its fixture stays as an import leaves it.
	if sp.Store == "postgres" {
		for _, q := range []string{"VACUUM ANALYZE enrollments", "VACUUM ANALYZE prospects"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("%s: %w", q, err)
			}
		}
	}
	return map[string]float64{"seconds": time.Since(t0).Seconds()}, nil
}

// benchClaim times claiming every due enrollment of the small and the
// large fixture (the same number due in both), alternating between them,
// with the engine's claim size; leases are released between rounds. The
// first round warms the caches and is not counted.
func benchClaim(ctx context.Context, sp spec) (map[string]float64, error) {
	small, err := openStore(ctx, sp.DB)
	if err != nil {
		return nil, err
	}
	defer small.Close()
	large, err := openStore(ctx, sp.DB2)
	if err != nil {
		return nil, err
	}
	defer large.Close()
	// What the engine asks for at a time with drip's defaults.
	limit := min(100, 4*configs.DefaultWorkers)
	const rounds = 7
	var ds, dl []time.Duration
	prof := startProfile(sp, "large")
	for r := range rounds {
		for i, st := range []store.Store{small, large} {
			d, err := claimAll(ctx, st, sp.T0, sp.Due, limit)
			if err != nil {
				return nil, err
			}
			if r == 0 {
				continue
			}
			if i == 0 {
				ds = append(ds, d)
			} else {
				dl = append(dl, d)
			}
		}
	}
	prof.stop()
	ms, ml := medianDur(ds), medianDur(dl)
	progress("claim %d due: small %s, large %s", sp.Due, ms, ml)
	return map[string]float64{
		"small_ms": ms.Seconds() * 1000, "large_ms": ml.Seconds() * 1000,
		"ratio": ml.Seconds() / ms.Seconds(), "limit": float64(limit),
	}, nil
}

// claimAll claims until nothing is due, checks that exactly want were
// claimed, releases them, and returns the time the claims took.
func claimAll(ctx context.Context, st store.Store, now time.Time, want, limit int) (time.Duration, error) {
	owner := "dripbench-claim"
	var ids []int64
	seqs := []string{claimSequence, "trade-fair"}
	t0 := time.Now()
	for {
		got, err := st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: owner, Now: now,
			LeaseUntil: now.Add(5 * time.Minute), Limit: limit, Sequences: seqs})
		if err != nil {
			return 0, err
		}
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if len(got) < limit {
			break
		}
	}
	d := time.Since(t0)
	if len(ids) != want {
		return 0, fmt.Errorf("claimed %d enrollments, want the %d due", len(ids), want)
	}
	if err := st.EnrollmentRelease(ctx, owner, ids); err != nil {
		return 0, err
	}
	return d, nil
}

func medianDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
