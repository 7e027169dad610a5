package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/storeopen"
)

// childEnv carries a child's spec (JSON).
const childEnv = "DRIPBENCH_CHILD"

// spec is one job for a child process.
type spec struct {
	Bench string
	Store string // sqlite | postgres
	DB    string // database URL (fresh, or a fixture)
	DB2   string // claim: the large fixture (DB is the small one)
	N     int    // size: messages, rows, replies, enrolled
	Due   int    // claim/seed: due enrollments in a fixture
	Run   int
	T0    time.Time // the fixtures' "now"
	Idle  time.Duration
	Work  string // scratch directory of this job
	// rss: the parent's SMTP sink and IMAP server.
	SMTPAddr, IMAPAddr string
	Profile            string // where to write profiles ("" = none)
}

// result is what a child measured: named figures, plus notes for the table.
type result struct {
	Bench   string             `json:"bench"`
	Store   string             `json:"store"`
	Run     int                `json:"run"`
	Figures map[string]float64 `json:"figures"`
}

func childMain(raw string) int {
	var sp spec
	if err := json.Unmarshal([]byte(raw), &sp); err != nil {
		fmt.Fprintln(os.Stderr, "dripbench child: bad spec:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	jobs := map[string]func(context.Context, spec) (map[string]float64, error){
		"seed":       seedFixture,
		"import":     benchImport,
		"claim":      benchClaim,
		"delivery":   benchDelivery,
		"delivery20": benchDelivery20,
		"reply":      benchReply,
		"rss":        benchServe,
	}
	job, ok := jobs[sp.Bench]
	if !ok {
		fmt.Fprintln(os.Stderr, "dripbench child: unknown job", sp.Bench)
		return 2
	}
	figs, err := job(ctx, sp)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dripbench child %s/%s: %v\n", sp.Bench, sp.Store, err)
		return 1
	}
	out, _ := json.Marshal(result{Bench: sp.Bench, Store: sp.Store, Run: sp.Run, Figures: figs})
	fmt.Println(string(out))
	return 0
}

// progress logs a line on the child's stderr (shown with -v).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "  "+format+"\n", args...)
}

// openStore opens and migrates the job's store.
func openStore(ctx context.Context, url string) (store.Store, error) {
	st, _, err := openStoreDB(ctx, url)
	return st, err
}

// openStoreDB is openStore, also returning the pool migrations run on (the
// writer, on SQLite) for the few statements a benchmark runs itself.
func openStoreDB(ctx context.Context, url string) (store.Store, *sql.DB, error) {
	st, dialect, db, err := storeopen.Open(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	if _, err := migrations.Up(ctx, db, dialect); err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, db, nil
}

// profiler records a CPU profile of a measured phase, and the allocations
// made during it (the "allocs" profile written at stop).
type profiler struct {
	f    *os.File
	base string
}

func startProfile(sp spec, phase string) *profiler {
	if sp.Profile == "" {
		return nil
	}
	base := filepath.Join(sp.Profile, fmt.Sprintf("%s-%s-%s-run%d", sp.Bench, phase, sp.Store, sp.Run))
	f, err := os.Create(base + ".cpu.pprof")
	if err != nil {
		progress("profile: %v", err)
		return nil
	}
	runtime.MemProfileRate = 64 << 10
	if err := pprof.StartCPUProfile(f); err != nil {
		progress("profile: %v", err)
		f.Close()
		return nil
	}
	return &profiler{f: f, base: base}
}

func (p *profiler) stop() {
	if p == nil {
		return
	}
	pprof.StopCPUProfile()
	p.f.Close()
	if f, err := os.Create(p.base + ".allocs.pprof"); err == nil {
		_ = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
}

// procStatus reads a "kB" field of /proc/self/status, in bytes (0 where
// there is no /proc).
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n << 10
		}
	}
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// rssSampler keeps the largest VmRSS seen while it runs.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	peak int64
}

func sampleRSS(every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if v := procStatus("VmRSS"); v > s.peak {
				s.peak = v
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop returns the peak.
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	<-s.done
	return s.peak
}

// quietLog is the engine's logger: warnings and errors only, on stderr.
func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
