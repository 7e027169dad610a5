package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// testSecretEnsure: the first value stored wins, for every later caller,
// and concurrent first callers (instances starting together) all get the
// same one.
func testSecretEnsure(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const n = 8
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.SecretEnsure(ctx, "unsubscribe", fmt.Sprintf("key-of-instance-%d", i))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] == "" || got[i] != got[0] {
			t.Fatalf("concurrent first starts got different keys: %q", got)
		}
	}
	if v := must(s.SecretEnsure(ctx, "unsubscribe", "a later instance's key"))(t); v != got[0] {
		t.Fatalf("a later start got %q, want the stored %q", v, got[0])
	}
	if v := must(s.SecretEnsure(ctx, "other", "x"))(t); v != "x" {
		t.Fatalf("another secret = %q, want x", v)
	}
}

// testSessionRevoke: a revoked session stays revoked for every reader of
// the store until it expires; expired records are dropped.
func testSessionRevoke(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	if must(s.SessionRevoked(ctx, "a"))(t) {
		t.Fatal("a session nobody revoked is revoked")
	}
	noErr(t, s.SessionRevoke(ctx, "a", t0.Add(time.Hour), t0))
	noErr(t, s.SessionRevoke(ctx, "a", t0.Add(time.Hour), t0)) // twice: same
	if !must(s.SessionRevoked(ctx, "a"))(t) {
		t.Fatal("revoked session is not revoked")
	}
	noErr(t, s.SessionRevoke(ctx, "b", t0.Add(3*time.Hour), t0.Add(2*time.Hour)))
	if must(s.SessionRevoked(ctx, "a"))(t) {
		t.Fatal("the record of an expired session was kept")
	}
	if !must(s.SessionRevoked(ctx, "b"))(t) {
		t.Fatal("revoked session b is not revoked")
	}
}
