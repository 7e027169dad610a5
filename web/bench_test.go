package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// The pages must render in under 100 ms of server time with 100,000
// prospects. These benchmarks seed that many (with their enrollments) into
// a SQLite file once, then time each page through the handler:
//
//	go test -run '^$' -bench . -benchtime 20x ./web/

const (
	benchProspects = 100_000
	benchPaused    = 300 // a rare state, for the state filter
)

var bench struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchDB is the path of the seeded database, made on first use.
func benchDB(b *testing.B) string {
	b.Helper()
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "drip-web-bench")
		if bench.err != nil {
			return
		}
		bench.path = filepath.Join(bench.dir, "drip.db")
		bench.err = seedBench(b, bench.path)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.path
}

func seedBench(b *testing.B, path string) error {
	ctx := context.Background()
	st := openStore(b, path)
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
				return fmt.Errorf("seeding: %w", err)
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
			return fmt.Errorf("seeding pauses: %w", err)
		}
	}
	b.Logf("seeded %d prospects in %v (+%d pauses in %v)", benchProspects, imported.Round(time.Millisecond),
		benchPaused, (time.Since(start) - imported).Round(time.Millisecond))
	return nil
}

// benchPage times one page through the handler, signed in.
func benchPage(b *testing.B, path, want string) {
	st := openStore(b, benchDB(b))
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
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if rec := get(); rec.Code != http.StatusOK {
			b.Fatalf("GET %s: status %d", path, rec.Code)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}

func BenchmarkListFirstPage(b *testing.B) {
	benchPage(b, "/ui/prospects", "1–50 of 100000")
}

func BenchmarkListSearch(b *testing.B) {
	benchPage(b, "/ui/prospects?q=company0042", "1–20 of 20")
}

func BenchmarkListSearchAccentedCompany(b *testing.B) {
	benchPage(b, "/ui/prospects?q="+url.QueryEscape("caffè 0042"), "1–20 of 20")
}

func BenchmarkListStateFilter(b *testing.B) {
	benchPage(b, "/ui/prospects?state=paused", fmt.Sprintf("1–50 of %d", benchPaused))
}

func BenchmarkListStateFilterCommon(b *testing.B) {
	benchPage(b, "/ui/prospects?state=active", fmt.Sprintf("1–50 of %d", benchProspects-benchPaused))
}

func BenchmarkListDeepPage(b *testing.B) {
	benchPage(b, "/ui/prospects?page=1900", "94951–95000 of 100000")
}

func BenchmarkProspectPage(b *testing.B) {
	benchPage(b, "/ui/prospects/lead050000@company0000.example", "lead050000@company0000.example")
}

func BenchmarkFunnel(b *testing.B) {
	benchPage(b, "/ui/funnel", "100000 enrolled")
}
