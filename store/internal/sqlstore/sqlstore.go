// Package sqlstore is the one implementation of store.Store behind both SQL
// drivers. The Go logic is written once; what differs between PostgreSQL
// and SQLite is given by a Dialect: a few SQL macros used in queries.sql and
// the driver's own queries (the claim, and the staging of an import: COPY on
// PostgreSQL, a prepared INSERT on SQLite).
//
// All SQL lives in .sql files: queries.sql here, plus queries.sql in each
// driver package for what cannot be shared. Queries are loaded, expanded and
// checked once, when the store is created.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/drip-email/drip/store"
)

// Dialect is what a driver tells the shared code about its database.
type Dialect struct {
	Name string // "postgres" or "sqlite", for messages
	// Queries is the driver's own queries.sql (`-- name:` blocks).
	Queries string
	// Macros are the text/template functions the queries use where the
	// two SQL dialects differ (see queries.sql for the list).
	Macros map[string]any
	// Explain is the prefix that makes a query show its plan.
	Explain string
	// RowsAsJSON: a batch of rows goes in one statement, as one JSON
	// parameter (PostgreSQL, where every statement is a round trip). SQLite
	// runs in-process, where a prepared statement per row costs less than
	// taking every field out of JSON.
	RowsAsJSON bool
}

// Store implements store.Store over database/sql.
type Store struct {
	read  *pool // queries that only read; may be the same pool as write
	write *pool // everything in a transaction or that writes
	d     Dialect
	q     queries
	list  map[listShape]listSQL // the prospect list's queries, by shape
	// driveMax is the prospect list's driveMax (tests lower it to take
	// every shape through both plans).
	driveMax int
	live     Liveness // nil: no crash recovery but lease expiry (see SetLiveness)
}

var _ store.Store = (*Store)(nil)

// New builds a store over two pools: SQLite wants many readers and a single
// writer, PostgreSQL passes the same pool twice.
func New(read, write *sqlx.DB, d Dialect) (*Store, error) {
	s := &Store{driveMax: driveMax, write: newPool(write), d: d}
	s.read = s.write
	if read != write {
		s.read = newPool(read)
	}
	set, err := loadQueries(&s.q, d)
	if err != nil {
		return nil, fmt.Errorf("%s store: %w", d.Name, err)
	}
	if s.list, err = expandListQueries(set); err != nil {
		return nil, fmt.Errorf("%s store: %w", d.Name, err)
	}
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging %s: %w", s.d.Name, err)
	}
	return nil
}

// Close closes the pools.
func (s *Store) Close() error {
	s.write.stmts.close()
	err := s.write.Close()
	if s.read != s.write {
		s.read.stmts.close()
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// inTx runs fn in one transaction on the write pool: committed when fn
// returns nil, rolled back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx *txn) error) error {
	tx, err := s.write.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	t := &txn{tx: tx, stmts: s.write.stmts}
	defer t.prepareMissed(context.WithoutCancel(ctx))
	if err := fn(t); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// notFound turns sql.ErrNoRows into store.ErrNotFound, with what was looked for.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

// ExplainClaim returns the database's plan for the claim query, after
// refreshing the planner's statistics of enrollments: a diagnostic, used by
// the tests to show that due work is found through the partial index.
func (s *Store) ExplainClaim(ctx context.Context, p store.ClaimParams) (string, error) {
	if _, err := s.write.ExecContext(ctx, s.q.AnalyzeEnrollments); err != nil {
		return "", fmt.Errorf("analyzing enrollments: %w", err)
	}
	rows, err := s.write.QueryContext(ctx, s.d.Explain+s.q.EnrollmentClaim, utc(p.Now), p.Owner,
		utc(p.LeaseUntil), p.Limit, jsonList(p.Sequences), p.Held, jsonList(p.SkipSenders))
	if err != nil {
		return "", fmt.Errorf("explaining the claim query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var plan strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			return "", fmt.Errorf("reading the plan: %w", err)
		}
		// The plan text is the last column (SQLite adds ids before it).
		fmt.Fprintf(&plan, "%s\n", *(vals[len(vals)-1].(*any)))
	}
	return plan.String(), rows.Err()
}
