package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/drip-email/drip/store"
)

// Liveness is how a driver tells the live instances of drip from the dead
// ones: each instance registers, and holds something that its death
// releases at once (a PostgreSQL session's advisory lock, an OS file lock).
type Liveness interface {
	// Register makes owner live until the Instance is closed or the
	// process dies.
	Register(ctx context.Context, owner string) (store.Instance, error)
	// Dead lists the registered owners that are no longer alive.
	Dead(ctx context.Context) ([]string, error)
	// Forget drops the registrations of owners found dead (those still
	// dead: a registration taken again meanwhile stays).
	Forget(ctx context.Context, owners []string) error
}

// SetLiveness gives the store its driver's liveness. Without one,
// InstanceRegister registers nothing and LeasesRescue finds nobody dead:
// leases are then taken over only when they run out.
func (s *Store) SetLiveness(l Liveness) { s.live = l }

// InstanceRegister registers owner as a live instance (see Liveness).
func (s *Store) InstanceRegister(ctx context.Context, owner string) (store.Instance, error) {
	if owner == "" {
		return nil, errors.New("registering an instance: empty owner name")
	}
	if s.live == nil {
		return unregistered{}, nil
	}
	in, err := s.live.Register(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("registering instance %s: %w", owner, err)
	}
	return in, nil
}

// LeasesRescue releases the leases of the registered instances that died,
// then forgets those instances. It writes nothing when nobody died.
func (s *Store) LeasesRescue(ctx context.Context) (store.Rescued, error) {
	if s.live == nil {
		return store.Rescued{}, nil
	}
	dead, err := s.live.Dead(ctx)
	if err != nil {
		return store.Rescued{}, fmt.Errorf("looking for dead instances: %w", err)
	}
	if len(dead) == 0 {
		return store.Rescued{}, nil
	}
	r := store.Rescued{Owners: dead}
	err = s.inTx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, s.q.EnrollmentsReleaseOwners, jsonList(dead))
		if err != nil {
			return fmt.Errorf("releasing claims: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		r.Enrollments = int(n)
		if res, err = tx.ExecContext(ctx, s.q.MailboxLeasesReleaseOwners, jsonList(dead)); err != nil {
			return fmt.Errorf("releasing mailbox leases: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		r.Mailboxes = int(n)
		if res, err = tx.ExecContext(ctx, s.q.WebhookLeasesReleaseOwners, jsonList(dead)); err != nil {
			return fmt.Errorf("releasing webhook deliveries: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		r.Webhooks = int(n)
		return nil
	})
	if err != nil {
		return store.Rescued{}, fmt.Errorf("releasing the leases of dead instances %v: %w", dead, err)
	}
	// Forgotten only once their leases are released: a rescuer that dies
	// in between leaves them to the next one.
	if err := s.live.Forget(ctx, dead); err != nil {
		return r, fmt.Errorf("forgetting dead instances %v: %w", dead, err)
	}
	return r, nil
}

// unregistered is the Instance of a store without liveness.
type unregistered struct{}

func (unregistered) Renew(context.Context) (bool, error) { return false, nil }
func (unregistered) Close() error                        { return nil }

// advisoryKey is the first half of the key of every instance's advisory
// lock ("drip" in ASCII); the second is the instance's row id. A pair of
// int4 keys shows in pg_locks as classid, objid and objsubid 2, apart from
// single bigint keys (objsubid 1) such as the migrator's.
const advisoryKey = 0x64726970

// AdvisoryLiveness is PostgreSQL's liveness: an instance is a row of
// instances and a session-level advisory lock on its id, held on a
// connection of its own. When the process dies its connection closes and
// the server drops the lock at once; a row whose lock nobody holds is a
// dead instance (the dialect's instance-* queries).
func (s *Store) AdvisoryLiveness() Liveness { return advisory{s} }

type advisory struct{ s *Store }

func (a advisory) Register(ctx context.Context, owner string) (store.Instance, error) {
	in := &advisoryInstance{s: a.s, owner: owner}
	if err := in.take(ctx); err != nil {
		return nil, err
	}
	return in, nil
}

func (a advisory) Dead(ctx context.Context) ([]string, error) {
	var owners []string
	if err := a.s.write.SelectContext(ctx, &owners, a.s.q.InstancesDead, advisoryKey); err != nil {
		return nil, err
	}
	return owners, nil
}

func (a advisory) Forget(ctx context.Context, owners []string) error {
	_, err := a.s.write.ExecContext(ctx, a.s.q.InstancesForget, advisoryKey, jsonList(owners))
	return err
}

// advisoryInstance holds one connection out of the pool for its lock.
type advisoryInstance struct {
	s     *Store
	owner string

	mu     sync.Mutex
	conn   *sql.Conn // nil while the lock is to be taken again
	id     int64
	closed bool
}

// take registers the instance on a new connection: its row and its lock
// are committed together, so that nobody sees the row without the lock.
func (in *advisoryInstance) take(ctx context.Context) error {
	conn, err := in.s.write.DB.Conn(ctx)
	if err != nil {
		return err
	}
	err = func() error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		var id int64
		if err := tx.QueryRowContext(ctx, in.s.q.InstanceRegister, in.owner, time.Now().UTC()).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, in.s.q.InstanceLock, advisoryKey, id); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		in.id = id
		return nil
	}()
	if err != nil {
		discard(conn)
		return err
	}
	in.conn = conn
	return nil
}

// Renew checks the lock on its connection and takes it again when the
// connection or the lock is gone.
func (in *advisoryInstance) Renew(ctx context.Context) (bool, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return false, fmt.Errorf("instance %s: registration closed", in.owner)
	}
	if in.conn != nil {
		var held bool
		err := in.conn.QueryRowContext(ctx, in.s.q.InstanceHeld, advisoryKey, in.id).Scan(&held)
		if err == nil && held {
			return false, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		discard(in.conn)
		in.conn = nil
	}
	if err := in.take(ctx); err != nil {
		return true, fmt.Errorf("registering instance %s again: %w", in.owner, err)
	}
	return true, nil
}

// Close ends the lock's session, as the process's death does.
func (in *advisoryInstance) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	if in.conn != nil {
		discard(in.conn)
		in.conn = nil
	}
	return nil
}

// discard closes conn's session instead of giving it back to the pool
// (where its session-level lock would live on).
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
