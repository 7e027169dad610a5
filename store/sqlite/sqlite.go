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
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

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
		"forUpdate":   func() string { return "" },
		"texts":       func(p string) string { return "(SELECT value FROM json_each(" + p + "))" },
		"anyID":       func(col, p string) string { return col + " IN (SELECT value FROM json_each(" + p + "))" },
		"anyText":     func(col, p string) string { return col + " IN (SELECT value FROM json_each(" + p + "))" },
		"jsonInt":     func(p, k string) string { return "json_extract(" + p + ", '$.\"' || " + k + " || '\"')" },
		"forUpdateOf": func(string) string { return "" },
		"jsonMerge":   func(a, b string) string { return "json_patch(" + a + ", " + b + ")" },
		"greatest":    func(a, b string) string { return "max(" + a + ", " + b + ")" },
		// The claim's index, named: with enrollments_state beside it the
		// planner took that for state = 'active' and read every active
		// enrollment (delivery fell from 1,700 to 1,000 msg/s).
		"dueIndex": func() string { return "INDEXED BY enrollments_due" },
		"contains": func(s, sub string) string { return "instr(" + s + ", " + sub + ") > 0" },
		// A unary + keeps the planner from using an index on the column.
		"noIndex": func(col string) string { return "+" + col },
	},
	Explain: "EXPLAIN QUERY PLAN ",
}

// Store is the SQLite store.
type Store struct {
	*sqlstore.Store
	db *sql.DB

	ckpt      *sql.DB // the checkpointer's connection
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
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
	// power cut (R8). 16 MiB of page cache: a SQLite cache never shrinks,
	// and one pass over a big table (completing a shortened sequence at
	// start) fills it; with 64 MiB that put a server of 1M enrollments at
	// 160 MB resident, while a 1M-row import ran no faster than with 16
	// (the OS caches the file too). It never checkpoints the WAL itself
	// (wal_autocheckpoint 0): the checkpointer does, beside it (see
	// checkpoints).
	// secure_delete: what a write frees (a forgotten prospect's old row,
	// its index entries) is overwritten with zeros, not left readable in
	// free space of the file (see ProspectForget).
	writer := common + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate&_pragma=secure_delete(1)" +
		"&_pragma=cache_size(-16384)&_pragma=temp_store(memory)&_pragma=wal_autocheckpoint(0)"
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
	cdb, err := sql.Open("sqlite", path+common)
	if err != nil {
		_ = wdb.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("opening SQLite %s: %w", path, err)
	}
	cdb.SetMaxOpenConns(1)
	s, err := sqlstore.New(sqlx.NewDb(rdb, "sqlite"), sqlx.NewDb(wdb, "sqlite"), dialect)
	if err != nil {
		_ = wdb.Close()
		_ = rdb.Close()
		_ = cdb.Close()
		return nil, err
	}
	s.SetLiveness(newFileLiveness(path + "-instances"))
	st := &Store{Store: s, db: wdb, ckpt: cdb, stop: make(chan struct{}), done: make(chan struct{})}
	go st.checkpoints()
	return st, nil
}

// checkpointEvery is how often the checkpointer copies the WAL's committed
// pages into the database file.
const checkpointEvery = 200 * time.Millisecond

// checkpoints runs WAL checkpoints on a connection of its own until Close.
// SQLite's default is a checkpoint by the writer, inside the commit that
// crosses 1,000 WAL pages: that commit then also writes those pages all
// over the database file and syncs it, which in a database of a million
// enrollments took 15-20 ms and stalled every writer behind it (a send's
// start or outcome, a claim). A PASSIVE checkpoint from another connection
// does the same work beside the writer, which goes on appending to the WAL
// meanwhile. Committed data is in the WAL, synced, before any checkpoint:
// durability does not depend on them.
func (s *Store) checkpoints() {
	defer close(s.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		// Errors (a busy database) only mean the next round does it.
		_, _ = s.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// Close stops the checkpointer and closes the connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
	})
	return errors.Join(s.Store.Close(), s.ckpt.Close())
}

// DB is the writer connection, for migrations.Up.
func (s *Store) DB() *sql.DB { return s.db }
