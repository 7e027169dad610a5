package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/drip-email/drip/store"
)

// grants is drip's store as this package's Store, for tests against real
// stores (the daemon has the production adapter; a package test cannot
// import it without a cycle).
func grants(st store.Store) Store { return testGrants{st} }

type testGrants struct{ st store.Store }

func (g testGrants) GrantGet(ctx context.Context, sender string) (Grant, error) {
	cur, err := g.st.OAuthGrantGet(ctx, sender)
	if errors.Is(err, store.ErrNotFound) {
		return Grant{}, ErrNoGrant
	}
	return Grant{Sealed: cur.Sealed, Revoked: cur.Revoked, UpdatedAt: cur.UpdatedAt}, err
}

func (g testGrants) GrantSave(ctx context.Context, sender, sealed string, at time.Time) error {
	_, err := g.st.OAuthGrantSave(ctx, sender, sealed, at)
	return err
}

func (g testGrants) GrantUpdate(ctx context.Context, sender string, fn func(Grant) (*Grant, error)) error {
	_, err := g.st.OAuthGrantUpdate(ctx, sender, func(cur store.OAuthGrant) (*store.OAuthGrant, error) {
		next, err := fn(Grant{Sealed: cur.Sealed, Revoked: cur.Revoked, UpdatedAt: cur.UpdatedAt})
		if next == nil {
			return nil, err
		}
		return &store.OAuthGrant{Sealed: next.Sealed, Revoked: next.Revoked, UpdatedAt: next.UpdatedAt}, err
	})
	return err
}
