// Package sqlite is drip's embedded store: SQLite through modernc.org/sqlite
// (pure Go, no cgo), for one machine.
//
// One connection writes (SQLite has one writer at a time anyway; queueing
// in Go is cheaper than retrying on SQLITE_BUSY), a few others read
// concurrently, thanks to WAL. Times are stored as INTEGER unix
// microseconds. The schema comes from package migrations; Open does not
// apply it.
package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/drip-email/drip/store/internal/sqlstore"
)

//go:embed queries.sql
var queries string

// dialect is what differs from PostgreSQL: see sqlstore/queries.sql.
var dialect = sqlstore.Dialect{
	Name:    "sqlite",
	Queries: queries,
	Macros: map[string]any{
		"forUpdate": func() string { return "" },
		"ids":       func(p string) string { return "(SELECT value FROM json_each(" + p + "))" },
		"texts":     func(p string) string { return "(SELECT value FROM json_each(" + p + "))" },
		"jsonMerge": func(a, b string) string { return "json_patch(" + a + ", " + b + ")" },
		"greatest":  func(a, b string) string { return "max(" + a + ", " + b + ")" },
	},
	Explain: "EXPLAIN QUERY PLAN ",
}

// Store is the SQLite store.
type Store struct {
	*sqlstore.Store
	db *sql.DB
}

// readers is how many connections may read while the one writer writes.
const readers = 4

// Open opens (creating if needed) the database file at path. Run
// migrations.Up on DB() before use.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("opening SQLite: empty path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("opening SQLite %s: the path must not contain '?'", path)
	}
	// busy_timeout: other processes (a `drip status` beside `drip serve`)
	// wait for the lock instead of failing. Times bind as microseconds.
	common := "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_time_integer_format=unix_micro"
	// The writer: _txlock=immediate takes the write lock when a transaction
	// begins, so that it never fails half-way on a lock upgrade;
	// synchronous=FULL, because a send recorded as started must survive a
	// power cut (R8); 64 MiB of page cache and in-memory temporary tables
	// keep a 100k-row import off the disk until it commits.
	writer := common + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate" +
		"&_pragma=cache_size(-65536)&_pragma=temp_store(memory)"
	wdb, err := sql.Open("sqlite", path+writer)
	if err != nil {
		return nil, fmt.Errorf("opening SQLite %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := wdb.PingContext(ctx); err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("opening SQLite %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", path+common+"&_pragma=query_only(1)")
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("opening SQLite %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	s, err := sqlstore.New(sqlx.NewDb(rdb, "sqlite"), sqlx.NewDb(wdb, "sqlite"), dialect)
	if err != nil {
		_ = wdb.Close()
		_ = rdb.Close()
		return nil, err
	}
	return &Store{Store: s, db: wdb}, nil
}

// DB is the writer connection, for migrations.Up.
func (s *Store) DB() *sql.DB { return s.db }
