package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
	"github.com/drip-email/drip/store/storeopen"
)

// The pages must render in under 100 ms of server time with 100,000
// prospects. BenchmarkPages seeds that many (with their enrollments) into a
// SQLite file and into a PostgreSQL database (skipped without one, see
// store/pgtest), then times each page through the handler:
//
//	go test -run '^$' -bench Pages -benchtime 20x ./web/
//	go test -run '^$' -bench 'Pages/postgres/Search' -benchtime 20x ./web/
//
// Each page reports its mean (ms/op), median (p50-ms) and slowest (max-ms)
// of the runs.

const (
	benchProspects = 100_000
	benchPaused    = 300 // a rare state, for the state filter
)

// benchPages are the pages timed, with a text each must show.
var benchPages = []struct{ name, path, want string }{
	{"ListFirstPage", "/ui/prospects", "1–50 of more than 10000"},
	{"ListSearch", "/ui/prospects?q=company0042", "1–20 of 20"},
	{"ListSearchAccentedCompany", "/ui/prospects?q=" + url.QueryEscape("caffè 0042"), "1–20 of 20"},
	// Case folded for every letter (store.SearchFold), not A–Z only.
	{"ListSearchFoldedCompany", "/ui/prospects?q=" + url.QueryEscape("CAFFÈ 0042"), "1–20 of 20"},
	{"ListSearchFoldedName", "/ui/prospects?q=" + url.QueryEscape("WIŚNIEWSKA"), "1–50 of more than 10000"},
	{"ListStateFilter", "/ui/prospects?state=paused", fmt.Sprintf("1–50 of %d", benchPaused)},
	{"ListStateFilterCommon", "/ui/prospects?state=active", "1–50 of more than 10000"},
	{"ListDeepPage", "/ui/prospects?page=1900", "94951–95000 of more than 95000"},
	{"ProspectPage", "/ui/prospects/lead050000@company0000.example", "lead050000@company0000.example"},
	{"Funnel", "/ui/funnel", "100000 enrolled"},
}

func BenchmarkPages(b *testing.B) {
	stores := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "drip.db") }},
		{"postgres", func(b *testing.B) string { return pgtest.NewDatabase(b) }},
	}
	for _, sc := range stores {
		b.Run(sc.name, func(b *testing.B) {
			// Calling b.Run makes this function run once: the store is
			// seeded once for all its pages.
			st := seedBench(b, sc.url(b))
			for _, p := range benchPages {
				b.Run(p.name, func(b *testing.B) { benchPage(b, st, p.path, p.want) })
			}
		})
	}
}

func seedBench(b *testing.B, databaseURL string) store.Store {
	b.Helper()
	ctx := context.Background()
	st, dialect, db, err := storeopen.Open(ctx, databaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := migrations.Up(ctx, db, dialect); err != nil {
		b.Fatal(err)
	}
	cfg := testConfig(b)
	seq := cfg.Sequences["trade-fair"]
	start := time.Now()
	e := store.Enrollment{State: store.StateActive, FirstContact: t0, Anchor: t0}
	next := sequencer.Plan(e, seq, seq.Location, t0)
	firsts := []string{"Zoë", "Giulia", "Marek", "Anna", "Luca", "Katarzyna", "Jan", "Sofia"}
	lasts := []string{"Müller", "Bianchi", "Kowalski", "Nowak", "Ferrari", "Wiśniewska", "Dąbrowski", "Romano"}
	const batch = 1000
	rows := make([]store.ImportRow, 0, batch)
	for i := range benchProspects {
		company := fmt.Sprintf("Caffè %04d", i%5000) // 20 prospects a company
		rows = append(rows, store.ImportRow{
			Line: i + 2,
			Prospect: store.Prospect{
				Email:     fmt.Sprintf("lead%06d@company%04d.example", i, i%5000),
				FirstName: firsts[i%len(firsts)], LastName: lasts[i%len(lasts)], Company: company,
				MetAt: "Host Milano", UpdatedAt: t0, CreatedAt: t0,
			},
			Sequence: "trade-fair", Sender: "maria", FirstContact: t0, NextSendAt: next,
		})
		if len(rows) == batch {
			if _, err := st.ImportBatch(ctx, rows); err != nil {
				b.Fatalf("seeding: %v", err)
			}
			rows = rows[:0]
		}
	}
	imported := time.Since(start)
	control := &sequencer.Control{Store: st, Clock: fixedClock{t0}, Config: cfg}
	for i := range benchPaused {
		// Spread over the alphabet, so that a page of them is not the first rows.
		email := fmt.Sprintf("lead%06d@company%04d.example", i*(benchProspects/benchPaused), (i*(benchProspects/benchPaused))%5000)
		if _, err := control.Pause(ctx, email); err != nil {
			b.Fatalf("seeding pauses: %v", err)
		}
	}
	if dialect == migrations.Postgres {
		// What autovacuum does within a minute of the import on a running
		// server: the planner's statistics of the new rows.
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: seeded %d prospects in %v (+%d pauses in %v)", dialect, benchProspects, imported.Round(time.Millisecond),
		benchPaused, (time.Since(start) - imported).Round(time.Millisecond))
	return st
}

// benchPage times one page through the handler, signed in.
func benchPage(b *testing.B, st store.Store, path, want string) {
	r := newRigOn(b, st, nil)
	h := r.srv.Config.Handler
	signin := httptest.NewRequest(http.MethodPost, "/ui/signin", strings.NewReader(url.Values{"token": {token}}.Encode()))
	signin.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, signin)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		b.Fatalf("sign in: status %d, cookies %v", rec.Code, cookies)
	}
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(cookies[0])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// Once, checked, and warming the caches as a running server's are.
	if rec := get(); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
		b.Fatalf("GET %s: status %d, body lacks %q\n%.2000s", path, rec.Code, want, rec.Body.String())
	}
	var took []time.Duration
	for b.Loop() {
		t := time.Now()
		if rec := get(); rec.Code != http.StatusOK {
			b.Fatalf("GET %s: status %d", path, rec.Code)
		}
		took = append(took, time.Since(t))
	}
	var sum time.Duration
	for _, d := range took {
		sum += d
	}
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(sum)/float64(len(took)), "ms/op")
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)-1]), "max-ms")
}
