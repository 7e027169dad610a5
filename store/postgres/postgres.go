// Package postgres is drip's store for teams and for several `drip serve`
// instances side by side: PostgreSQL through lib/pq. Instances share the
// work through row locks (claims skip each other's rows) and conditional
// upserts (daily caps, mailbox leases). The schema comes from package
// migrations; Open does not apply it.
package postgres

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // registers the "postgres" database/sql driver

	"github.com/drip-email/drip/store/internal/sqlstore"
)

//go:embed queries.sql
var queries string

// dialect is what differs from SQLite: see sqlstore/queries.sql. List
// parameters arrive as JSON text in both databases.
var dialect = sqlstore.Dialect{
	Name:    "postgres",
	Queries: queries,
	Macros: map[string]any{
		"forUpdate": func() string { return "FOR UPDATE" },
		"texts":     func(p string) string { return "(SELECT json_array_elements_text(" + p + "::json))" },
		// = ANY of an array, not IN (subquery): an index scan whatever the
		// planner believes of the table's size (a table that an import is
		// filling has stale statistics, and a semi-join planned then would
		// scan all of it for every batch).
		"anyID": func(col, p string) string {
			return col + " = ANY (ARRAY(SELECT json_array_elements_text(" + p + "::json)::bigint))"
		},
		"jsonInt":     func(p, k string) string { return "(" + p + "::json ->> (" + k + ")::text)::int" },
		"forUpdateOf": func(t string) string { return "FOR UPDATE OF " + t },
		"anyText": func(col, p string) string {
			return col + " = ANY (ARRAY(SELECT json_array_elements_text(" + p + "::json)))"
		},
		"jsonMerge": func(a, b string) string { return "(" + a + "::jsonb || " + b + "::jsonb)::text" },
		"greatest":  func(a, b string) string { return "GREATEST(" + a + ", " + b + ")" },
		"dueIndex":  func() string { return "" },
		"contains":  func(s, sub string) string { return "strpos(" + s + ", " + sub + ") > 0" },
		"noIndex":   func(col string) string { return col },
	},
	Explain:    "EXPLAIN ",
	RowsAsJSON: true,
}

// Store is the PostgreSQL store.
type Store struct {
	*sqlstore.Store
	db *sql.DB
}

// maxConns bounds one instance's connections; the engine's workers, the
// claimer, the watchers and the API share them.
const maxConns = 16

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; lib/pq wants sslmode=disable for a server without TLS). Run
// migrations.Up on DB() before use. Errors never show the password.
func Open(ctx context.Context, dsn string) (*Store, error) {
	where := Redact(dsn)
	dsn = withConnectTimeout(dsn)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening PostgreSQL %s: %w", where, scrub(err, dsn))
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL %s: %w", where, scrub(err, dsn))
	}
	x := sqlx.NewDb(db, "postgres")
	s, err := sqlstore.New(x, x, dialect)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.SetLiveness(s.AdvisoryLiveness())
	return &Store{Store: s, db: db}, nil
}

// defaultConnectTimeout bounds opening one connection when the DSN sets
// none: lib/pq ignores the context while connecting, so a server that
// accepts connections but never answers would otherwise hang every caller
// (and shutdown) with it.
const defaultConnectTimeout = "10"

// withConnectTimeout adds connect_timeout to a URL DSN that has none.
func withConnectTimeout(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		if !strings.Contains(dsn, "connect_timeout") && strings.Contains(dsn, "=") {
			return dsn + " connect_timeout=" + defaultConnectTimeout
		}
		return dsn
	}
	q := u.Query()
	if q.Has("connect_timeout") {
		return dsn
	}
	q.Set("connect_timeout", defaultConnectTimeout)
	u.RawQuery = q.Encode()
	return u.String()
}

// DB is the connection pool, for migrations.Up.
func (s *Store) DB() *sql.DB { return s.db }

// Redact returns dsn fit for a log line: a URL with its password masked,
// or "(dsn)" for what is not a URL (a key=value string may hold one too).
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(dsn)"
	}
	// lib/pq takes the password from ?password= too.
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// scrub removes the DSN, and its password, from a driver error (lib/pq
// quotes a URL it cannot parse).
func scrub(err error, dsn string) error {
	msg := strings.ReplaceAll(err.Error(), dsn, "(dsn)")
	if pw := password(dsn); pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// password finds the password in a URL, even a malformed one, or in a
// key=value DSN.
func password(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if pw, ok := u.User.Password(); ok {
			return pw
		}
		return u.Query().Get("password")
	}
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				return pw
			}
		}
		return ""
	}
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "password="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}
