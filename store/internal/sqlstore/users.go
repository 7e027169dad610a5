package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/drip-email/drip/store"
)

type userRow struct {
	Name         string `db:"name"`
	PasswordHash string `db:"password_hash"`
	Role         string `db:"role"`
	Senders      string `db:"senders"`
	CreatedAt    dbTime `db:"created_at"`
	UpdatedAt    dbTime `db:"updated_at"`
}

// UserCreate stores a new user; ErrConflict when the name is taken.
func (s *Store) UserCreate(ctx context.Context, u store.User) error {
	res, err := s.write.ExecContext(ctx, s.q.UserInsert, u.Name, u.PasswordHash, string(u.Role), jsonList(u.Senders), utc(u.CreatedAt))
	if err != nil {
		return fmt.Errorf("adding user %s: %w", u.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("adding user %s: %w", u.Name, err)
	} else if n == 0 {
		return fmt.Errorf("user %s exists: %w", u.Name, store.ErrConflict)
	}
	return nil
}

// UserGet returns a user by name.
func (s *Store) UserGet(ctx context.Context, name string) (store.User, error) {
	var r userRow
	if err := s.read.GetContext(ctx, &r, s.q.UserGet, name); err != nil {
		return store.User{}, notFound(err, "user "+name)
	}
	u := store.User{Name: r.Name, PasswordHash: r.PasswordHash, Role: store.Role(r.Role),
		CreatedAt: r.CreatedAt.T, UpdatedAt: r.UpdatedAt.T}
	if err := json.Unmarshal([]byte(r.Senders), &u.Senders); err != nil {
		return store.User{}, fmt.Errorf("reading user %s's senders: %w", name, err)
	}
	return u, nil
}

// UserSetPassword changes a user's password; sessions signed in before
// end (UpdatedAt).
func (s *Store) UserSetPassword(ctx context.Context, name, hash string, at time.Time) error {
	return s.changeOne(ctx, "user "+name, s.q.UserSetPassword, name, hash, utc(at))
}

// UserDelete removes a user.
func (s *Store) UserDelete(ctx context.Context, name string) error {
	return s.changeOne(ctx, "user "+name, s.q.UserDelete, name)
}

// changeOne runs a statement that must change exactly one row.
func (s *Store) changeOne(ctx context.Context, what, query string, args ...any) error {
	res, err := s.write.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("changing %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("changing %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
