package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/drip-email/drip/mailer/oauth"
	"github.com/drip-email/drip/store"
)

// Grants is st as the store of OAuth2 grants: mailer/oauth declares what
// it needs and depends on no storage.
func Grants(st store.Store) oauth.Store { return grantStore{st} }

type grantStore struct{ st store.Store }

func (g grantStore) GrantGet(ctx context.Context, sender string) (oauth.Grant, error) {
	cur, err := g.st.OAuthGrantGet(ctx, sender)
	if errors.Is(err, store.ErrNotFound) {
		return oauth.Grant{}, oauth.ErrNoGrant
	}
	return toGrant(cur), err
}

func (g grantStore) GrantSave(ctx context.Context, sender, sealed string, at time.Time) error {
	_, err := g.st.OAuthGrantSave(ctx, sender, sealed, at)
	return err
}

func (g grantStore) GrantUpdate(ctx context.Context, sender string, fn func(oauth.Grant) (*oauth.Grant, error)) error {
	_, err := g.st.OAuthGrantUpdate(ctx, sender, func(cur store.OAuthGrant) (*store.OAuthGrant, error) {
		next, err := fn(toGrant(cur))
		if next == nil {
			return nil, err
		}
		return &store.OAuthGrant{Sender: sender, Sealed: next.Sealed, Revoked: next.Revoked, UpdatedAt: next.UpdatedAt}, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return oauth.ErrNoGrant
	}
	return err
}

func toGrant(g store.OAuthGrant) oauth.Grant {
	return oauth.Grant{Sealed: g.Sealed, Revoked: g.Revoked, UpdatedAt: g.UpdatedAt}
}
