package postgres_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
	"github.com/drip-email/drip/store/postgres"
	"github.com/drip-email/drip/store/storetest"
)

func open(t testing.TB) *postgres.Store {
	t.Helper()
	return openDSN(t, pgtest.NewMigrated(t))
}

func openDSN(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pgtest.ServerURL(t) // skip (or fail) once, not in every subtest
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestOpenErrorHidesThePassword(t *testing.T) {
	// Nothing listens on port 1: the connection fails, and the error names
	// the server but not the password.
	_, err := postgres.Open(context.Background(), "postgres://drip:s3cret-pw@127.0.0.1:1/drip?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("connecting to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("error does not say which server: %v", err)
	}
}

// BenchmarkImport100k: go test -run XXX -bench Import -benchtime 3x ./store/postgres
func BenchmarkImport100k(b *testing.B) {
	dsn := pgtest.NewMigrated(b)
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkImport(b, openDSN(b, dsn), 100_000, func() time.Duration {
		return backendCPU(strings.TrimPrefix(u.Path, "/"))
	})
}

// backendCPU is the CPU time used so far by the server processes serving
// database db (when the server runs on this machine; 0 otherwise).
func backendCPU(db string) time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var ticks int64
	for _, c := range stats {
		cmd, err := os.ReadFile(c)
		if err != nil || !strings.HasPrefix(string(cmd), "postgres: ") || !strings.Contains(string(cmd), " "+db+" ") {
			continue
		}
		stat, err := os.ReadFile(strings.TrimSuffix(c, "cmdline") + "stat")
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
