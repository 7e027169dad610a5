package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/drip-email/drip/store"
)

type grantRow struct {
	Sender  string `db:"sender"`
	Version int64  `db:"version"`
	Sealed  string `db:"sealed"`
	Revoked int    `db:"revoked"`
}

func (r grantRow) grant() store.OAuthGrant {
	return store.OAuthGrant{Sender: r.Sender, Version: r.Version, Sealed: r.Sealed, Revoked: r.Revoked != 0}
}

// OAuthGrantGet returns sender's grant (ErrNotFound when never connected).
func (s *Store) OAuthGrantGet(ctx context.Context, sender string) (store.OAuthGrant, error) {
	var r grantRow
	if err := s.read.GetContext(ctx, &r, s.q.OAuthGrantGet, sender); err != nil {
		return store.OAuthGrant{}, notFound(err, "oauth2 grant of "+sender)
	}
	return r.grant(), nil
}

// OAuthGrantSave stores a new grant for sender, replacing any.
func (s *Store) OAuthGrantSave(ctx context.Context, sender, sealed string, at time.Time) (store.OAuthGrant, error) {
	var v int64
	err := s.inTx(ctx, func(tx *txn) error {
		return tx.GetContext(ctx, &v, s.q.OAuthGrantSave, sender, sealed, utc(at))
	})
	if err != nil {
		return store.OAuthGrant{}, fmt.Errorf("saving oauth2 grant of %s: %w", sender, err)
	}
	return store.OAuthGrant{Sender: sender, Version: v, Sealed: sealed, UpdatedAt: at}, nil
}

// OAuthGrantUpdate runs fn under the grant's row lock; see store.Store.
func (s *Store) OAuthGrantUpdate(ctx context.Context, sender string, fn func(store.OAuthGrant) (*store.OAuthGrant, error)) (store.OAuthGrant, error) {
	var (
		out   store.OAuthGrant
		fnErr error
	)
	err := s.inTx(ctx, func(tx *txn) error {
		var r grantRow
		if err := tx.GetContext(ctx, &r, s.q.OAuthGrantLock, sender); err != nil {
			return notFound(err, "oauth2 grant of "+sender)
		}
		cur := r.grant()
		next, err := fn(cur)
		if next == nil {
			out = cur
			return err
		}
		fnErr = err
		revoked := 0
		if next.Revoked {
			revoked = 1
		}
		at := next.UpdatedAt
		if at.IsZero() {
			at = time.Now()
		}
		var v int64
		if err := tx.GetContext(ctx, &v, s.q.OAuthGrantWrite, sender, cur.Version, next.Sealed, revoked, utc(at)); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("oauth2 grant of %s changed under its lock: %w", sender, store.ErrConflict)
		} else if err != nil {
			return err
		}
		out = store.OAuthGrant{Sender: sender, Version: v, Sealed: next.Sealed, Revoked: next.Revoked, UpdatedAt: at}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.OAuthGrant{}, err
		}
		return out, fmt.Errorf("updating oauth2 grant of %s: %w", sender, err)
	}
	return out, fnErr
}
