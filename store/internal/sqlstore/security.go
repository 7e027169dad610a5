package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// SecretEnsure returns the secret called name, storing value first when
// there is none yet. Concurrent callers with different values all get the
// one that was stored first.
func (s *Store) SecretEnsure(ctx context.Context, name, value string) (string, error) {
	if _, err := s.write.ExecContext(ctx, s.q.SecretInsert, name, value, utc(time.Now())); err != nil {
		return "", fmt.Errorf("storing secret %s: %w", name, err)
	}
	var got string
	if err := s.write.GetContext(ctx, &got, s.q.SecretGet, name); err != nil {
		return "", fmt.Errorf("reading secret %s: %w", name, err)
	}
	return got, nil
}

// SessionRevoke records a signed-out session until its expiry, and drops
// the records of sessions that expired meanwhile (their cookies are refused
// by date anyway).
func (s *Store) SessionRevoke(ctx context.Context, idHash string, expires, now time.Time) error {
	return s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, s.q.SessionsRevokedExpire, utc(now)); err != nil {
			return fmt.Errorf("dropping expired revoked sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q.SessionRevoke, idHash, utc(expires)); err != nil {
			return fmt.Errorf("revoking session: %w", err)
		}
		return nil
	})
}

// SessionRevoked reports whether the session was signed out.
func (s *Store) SessionRevoked(ctx context.Context, idHash string) (bool, error) {
	var n int
	if err := s.read.GetContext(ctx, &n, s.q.SessionRevoked, idHash); err != nil {
		return false, fmt.Errorf("reading revoked sessions: %w", err)
	}
	return n > 0, nil
}
