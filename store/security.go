package store

import (
	"context"
	"time"
)

// Security is what the store keeps for drip's own protection: generated
// keys shared by every instance, and revoked web sessions.
type Security interface {
	// SecretEnsure returns the secret called name, storing value first
	// when there is none yet. Concurrent first callers all get the one
	// value that was stored.
	SecretEnsure(ctx context.Context, name, value string) (string, error)
	// SessionRevoke records a web session (by a hash of its id) as signed
	// out until it expires; expired records are dropped on the way.
	SessionRevoke(ctx context.Context, idHash string, expires, now time.Time) error
	// SessionRevoked reports whether the session was signed out.
	SessionRevoked(ctx context.Context, idHash string) (bool, error)

	Unsuppressor // unsuppress.go
	Users        // users.go
}
