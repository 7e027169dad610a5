package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/sqlite"
	"github.com/drip-email/drip/store/storetest"
)

func open(t testing.TB) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "drip.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := migrations.Up(ctx, s.DB(), migrations.SQLite); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestOpenRefusesAQueryInThePath(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db?_pragma=foo")); err == nil {
		t.Fatal("a path with '?' was accepted")
	}
}

// BenchmarkImport100k: go test -run XXX -bench Import -benchtime 3x ./store/sqlite
func BenchmarkImport100k(b *testing.B) {
	storetest.BenchmarkImport(b, open(b), 100_000, nil)
}
