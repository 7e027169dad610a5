package storetest

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

func testImportBatch(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	noErr(t, s.SuppressionAdd(ctx, "blocked@example.com", "complaint", "", "", t0))
	next := t0.Add(24 * time.Hour)
	rows := []store.ImportRow{
		{Line: 2, Sequence: "fair", Sender: "rep1", FirstContact: t0, NextSendAt: &next,
			Prospect: store.Prospect{Email: "Anna@Example.com", FirstName: "Anna", Company: "Alpha", Fields: map[string]string{"booth": "A1"}}},
		{Line: 3, Sequence: "fair", Sender: "rep1", FirstContact: t0, NextSendAt: &next,
			Prospect: store.Prospect{Email: "blocked@EXAMPLE.com", FirstName: "Blocked"}},
		{Line: 4, Sequence: "fair", Sender: "rep1", FirstContact: t0, NextSendAt: &next,
			Prospect: store.Prospect{Email: "bruno@example.com", FirstName: "Bruno"}},
		// The same address again in the same file: an update, not a second prospect.
		{Line: 5, Sequence: "fair", Sender: "rep2", FirstContact: t0.Add(time.Hour), NextSendAt: &next,
			Prospect: store.Prospect{Email: "anna@example.com", LastName: "Ascari", Fields: map[string]string{"size": "M"}}},
		{Line: 6, Prospect: store.Prospect{Email: " "}},
	}
	res := must(s.ImportBatch(ctx, rows))(t)
	if len(res) != len(rows) {
		t.Fatalf("%d results for %d rows", len(res), len(rows))
	}
	for i, want := range []struct {
		created bool
		err     error
	}{{true, nil}, {false, store.ErrSuppressed}, {true, nil}, {false, nil}} {
		if res[i].Line != rows[i].Line || res[i].Created != want.created || (want.err == nil) != (res[i].Err == nil) {
			t.Fatalf("result %d = %+v, want created=%v err=%v", i, res[i], want.created, want.err)
		}
		if want.err != nil {
			wantErr(t, res[i].Err, want.err)
		}
	}
	if res[4].Err == nil {
		t.Fatal("a row without an address was accepted")
	}
	// The suppressed row wrote nothing.
	_, err := s.ProspectGetByEmail(ctx, "blocked@example.com")
	wantErr(t, err, store.ErrNotFound)

	anna := must(s.ProspectGetByEmail(ctx, "anna@example.com"))(t)
	if anna.FirstName != "Anna" || anna.LastName != "Ascari" || anna.Company != "Alpha" || anna.Fields["booth"] != "A1" || anna.Fields["size"] != "M" {
		t.Fatalf("anna = %+v", anna)
	}
	es := must(s.EnrollmentsByProspect(ctx, anna.ID))(t)
	if len(es) != 1 || es[0].Sequence != "fair" || es[0].Sender != "rep1" || es[0].State != store.StateActive ||
		!es[0].FirstContact.Equal(t0) || !es[0].Anchor.Equal(t0) {
		t.Fatalf("anna's enrollments = %+v (the first row asking for a sequence decides)", es)
	}
	sameTime(t, "NextSendAt", es[0].NextSendAt, &next)
	if n := countKind(timelineKinds(t, s, anna.ID), store.EventEnrolled); n != 1 {
		t.Fatalf("%d enrolled events for anna, want 1", n)
	}

	// Re-import: updates, never duplicates; running enrollments stay as
	// they are; a new sequence enrols.
	if n := len(must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: next, LeaseUntil: next.Add(time.Minute), Limit: 10}))(t)); n != 2 {
		t.Fatalf("claimed %d, want anna's and bruno's", n)
	}
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: es[0].ID, Owner: "A", LastStep: 1, NextSendAt: ptr(next.Add(time.Hour))}}))(t)[0])
	before := must(s.EnrollmentGet(ctx, es[0].ID))(t)
	res = must(s.ImportBatch(ctx, []store.ImportRow{
		{Line: 2, Sequence: "fair", Sender: "rep3", FirstContact: t0.Add(48 * time.Hour), NextSendAt: ptr(t0.Add(72 * time.Hour)),
			Prospect: store.Prospect{Email: "ANNA@example.com", Company: "Alpha Group", Fields: map[string]string{"booth": "A2"}}},
		{Line: 3, Sequence: "webinar", Sender: "rep1", FirstContact: t0, NextSendAt: &next,
			Prospect: store.Prospect{Email: "bruno@example.com"}},
	}))(t)
	if res[0].Created || res[0].Err != nil || res[1].Created || res[1].Err != nil {
		t.Fatalf("re-import results = %+v", res)
	}
	anna = must(s.ProspectGetByEmail(ctx, "anna@example.com"))(t)
	if anna.FirstName != "Anna" || anna.Company != "Alpha Group" || anna.Fields["booth"] != "A2" || anna.Fields["size"] != "M" {
		t.Fatalf("anna after re-import = %+v", anna)
	}
	after := must(s.EnrollmentGet(ctx, es[0].ID))(t)
	if after.Version != before.Version || after.Sender != "rep1" || after.LastStep != 1 || !after.FirstContact.Equal(t0) {
		t.Fatalf("re-import changed the running enrollment: %+v", after)
	}
	sameTime(t, "NextSendAt", after.NextSendAt, before.NextSendAt)
	if n := len(must(s.EnrollmentsByProspect(ctx, anna.ID))(t)); n != 1 {
		t.Fatalf("anna has %d enrollments after re-import", n)
	}
	if n := countKind(timelineKinds(t, s, anna.ID), store.EventEnrolled); n != 1 {
		t.Fatalf("%d enrolled events for anna after re-import, want 1", n)
	}
	bruno := must(s.ProspectGetByEmail(ctx, "bruno@example.com"))(t)
	if bs := must(s.EnrollmentsByProspect(ctx, bruno.ID))(t); len(bs) != 2 || bs[1].Sequence != "webinar" {
		t.Fatalf("bruno's enrollments = %+v", bs)
	}
	if _, total := must2(s.ProspectList(ctx, store.ProspectFilter{}))(t); total != 2 {
		t.Fatalf("%d prospects, want 2", total)
	}
}

// BenchmarkImport imports b.N batches of n new prospects, each enrolled,
// and reports rows/s of wall time. The machine may be busy with other work,
// so it also reports rows per second of CPU: this process's, plus the
// database server's when serverCPU can tell (nil: an in-process database).
// A row may carry an anchor apart from its first contact (a late start at
// step 1): the enrollment keeps both; without one the anchor is the first
// contact.
func testImportBatchAnchor(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	first := t0.Add(-95 * 24 * time.Hour)
	anchor := t0.Add(-10 * 24 * time.Hour)
	res := must(s.ImportBatch(ctx, []store.ImportRow{
		{Line: 2, Sequence: "fair", Sender: "rep1", FirstContact: first, Anchor: anchor, NextSendAt: &t0,
			Prospect: store.Prospect{Email: "late@example.com"}},
		{Line: 3, Sequence: "fair", Sender: "rep1", FirstContact: first, NextSendAt: &t0,
			Prospect: store.Prospect{Email: "plain@example.com"}},
	}))(t)
	for _, r := range res {
		noErr(t, r.Err)
	}
	for email, want := range map[string]time.Time{"late@example.com": anchor, "plain@example.com": first} {
		p := must(s.ProspectGetByEmail(ctx, email))(t)
		es := must(s.EnrollmentsByProspect(ctx, p.ID))(t)
		if len(es) != 1 || !es[0].FirstContact.Equal(first) || !es[0].Anchor.Equal(want) {
			t.Fatalf("%s: enrollments %+v, want first contact %v and anchor %v", email, es, first, want)
		}
	}
}

func BenchmarkImport(b *testing.B, s store.Store, n int, serverCPU func() time.Duration) {
	ctx := context.Background()
	var wall, cpu, server time.Duration
	for i := range b.N {
		rows := make([]store.ImportRow, n)
		for j := range rows {
			rows[j] = store.ImportRow{Line: j + 2, Sequence: "fair", Sender: "rep1", FirstContact: t0, NextSendAt: ptr(t0.Add(time.Hour)),
				Prospect: store.Prospect{Email: fmt.Sprintf("lead%d.%d@bench.example", i, j), FirstName: "Lead", LastName: "Bench",
					Company: "Bench Ltd", Fields: map[string]string{"booth": "A1"}}}
		}
		began, cpu0 := time.Now(), processCPU()
		var server0 time.Duration
		if serverCPU != nil {
			server0 = serverCPU()
		}
		res, err := s.ImportBatch(ctx, rows)
		wall += time.Since(began)
		cpu += processCPU() - cpu0
		if serverCPU != nil {
			server += serverCPU() - server0
		}
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil || !r.Created {
				b.Fatalf("line %d: created=%v err=%v", r.Line, r.Created, r.Err)
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/wall.Seconds(), "rows/s")
	b.ReportMetric(float64(n*b.N)/(cpu+server).Seconds(), "rows/cpu-s")
	if serverCPU != nil {
		b.ReportMetric(server.Seconds()/float64(b.N), "server-cpu-s/op")
		b.ReportMetric(cpu.Seconds()/float64(b.N), "client-cpu-s/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
