package testrig_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	c := testrig.NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	c.Add(90 * time.Minute)
	if got, want := c.Now(), t0.Add(90*time.Minute); !got.Equal(want) {
		t.Fatalf("after Add: Now = %v, want %v", got, want)
	}
	later := t0.AddDate(0, 0, 10)
	c.Set(later)
	if got := c.Now(); !got.Equal(later) {
		t.Fatalf("after Set: Now = %v, want %v", got, later)
	}
}

// The engine reads the clock from its goroutines while the test moves it:
// no step may be lost (and -race must see no data race).
func TestClockIsSafeForConcurrentUse(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	c := testrig.NewClock(t0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Add(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), t0.Add(800*time.Second); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
}

// Every backend gives a fresh, migrated store: a prospect written is read
// back, and a second database of the same backend does not see it.
func TestBackendsOpenFreshMigratedStores(t *testing.T) {
	for _, be := range testrig.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			st := testrig.Open(t, be.URL(t))
			p := store.Prospect{Email: "anna@example.com", FirstName: "Anna", CreatedAt: time.Now().UTC()}
			if _, err := st.ProspectUpsert(ctx, &p); err != nil {
				t.Fatalf("upserting a prospect: %v", err)
			}
			got, err := st.ProspectGetByEmail(ctx, "anna@example.com")
			if err != nil || got.FirstName != "Anna" {
				t.Fatalf("reading it back: %+v, %v", got, err)
			}
			other := testrig.Open(t, be.URL(t))
			if _, err := other.ProspectGetByEmail(ctx, "anna@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a second database sees the first's prospect: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestWaitForPollsUntilTheConditionHolds(t *testing.T) {
	calls := 0
	testrig.WaitFor(t, "the third look", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3 (WaitFor returns as soon as it holds)", calls)
	}
}
