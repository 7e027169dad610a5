package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

func testOAuthGrant(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	_, err := s.OAuthGrantGet(ctx, "rep1")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.OAuthGrantUpdate(ctx, "rep1", func(store.OAuthGrant) (*store.OAuthGrant, error) {
		t.Fatal("fn called without a grant")
		return nil, nil
	})
	wantErr(t, err, store.ErrNotFound)

	g := must(s.OAuthGrantSave(ctx, "rep1", "sealed-1", t0))(t)
	if g.Version != 1 {
		t.Fatalf("first save at version %d", g.Version)
	}
	// A refresh: written under the lock, version+1.
	revokeErr := errors.New("invalid_grant")
	g = must(s.OAuthGrantUpdate(ctx, "rep1", func(cur store.OAuthGrant) (*store.OAuthGrant, error) {
		if cur.Sealed != "sealed-1" || cur.Version != 1 || cur.Revoked {
			t.Errorf("fn saw %+v", cur)
		}
		return &store.OAuthGrant{Sealed: "sealed-2", UpdatedAt: t0}, nil
	}))(t)
	if g.Version != 2 || g.Sealed != "sealed-2" {
		t.Fatalf("after update %+v", g)
	}
	// Nothing to write: nothing changes, fn's error comes back.
	_, err = s.OAuthGrantUpdate(ctx, "rep1", func(store.OAuthGrant) (*store.OAuthGrant, error) { return nil, revokeErr })
	wantErr(t, err, revokeErr)
	// Revoked: written and the error returned.
	_, err = s.OAuthGrantUpdate(ctx, "rep1", func(cur store.OAuthGrant) (*store.OAuthGrant, error) {
		cur.Revoked = true
		return &cur, revokeErr
	})
	wantErr(t, err, revokeErr)
	got := must(s.OAuthGrantGet(ctx, "rep1"))(t)
	if !got.Revoked || got.Version != 3 || got.Sealed != "sealed-2" {
		t.Fatalf("after revocation %+v", got)
	}
	// A new connect clears it.
	must(s.OAuthGrantSave(ctx, "rep1", "sealed-new", t0.Add(time.Hour)))(t)
	got = must(s.OAuthGrantGet(ctx, "rep1"))(t)
	if got.Revoked || got.Version != 4 || got.Sealed != "sealed-new" {
		t.Fatalf("after a new connect %+v", got)
	}
	if _, err := s.OAuthGrantGet(ctx, "rep2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another sender's grant: %v", err)
	}
}

// testOAuthGrantSerialised: updates never see the same version twice, so a
// refresh token is never spent by two refreshes.
func testOAuthGrantSerialised(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	must(s.OAuthGrantSave(ctx, "rep1", "0", t0))(t)
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		wg   sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				_, err := s.OAuthGrantUpdate(ctx, "rep1", func(cur store.OAuthGrant) (*store.OAuthGrant, error) {
					mu.Lock()
					dup := seen[cur.Sealed]
					seen[cur.Sealed] = true
					mu.Unlock()
					if dup {
						t.Errorf("two updates read %q", cur.Sealed)
					}
					time.Sleep(time.Millisecond) // the HTTP call of a refresh
					return &store.OAuthGrant{Sealed: fmt.Sprintf("%d-%d", w, i)}, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if g := must(s.OAuthGrantGet(ctx, "rep1"))(t); g.Version != 41 || len(seen) != 40 {
		t.Fatalf("after 40 updates: %+v, %d distinct reads", g, len(seen))
	}
}
