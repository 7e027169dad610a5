// Command dripbench measures drip against baselines taken in the same run
// and prints a table and one JSON line:
//
//	go run ./cmd/dripbench [-store sqlite|postgres|both] [-pg URL] [-quick]
//	                       [-only delivery,delivery20,claim,import,reply,rss] [-runs 3]
//	                       [-profile DIR]
//
// Every measurement runs in a child process of its own (this binary again,
// told what to do by DRIPBENCH_CHILD), so that one benchmark's heap and
// caches do not colour the next one and each peak RSS is that of one job.
// PostgreSQL needs a server: -pg URL or $DRIP_TEST_POSTGRES_URL (a role
// that may create databases; scripts/postgres.sh starts a throwaway one).
// Each job gets a database of its own, dropped at the end.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/drip-email/drip/mailer/smtptest"
)

// benches in the order they run within one round.
var benches = []string{"import", "claim", "delivery", "delivery20", "reply", "rss"}

func main() {
	if raw := os.Getenv(childEnv); raw != "" {
		os.Exit(childMain(raw))
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dripbench:", err)
		os.Exit(1)
	}
}

type options struct {
	stores  []string
	pg      string
	quick   bool
	only    []string
	runs    int
	profile string
	verbose bool
	keep    bool
}

func parseFlags() (options, error) {
	var o options
	storeFlag := flag.String("store", "both", "sqlite, postgres or both")
	flag.StringVar(&o.pg, "pg", os.Getenv("DRIP_TEST_POSTGRES_URL"), "PostgreSQL server URL (default $DRIP_TEST_POSTGRES_URL); the role must be able to CREATE DATABASE")
	flag.BoolVar(&o.quick, "quick", false, "small sizes, one run: a smoke test, not figures to quote")
	only := flag.String("only", "", "comma-separated benchmarks to run (default all): "+strings.Join(benches, ","))
	flag.IntVar(&o.runs, "runs", 3, "rounds of every benchmark; the table shows the median and the spread")
	flag.StringVar(&o.profile, "profile", "", "write CPU and allocation profiles of every measured phase into this directory")
	flag.BoolVar(&o.verbose, "v", false, "show the children's progress on stderr")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch directory and databases")
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	switch *storeFlag {
	case "both":
		o.stores = []string{"sqlite", "postgres"}
	case "sqlite", "postgres":
		o.stores = []string{*storeFlag}
	default:
		return o, fmt.Errorf("-store %q: want sqlite, postgres or both", *storeFlag)
	}
	if slices.Contains(o.stores, "postgres") && o.pg == "" {
		return o, errors.New("PostgreSQL needs a server: pass -pg URL or set DRIP_TEST_POSTGRES_URL (scripts/postgres.sh starts one), or use -store sqlite")
	}
	o.only = benches
	if *only != "" {
		o.only = nil
		for _, b := range strings.Split(*only, ",") {
			b = strings.TrimSpace(b)
			if !slices.Contains(benches, b) {
				return o, fmt.Errorf("-only: unknown benchmark %q (have %s)", b, strings.Join(benches, ", "))
			}
			o.only = append(o.only, b)
		}
	}
	if o.quick && !isSet("runs") {
		o.runs = 1
	}
	if o.runs < 1 {
		return o, fmt.Errorf("-runs %d: want at least 1", o.runs)
	}
	return o, nil
}

func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// sizes are the scale of each benchmark.
type sizes struct {
	DeliveryMsgs int // messages each side of the delivery comparison
	// DeliverySlowMsgs: the same against a server answering each message
	// after 20 ms, as real providers do (they take tens to hundreds).
	DeliverySlowMsgs int
	ClaimSmall       int // enrolled in the small claim fixture
	ClaimLarge       int // enrolled in the large one (also the serving fixture)
	ClaimDue         int // due in each
	ImportRows       int
	Replies          int
	IdleFor          time.Duration // how long the serving process idles after its claims
}

func sizesFor(quick bool) sizes {
	if quick {
		return sizes{DeliveryMsgs: 2000, DeliverySlowMsgs: 800, ClaimSmall: 10_000, ClaimLarge: 100_000, ClaimDue: 1000,
			ImportRows: 100_000, Replies: 50, IdleFor: 3 * time.Second}
	}
	return sizes{DeliveryMsgs: 20_000, DeliverySlowMsgs: 4000, ClaimSmall: 10_000, ClaimLarge: 1_000_000, ClaimDue: 1000,
		ImportRows: 1_000_000, Replies: 200, IdleFor: 10 * time.Second}
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	work, err := os.MkdirTemp("", "dripbench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "dripbench: scratch directory", work)
	} else {
		defer os.RemoveAll(work)
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	sz := sizesFor(o.quick)
	b := &bench{o: o, sz: sz, work: work, started: time.Now()}
	defer b.cleanup()
	b.machine = machineInfo(ctx, o)

	// Fixtures, seeded once per store through the store's own import (see
	// seedFixture): the claim benchmark's small and large ones, each with
	// ClaimDue enrollments due in a sequence no drip here is configured
	// with; the serving benchmark's own, as large and without that
	// sequence, since `drip serve` (rightly) refuses to start on a store
	// holding unfinished enrollments of a sequence it does not have.
	t0 := time.Now().UTC().Truncate(time.Hour)
	fixtures := map[string]map[string]string{} // store -> "small"/"large"/"serve" -> URL
	for _, st := range o.stores {
		fixtures[st] = map[string]string{}
		for _, f := range []struct {
			name   string
			n, due int
			need   bool
		}{
			{"small", sz.ClaimSmall, sz.ClaimDue, slices.Contains(o.only, "claim")},
			{"large", sz.ClaimLarge, sz.ClaimDue, slices.Contains(o.only, "claim")},
			{"serve", sz.ClaimLarge, 0, slices.Contains(o.only, "rss")},
		} {
			if !f.need {
				continue
			}
			url, err := b.newDB(ctx, st, "fixture-"+f.name)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "dripbench: seeding %s fixture of %d enrollments on %s\n", f.name, f.n, st)
			if _, err := b.child(ctx, spec{Bench: "seed", Store: st, DB: url, N: f.n, Due: f.due, T0: t0}); err != nil {
				return err
			}
			fixtures[st][f.name] = url
		}
	}

	// The serving benchmark's peers live here, so that its RSS is drip's.
	var smtpAddr, imapAddr string
	if slices.Contains(o.only, "rss") {
		sink, err := smtptest.Start(smtptest.Options{Discard: true})
		if err != nil {
			return err
		}
		defer sink.Close()
		imapSrv, err := startIMAP()
		if err != nil {
			return err
		}
		defer imapSrv.Close()
		smtpAddr, imapAddr = sink.Addr(), imapSrv.addr
	}

	for r := 1; r <= o.runs; r++ {
		for _, st := range o.stores {
			for _, name := range o.only {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				sp := spec{Bench: name, Store: st, Run: r, T0: t0, Profile: o.profile}
				switch name {
				case "import":
					sp.N = sz.ImportRows
				case "delivery":
					sp.N = sz.DeliveryMsgs
				case "delivery20":
					sp.N = sz.DeliverySlowMsgs
				case "reply":
					sp.N = sz.Replies
				case "claim":
					sp.N, sp.Due = sz.ClaimLarge, sz.ClaimDue
					sp.DB, sp.DB2 = fixtures[st]["small"], fixtures[st]["large"]
				case "rss":
					sp.N = sz.ClaimLarge
					sp.DB = fixtures[st]["serve"]
					sp.Idle = sz.IdleFor
					sp.SMTPAddr, sp.IMAPAddr = smtpAddr, imapAddr
				}
				if sp.DB == "" {
					url, err := b.newDB(ctx, st, fmt.Sprintf("%s-%d", name, r))
					if err != nil {
						return err
					}
					sp.DB = url
				}
				fmt.Fprintf(os.Stderr, "dripbench: run %d/%d %s on %s\n", r, o.runs, name, st)
				res, err := b.child(ctx, sp)
				if err != nil {
					return fmt.Errorf("%s on %s (run %d): %w", name, st, r, err)
				}
				b.results = append(b.results, res)
				if !needsFixture(name) {
					b.dropDB(ctx, sp.DB)
				}
			}
		}
	}
	b.machine.finish()
	b.report(os.Stdout)
	return nil
}

func needsFixture(bench string) bool { return bench == "claim" || bench == "rss" }

// bench is the parent's state.
type bench struct {
	o       options
	sz      sizes
	work    string
	started time.Time
	machine *machine
	results []result
	dbs     []string // databases to drop at the end
	serial  int
}

// child runs one job in a fresh process and returns what it measured.
func (b *bench) child(ctx context.Context, sp spec) (result, error) {
	sp.Work = filepath.Join(b.work, fmt.Sprintf("job-%d", b.nextSerial()))
	if err := os.MkdirAll(sp.Work, 0o755); err != nil {
		return result{}, err
	}
	defer func() {
		if !b.o.keep {
			os.RemoveAll(sp.Work)
		}
	}()
	raw, err := json.Marshal(sp)
	if err != nil {
		return result{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if b.o.verbose {
		cmd.Stderr = io.MultiWriter(&stderr, os.Stderr)
	}
	b.machine.sampleLoad()
	out, err := cmd.Output()
	b.machine.sampleLoad()
	if err != nil {
		return result{}, fmt.Errorf("%w\n%s", err, tail(stderr.String(), 2000))
	}
	var res result
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		return result{}, fmt.Errorf("reading the child's result: %w\n%s", err, tail(stderr.String(), 2000))
	}
	return res, nil
}

func (b *bench) nextSerial() int { b.serial++; return b.serial }

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
