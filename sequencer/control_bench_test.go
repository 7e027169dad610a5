package sequencer_test

import (
	"context"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/csvgen"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/sequencer"
)

// BenchmarkImport loads a generated list of a million rows (DRIP_BENCH_ROWS
// to change it) through Control.Import, as `drip import` does, into a fresh
// SQLite and PostgreSQL store, and reports rows/s and peak memory:
//
//	DRIP_TEST_POSTGRES_URL=... go test -run '^$' -bench Import -benchtime 1x ./sequencer
//
// peak-RSS-MiB is the process's high-water mark (VmHWM), test binary
// included; peak-heap-MiB samples the live Go heap every 20 ms.
func BenchmarkImport(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("DRIP_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("DRIP_BENCH_ROWS=%q", v)
		}
		rows = n
	}
	// "dry-run" reads, validates and plans every row but stores nothing:
	// the cost of everything but the store.
	kinds := append(testrig.Backends(), testrig.Backend{Name: "dry-run"})
	for _, sk := range kinds {
		b.Run(sk.Name, func(b *testing.B) {
			var elapsed time.Duration
			var peakHeap uint64
			for range b.N {
				b.StopTimer()
				c := &sequencer.Control{Clock: sequencer.SystemClock{}, Config: ctlConfig()}
				if sk.URL != nil {
					c.Store = testrig.Open(b, sk.URL(b))
				}
				c.Config.Engine.ImportBatch = 1000
				stop := sampleHeap(&peakHeap)
				b.StartTimer()
				t0 := time.Now()
				sum, err := c.Import(context.Background(), csvgen.Prospects(rows),
					sequencer.ImportRequest{Sequence: "fair", DryRun: sk.URL == nil})
				elapsed += time.Since(t0)
				b.StopTimer()
				stop()
				if err != nil {
					b.Fatal(err)
				}
				if sum.Imported != rows || sum.Rejected != 0 {
					b.Fatalf("summary %s, want imported=%d", sum, rows)
				}
			}
			b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
			b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(vmHWM())/(1<<10), "peak-RSS-MiB")
		})
	}
}

// sampleHeap records the largest live heap seen until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > *peak {
				*peak = v
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// vmHWM is the process's peak resident set in KiB (Linux), 0 elsewhere.
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
