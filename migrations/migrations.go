// Package migrations holds drip's schema as numbered SQL files per dialect
// (postgres/, sqlite/), embedded in the binary and applied with goose.
//
// On PostgreSQL a session-level advisory lock serialises migrators, so
// several `drip migrate` / `drip serve` processes may start at once: the
// first applies what is pending, the others wait and then find nothing to do.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Dialect names, as returned by store/storeopen.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Status of one migration.
type Status struct {
	Version   int64
	Name      string // file name
	Applied   bool
	AppliedAt time.Time // zero when pending
}

// Up applies every pending migration and returns how many it applied.
func Up(ctx context.Context, db *sql.DB, dialect string) (applied int, err error) {
	p, err := provider(db, dialect)
	if err != nil {
		return 0, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("applying %s migrations: %w", dialect, err)
	}
	return len(results), nil
}

// List reports every known migration and whether it is applied.
func List(ctx context.Context, db *sql.DB, dialect string) ([]Status, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s migration status: %w", dialect, err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{
			Version:   s.Source.Version,
			Name:      migrationName(s.Source),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// Pending reports whether any migration is not applied yet (for readiness
// checks: an instance should not serve an old schema).
func Pending(ctx context.Context, db *sql.DB, dialect string) (bool, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("checking %s migrations: %w", dialect, err)
	}
	return pending, nil
}

func provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	var (
		gd   goose.Dialect
		opts []goose.ProviderOption
	)
	switch dialect {
	case Postgres:
		gd = goose.DialectPostgres
		// Retry the advisory lock every second for up to ten minutes: a
		// second migrator waits for the first rather than failing.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("creating migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		// SQLite serialises writers itself; a migration runs in one
		// transaction, so a second migrator waits on the busy timeout.
		gd = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q (want %q or %q)", dialect, Postgres, SQLite)
	}
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	// Only the embedded SQL files and this package's Go migrations
	// (backfill.go): none registered elsewhere.
	opts = append(opts, goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(goMigrations()...))
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("preparing %s migrations: %w", dialect, err)
	}
	return p, nil
}

// migrationName is a SQL migration's file name, or a name in the same form
// for a Go migration (backfill.go).
func migrationName(src *goose.Source) string {
	if src.Type == goose.TypeGo {
		return fmt.Sprintf("%05d_backfill.go", src.Version)
	}
	return path.Base(src.Path)
}
