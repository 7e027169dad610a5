package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/drip-email/drip/store/pgtest"
)

// TestInstanceSessionLost: the server ends the session that holds an
// instance's lock (a restart, a broken connection). Others then find it
// dead; its next Renew registers it again, after which it is alive.
func TestInstanceSessionLost(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewMigrated(t)
	s := openDSN(t, dsn)
	in, err := s.InstanceRegister(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	err = admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the lock's session: %d sessions, %v", killed, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := s.LeasesRescue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Owners) == 1 && r.Owners[0] == "victim" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the instance whose session ended is not found dead")
		}
		time.Sleep(20 * time.Millisecond)
	}
	renewed, err := in.Renew(ctx)
	if err != nil || !renewed {
		t.Fatalf("Renew after the session ended = %v, %v; want registered again", renewed, err)
	}
	if renewed, err := in.Renew(ctx); err != nil || renewed {
		t.Fatalf("a second Renew = %v, %v; want it held", renewed, err)
	}
	if r, err := s.LeasesRescue(ctx); err != nil || len(r.Owners) != 0 {
		t.Fatalf("LeasesRescue after Renew = %+v, %v; want nobody dead", r, err)
	}
}
