package storeopen_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
	"github.com/drip-email/drip/store/storeopen"
)

func openAndUse(t *testing.T, url, wantDialect string) {
	t.Helper()
	ctx := context.Background()
	st, dialect, db, err := storeopen.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if dialect != wantDialect {
		t.Fatalf("dialect = %q, want %q", dialect, wantDialect)
	}
	if _, err := migrations.Up(ctx, db, dialect); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	p := store.Prospect{Email: "a@example.com", CreatedAt: time.Now()}
	if _, err := st.ProspectUpsert(ctx, &p); err != nil {
		t.Fatal(err)
	}
}

func TestSQLite(t *testing.T) {
	openAndUse(t, "sqlite:"+filepath.Join(t.TempDir(), "drip.db"), migrations.SQLite)
}

func TestPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	openAndUse(t, url, migrations.Postgres)
	openAndUse(t, strings.Replace(url, "postgres://", "postgresql://", 1), migrations.Postgres)
}

func TestErrorsHideThePassword(t *testing.T) {
	for _, url := range []string{
		"mysql://drip:s3cret-pw@db.example/drip",
		"drip:s3cret-pw@db.example/drip",
		"postgres://drip:s3cret-pw@127.0.0.1:1/drip?sslmode=disable&connect_timeout=5",
		"postgres://drip:s3cret-pw@[::1/drip",
	} {
		_, _, _, err := storeopen.Open(context.Background(), url)
		if err == nil {
			t.Fatalf("%s: opened", url)
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

func TestSQLiteErrorNamesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "drip.db")
	_, _, _, err := storeopen.Open(context.Background(), "sqlite:"+path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("opening a file in a missing directory: %v", err)
	}
}
