package migrations_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"time"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store/pgtest"
)

// Prospects stored before search_fold existed get it from the Go
// migration: folded names and company, nothing for a forgotten one.
func TestSearchFoldBackfill(t *testing.T) {
	for _, tc := range []struct{ dialect, driver, dsn string }{
		{migrations.SQLite, "sqlite", filepath.Join(t.TempDir(), "b.db") + "?_pragma=foreign_keys(1)"},
		{migrations.Postgres, "postgres", ""},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			dsn := tc.dsn
			var at any = int64(0)
			if tc.dialect == migrations.Postgres {
				at = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				dsn = pgtest.NewDatabase(t)
			}
			db, err := sql.Open(tc.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			if err := migrations.UpToForTest(ctx, db, tc.dialect, migrations.SearchFoldVersion-1); err != nil {
				t.Fatal(err)
			}
			for _, r := range [][4]any{
				{"a@example.pl", "Żaneta", "ŻÓŁĆ", "Łódzkie Zakłady"},
				{"b@example.it", "NICCOLÒ", "", ""},
				{"c@example.com", "", "", ""},
			} {
				if _, err := db.ExecContext(ctx, `INSERT INTO prospects (email, email_norm, email_hash, first_name, last_name, company, created_at, updated_at)
					VALUES ($1, $2, '', $3, $4, $5, $6, $6)`, r[0], r[0], r[1], r[2], r[3], at); err != nil {
					t.Fatalf("inserting a prospect the old way: %v", err)
				}
			}
			if _, err := migrations.Up(ctx, db, tc.dialect); err != nil {
				t.Fatal(err)
			}
			want := map[int]string{1: "żaneta żółć\x1fłódzkie zakłady", 2: "niccolò\x1f", 3: ""}
			for id, w := range want {
				var got string
				if err := db.QueryRowContext(ctx, `SELECT search_fold FROM prospects WHERE id = $1`, id).Scan(&got); err != nil || got != w {
					t.Errorf("prospect %d: search_fold %q %v, want %q", id, got, err, w)
				}
			}
		})
	}
}
