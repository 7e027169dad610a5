package sqlstore

import (
	"context"
	"database/sql"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Every statement of the store runs prepared: it is prepared once per
// connection (database/sql keeps a *sql.Stmt's per-connection statements)
// and then only bound and run. On SQLite that saves compiling the SQL on
// every call, which was most of the engine's CPU; on PostgreSQL (lib/pq) a
// statement with parameters costs one round trip instead of two (parse,
// then bind and execute).
//
// pool and txn have the method set of *sqlx.DB and *sqlx.Tx that the
// store uses, so queries read the same with or without the cache.

// stmtCache holds one prepared statement per query text of a pool. The
// query texts are the store's fixed queries (and the few widths of a
// widened bulk INSERT), so it stays small.
type stmtCache struct {
	db *sqlx.DB
	mu sync.Mutex
	m  map[string]*sqlx.Stmt
}

func (c *stmtCache) lookup(query string) *sqlx.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// stmt returns the statement of query, preparing it first if needed. It
// may wait for a free connection of the pool: never call it while holding
// one (in a transaction; see txn).
func (c *stmtCache) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st := c.lookup(query); st != nil {
		return st, nil
	}
	st, err := c.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if had, ok := c.m[query]; ok { // prepared meanwhile by another caller
		_ = st.Close()
		return had, nil
	}
	if c.m == nil {
		c.m = map[string]*sqlx.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m = nil
}

// pool is a connection pool whose queries run prepared.
type pool struct {
	*sqlx.DB
	stmts *stmtCache
}

func newPool(db *sqlx.DB) *pool { return &pool{DB: db, stmts: &stmtCache{db: db}} }

func (p *pool) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, p, dest, query, args...)
}

func (p *pool) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, p, dest, query, args...)
}

func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmts.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmts.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (p *pool) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	st, err := p.stmts.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryxContext(ctx, args...)
}

func (p *pool) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	st, err := p.stmts.stmt(ctx, query)
	if err != nil {
		// sqlx.Row carries its error; QueryRowx of a bad query does the same.
		return p.DB.QueryRowxContext(ctx, query, args...)
	}
	return st.QueryRowxContext(ctx, args...)
}

// txn is a transaction on the write pool whose queries use the pool's
// prepared statements. A query not prepared yet runs unprepared and is
// prepared on the pool once the transaction is over: preparing it on the
// pool now could wait for the very connection the transaction holds (the
// only one, on SQLite's writer).
type txn struct {
	tx     *sqlx.Tx
	stmts  *stmtCache
	missed []string
}

// stmt is the pool's statement for query bound to this transaction, or
// nil when it is not prepared yet.
func (t *txn) stmt(ctx context.Context, query string) *sqlx.Stmt {
	st := t.stmts.lookup(query)
	if st == nil {
		t.missed = append(t.missed, query)
		return nil
	}
	return t.tx.StmtxContext(ctx, st)
}

// prepareMissed prepares what the transaction ran unprepared.
func (t *txn) prepareMissed(ctx context.Context) {
	for _, q := range t.missed {
		_, _ = t.stmts.stmt(ctx, q) // a failure only means it stays unprepared
	}
	t.missed = nil
}

func (t *txn) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, t, dest, query, args...)
}

func (t *txn) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, t, dest, query, args...)
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *txn) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryxContext(ctx, args...)
	}
	return t.tx.QueryxContext(ctx, query, args...)
}

func (t *txn) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowxContext(ctx, args...)
	}
	return t.tx.QueryRowxContext(ctx, query, args...)
}

// PrepareContext prepares a statement for this transaction only (a COPY,
// which lives and dies with its transaction).
func (t *txn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, query)
}
