//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

import "github.com/drip-email/drip/store/internal/sqlstore"

// newFileLiveness: without flock(2) there is no liveness; the leases of a
// crashed instance are taken over when they run out.
func newFileLiveness(string) sqlstore.Liveness { return nil }
