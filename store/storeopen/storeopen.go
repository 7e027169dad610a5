// Package storeopen opens the store a database_url names, so that cmd does
// not need to know the drivers. (It is apart from package store, which
// must not import its drivers.)
package storeopen

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/postgres"
	"github.com/drip-email/drip/store/sqlite"
)

// Open opens the store of databaseURL: "sqlite:PATH" or
// "postgres://..." / "postgresql://...". It returns the dialect name and the
// *sql.DB that migrations.Up(ctx, db, dialect) wants; Open itself does not
// migrate. Errors never show a password.
func Open(ctx context.Context, databaseURL string) (st store.Store, dialect string, db *sql.DB, err error) {
	switch {
	case strings.HasPrefix(databaseURL, "sqlite:"):
		s, err := sqlite.Open(ctx, strings.TrimPrefix(databaseURL, "sqlite:"))
		if err != nil {
			return nil, "", nil, err
		}
		return s, migrations.SQLite, s.DB(), nil
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		s, err := postgres.Open(ctx, databaseURL)
		if err != nil {
			return nil, "", nil, err
		}
		return s, migrations.Postgres, s.DB(), nil
	}
	scheme, _, found := strings.Cut(databaseURL, ":")
	if !found || strings.ContainsAny(scheme, "@/ ") {
		scheme = "(none)"
	}
	return nil, "", nil, fmt.Errorf("database_url: unsupported scheme %q (want sqlite:PATH or postgres://...)", scheme)
}
