package store

import (
	"context"
	"time"
)

// Role of a web UI user.
type Role string

const (
	RoleRep Role = "rep" // sees and acts on the prospects of its senders
	RoleOps Role = "ops" // everything
)

// User is a web UI account (drip user add).
type User struct {
	Name         string
	PasswordHash string // bcrypt
	Role         Role
	Senders      []string // a rep's senders
	CreatedAt    time.Time
	// UpdatedAt moves with every change of password or role: sessions
	// signed in before it are over.
	UpdatedAt time.Time
}

// Users are the web UI's accounts.
type Users interface {
	// UserCreate stores a new user (ErrConflict when the name is taken).
	UserCreate(ctx context.Context, u User) error
	// UserGet returns a user by name (ErrNotFound).
	UserGet(ctx context.Context, name string) (User, error)
	// UserSetPassword changes a password and UpdatedAt (ErrNotFound).
	UserSetPassword(ctx context.Context, name, hash string, at time.Time) error
	// UserDelete removes a user (ErrNotFound).
	UserDelete(ctx context.Context, name string) error
}
