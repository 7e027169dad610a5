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

// TestWebhookOrderAcrossOpenTransactions: ids are drawn before commit, so
// a prospect's earlier event (in a transaction still open) can have a lower
// outbox id than a later one already committed. The later one is not
// handed out until the earlier one's transaction ends; then they come in
// order.
func TestWebhookOrderAcrossOpenTransactions(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if err := s.WebhooksSync(ctx, []store.WebhookTarget{{URL: "http://127.0.0.1:1/h"}}); err != nil {
		t.Fatal(err)
	}
	p := store.Prospect{Email: "ola@example.com", CreatedAt: t0}
	if _, err := s.ProspectUpsert(ctx, &p); err != nil {
		t.Fatal(err)
	}
	var ens []store.Enrollment
	for _, seq := range []string{"fair", "webinar"} {
		e := store.Enrollment{ProspectID: p.ID, Sequence: seq, Sender: "rep1", FirstContact: t0, NextSendAt: &t0, CreatedAt: t0}
		if _, err := s.EnrollmentCreate(ctx, &e); err != nil {
			t.Fatal(err)
		}
		ens = append(ens, e)
	}
	now := t0.Add(time.Hour)
	deliverAll := func() []store.EventKind {
		var kinds []store.EventKind
		for {
			ds, err := s.WebhookClaim(ctx, "A", now, now.Add(time.Minute), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) == 0 {
				return kinds
			}
			for _, d := range ds {
				kinds = append(kinds, d.Kind)
				if err := s.WebhookDelivered(ctx, d.ID, "A"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if got := deliverAll(); len(got) != 2 {
		t.Fatalf("enrolments delivered: %v", got)
	}
	// A reply recorded in a transaction left open (the fair enrollment) ...
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (prospect_id, enrollment_id, sequence, kind, at) VALUES ($1, $2, 'fair', 'reply', $3)`,
		p.ID, ens[0].ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// ... then the webinar enrollment completes, committed at once.
	if err := s.EventAdd(ctx, store.Event{EnrollmentID: ens[1].ID, Kind: store.EventCompleted, At: t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got := deliverAll(); len(got) != 0 {
		t.Fatalf("delivered %v while an earlier event of the prospect was uncommitted", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := deliverAll(); len(got) != 2 || got[0] != store.EventReply || got[1] != store.EventCompleted {
		t.Fatalf("after the commit: %v, want reply then completed", got)
	}
}
