package testrig

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
	"github.com/drip-email/drip/store/storeopen"
)

// Backend is a kind of store a test runs on. URL makes a fresh, empty
// database for one test and returns its database_url.
type Backend struct {
	Name string
	URL  func(t testing.TB) string
}

// Backends are the stores every store-backed flow runs against: SQLite
// in the test's temp dir, and PostgreSQL, which skips (or fails, when
// required) per store/pgtest's rules.
func Backends() []Backend {
	return []Backend{
		{"sqlite", SQLiteURL},
		{"postgres", func(t testing.TB) string { return pgtest.NewDatabase(t) }},
	}
}

// SQLiteURL returns the database_url of a new SQLite file in the test's
// temp dir.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "drip.db")
}

// Open opens the store at url and migrates it to the current schema; it
// is closed when the test ends.
func Open(t testing.TB, url string) store.Store {
	t.Helper()
	ctx := context.Background()
	st, dialect, db, err := storeopen.Open(ctx, url)
	if err != nil {
		t.Fatalf("opening test store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := migrations.Up(ctx, db, dialect); err != nil {
		t.Fatalf("migrating test store: %v", err)
	}
	return st
}
