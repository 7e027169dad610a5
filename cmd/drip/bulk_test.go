package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
)

// Ten thousand prospects paused from a file in one command.
func TestBulkPauseTenThousand(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	const n = 10_000
	var list, pause strings.Builder
	list.WriteString("email,company\n")
	pause.WriteString("# from the CRM\n")
	for i := range n {
		fmt.Fprintf(&list, "lead%05d@example.com,Company %d\n", i, i%100)
		fmt.Fprintf(&pause, "lead%05d@example.com\n", i)
	}
	pause.WriteString("nobody@example.com\n")
	e.mustDrip("import", "--sequence", "trade-fair", e.write("list.csv", []byte(list.String())))

	start := time.Now()
	out, errOut, code := e.drip("bulk", "pause", e.write("pause.txt", []byte(pause.String())))
	took := time.Since(start)
	if code != 1 || strings.TrimSpace(out) != "paused=10000 unchanged=0 unknown=1 invalid=0" || !strings.Contains(errOut, "unknown: nobody@example.com") {
		t.Fatalf("bulk pause: exit %d %q\n%s", code, out, errOut)
	}
	t.Logf("paused %d prospects in %v", n, took.Round(time.Millisecond))
	st, err := e.control().Stats(context.Background(), "trade-fair")
	if err != nil {
		t.Fatal(err)
	}
	if st.Enrollments[store.StatePaused] != n || st.Enrollments[store.StateActive] != 0 {
		t.Errorf("enrollments by state %v, want %d paused", st.Enrollments, n)
	}
	// Again: nothing left to pause.
	out, _, _ = e.drip("bulk", "pause", e.write("again.txt", []byte("lead00001@example.com\n")))
	if strings.TrimSpace(out) != "paused=0 unchanged=1 unknown=0 invalid=0" {
		t.Errorf("second pause: %q", out)
	}
	if _, errOut, code := e.drip("bulk", "unenroll", e.write("u.txt", []byte("lead00001@example.com\n"))); code != 2 || !strings.Contains(errOut, "--sequence") {
		t.Errorf("unenroll without --sequence: exit %d %q", code, errOut)
	}
	out = e.mustDrip("bulk", "unenroll", "--sequence", "trade-fair", e.write("u2.txt", []byte("lead00001@example.com\nlead00002@example.com\n")))
	if strings.TrimSpace(out) != "unenrolled=2 unchanged=0 unknown=0 invalid=0" {
		t.Errorf("bulk unenroll: %q", out)
	}
}
