// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server is named by DRIP_TEST_POSTGRES_URL (scripts/postgres.sh starts
// a throwaway one and prints it). Without it PostgreSQL tests are skipped,
// unless DRIP_REQUIRE_POSTGRES=1, where they fail: CI must not pass by
// testing nothing.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" driver

	"github.com/drip-email/drip/migrations"
)

// Environment variables read by this package.
const (
	EnvURL     = "DRIP_TEST_POSTGRES_URL"
	EnvRequire = "DRIP_REQUIRE_POSTGRES"
)

// ServerURL returns the test server's URL, or skips (fails when required).
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s=1 but %s is not set: start one with scripts/postgres.sh", EnvRequire, EnvURL)
		}
		t.Skipf("%s not set: PostgreSQL tests skipped (scripts/postgres.sh starts a server)", EnvURL)
	}
	return u
}

// NewDatabase creates an empty database with a random name on the test
// server and returns its URL; it is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s is not a URL", EnvURL)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "drip_test_" + hex.EncodeToString(b[:])

	admin, err := sql.Open("postgres", server)
	if err != nil {
		t.Fatalf("opening test server: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// name is ours (hex), so it is safe to splice into DDL.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", server)
		if err != nil {
			t.Errorf("dropping test database: %v", err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// NewMigrated is NewDatabase with drip's schema applied.
func NewMigrated(t testing.TB) string {
	t.Helper()
	dsn := NewDatabase(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := migrations.Up(ctx, db, migrations.Postgres); err != nil {
		t.Fatalf("migrating test database: %v", err)
	}
	return dsn
}
