package migrations_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store/pgtest"
)

// childEnv makes the test binary a migrating child process (see TestMain).
const childEnv = "DRIP_MIGRATIONS_TEST_CHILD_DSN"

var tables = []string{"prospects", "enrollments", "sends", "events", "suppressions", "inbound",
	"mailbox_cursors", "mailbox_leases", "sender_daily", "secrets", "sessions_revoked", "users"}

func TestMain(m *testing.M) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		os.Exit(child(dsn))
	}
	os.Exit(m.Run())
}

// child connects, waits for its parent to close stdin (so that all
// children migrate at the same moment), migrates and prints how many
// migrations it applied.
func child(dsn string) int {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	n, err := migrations.Up(ctx, db, migrations.Postgres)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("applied=%d\n", n)
	return 0
}

func TestSQLite(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkUpOnce(t, db, migrations.SQLite)
	assertTables(t, db, `SELECT name FROM sqlite_master WHERE type = 'table'`)
}

func TestPostgres(t *testing.T) {
	db, err := sql.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkUpOnce(t, db, migrations.Postgres)
	assertTables(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
}

// checkUpOnce: the first Up applies everything, the second nothing.
func checkUpOnce(t *testing.T, db *sql.DB, dialect string) {
	t.Helper()
	ctx := context.Background()
	if pending, err := migrations.Pending(ctx, db, dialect); err != nil || !pending {
		t.Fatalf("Pending on an empty database = %v, %v", pending, err)
	}
	n, err := migrations.Up(ctx, db, dialect)
	if err != nil {
		t.Fatal(err)
	}
	list, err := migrations.List(ctx, db, dialect)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != len(list) {
		t.Fatalf("first Up applied %d of %d migrations", n, len(list))
	}
	for _, m := range list {
		if !m.Applied || m.AppliedAt.IsZero() || !strings.HasSuffix(m.Name, ".sql") && !strings.HasSuffix(m.Name, ".go") {
			t.Fatalf("after Up: %+v", m)
		}
	}
	if n, err := migrations.Up(ctx, db, dialect); err != nil || n != 0 {
		t.Fatalf("second Up applied %d, %v", n, err)
	}
	if pending, err := migrations.Pending(ctx, db, dialect); err != nil || pending {
		t.Fatalf("Pending after Up = %v, %v", pending, err)
	}
}

func assertTables(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		have[name] = true
	}
	for _, want := range tables {
		if !have[want] {
			t.Fatalf("table %s missing; have %v", want, have)
		}
	}
}

func TestUnknownDialect(t *testing.T) {
	if _, err := migrations.Up(context.Background(), nil, "mysql"); err == nil || !strings.Contains(err.Error(), "mysql") {
		t.Fatalf("Up with an unknown dialect: %v", err)
	}
}

// TestPostgresConcurrentProcesses: several processes (`drip serve` on
// several machines) migrate one fresh database at once. The advisory lock
// lets one apply each migration; the others wait and find nothing to do.
func TestPostgresConcurrentProcesses(t *testing.T) {
	const procs = 4
	dsn := pgtest.NewDatabase(t)
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	hold, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback() }()
	if _, err := hold.Exec(`CREATE TABLE prospects (id integer)`); err != nil {
		t.Fatal(err)
	}
	type proc struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		stdout *bufio.Reader
		stderr *bytes.Buffer
	}
	var children []proc
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dsn)
		p := proc{cmd: cmd, stderr: &bytes.Buffer{}}
		cmd.Stderr = p.stderr
		var err error
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.stdout = bufio.NewReader(out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		// Go once every child is connected.
		if line, err := p.stdout.ReadString('\n'); line != "ready\n" {
			t.Fatalf("child %d: %q, %v", i, line, err)
		}
		children = append(children, p)
	}
	for _, p := range children {
		_ = p.stdin.Close()
	}
	// Hold the first migrator inside its migration until the others had
	// every chance to barge in (goose retries a contended version table
	// after a second): without the lock they would all queue behind our
	// uncommitted table of the same name, and then collide.
	blockedMigrators(t, admin, 1, time.Minute)
	blockedMigrators(t, admin, procs, 1500*time.Millisecond)
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	var applied []int
	for i, p := range children {
		rest, _ := io.ReadAll(p.stdout)
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, p.stderr)
		}
		var n int
		if _, err := fmt.Sscanf(string(rest), "applied=%d", &n); err != nil {
			t.Fatalf("child %d said %q", i, rest)
		}
		applied = append(applied, n)
	}
	sort.Ints(applied)

	db := admin
	list, err := migrations.List(context.Background(), db, migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, n := range applied {
		sum += n
	}
	if sum != len(list) || applied[procs-1] != len(list) {
		t.Fatalf("children applied %v migrations, want %d by one of them and 0 by the others", applied, len(list))
	}
	// goose's table: each version recorded once.
	rows, err := db.Query(`SELECT version_id, count(*) FROM goose_db_version GROUP BY version_id ORDER BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var versions []string
	for rows.Next() {
		var v, n int64
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("version %d recorded %d times", v, n)
		}
		versions = append(versions, fmt.Sprint(v))
	}
	if len(versions) != len(list)+1 { // + goose's version 0
		t.Fatalf("versions recorded: %v, want 0 and %d migrations", versions, len(list))
	}
	for _, m := range list {
		if !m.Applied {
			t.Fatalf("migration %s not applied", m.Name)
		}
	}
	assertTables(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
}

// blockedMigrators waits up to d for want sessions of the database to wait
// for a lock (migrators behind the test's open transaction). Fewer than
// want after d is fine (they may be waiting for the migration lock
// instead); none is not.
func blockedMigrators(t *testing.T, db *sql.DB, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	n := 0
	for time.Now().Before(deadline) {
		err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n >= want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n == 0 {
		t.Fatal("no migrator reached the migration")
	}
}
