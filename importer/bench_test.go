package importer

import (
	"context"
	"io"
	"runtime"
	"testing"
	"time"
)

// heapPeak samples HeapInuse; call sample from the sink after each batch.
type heapPeak struct{ peak uint64 }

func (h *heapPeak) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peak = max(h.peak, m.HeapInuse)
}

// countBytes measures the generated input without keeping it.
func countBytes(t testing.TB, n int) int64 {
	size, err := io.Copy(io.Discard, newGenReader(n))
	if err != nil {
		t.Fatal(err)
	}
	return size
}

// BenchmarkImportMillion streams a generated 1,000,000-row list (≈ 100 MB,
// produced on the fly) through the parser and validator into a sink that
// discards, and reports rows/s and the peak heap in use.
func BenchmarkImportMillion(b *testing.B) {
	benchmarkImport(b, false)
}

// BenchmarkImportMillionDryRun is the same as a dry run, whose set of
// address hashes is the only state that grows with the file.
func BenchmarkImportMillionDryRun(b *testing.B) {
	benchmarkImport(b, true)
}

func benchmarkImport(b *testing.B, dryRun bool) {
	const rows = 1_000_000
	size := countBytes(b, rows)
	var peak heapPeak
	runtime.GC()
	peak.sample()
	base := peak.peak
	peak.peak = 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sink := &discardSink{onBatch: peak.sample}
	n := 0
	for b.Loop() {
		opts := Options{Now: enrolledAt, DefaultTimezone: rome, DryRun: dryRun}
		if dryRun {
			// The sink is not called in a dry run: sample from progress,
			// on a clock that lets it fire about every thousand rows.
			var tick time.Time
			opts.Progress = func(int, int64) { peak.sample() }
			opts.Clock = func() time.Time { tick = tick.Add(50 * time.Millisecond); return tick }
		}
		sum, err := Import(context.Background(), newGenReader(rows), opts, sink)
		if err != nil || sum.Imported != rows {
			b.Fatalf("%v %v", sum, err)
		}
		n++
	}
	runtime.ReadMemStats(&after)
	b.SetBytes(size)
	b.ReportMetric(float64(rows*n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak.peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base)/(1<<20), "base-heap-MiB")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(rows*n), "alloc-B/row")
	b.ReportMetric(float64(size)/(1<<20), "input-MiB")
}

// Memory does not grow with the file: a list several times larger than the
// bound streams through with the heap in use staying under it.
func TestMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 28 MB")
	}
	const rows, bound = 300_000, 12 << 20
	size := countBytes(t, rows)
	if size < 2*bound {
		t.Fatalf("the input (%d bytes) must be well over the bound", size)
	}
	var peak heapPeak
	sink := &discardSink{onBatch: peak.sample}
	opts := Options{Now: enrolledAt, DefaultTimezone: rome, RejectTo: io.Discard}
	sum, err := Import(context.Background(), newGenReader(rows), opts, sink)
	if err != nil || sum.Imported != rows {
		t.Fatalf("%v %v", sum, err)
	}
	if peak.peak > bound {
		t.Errorf("peak heap in use %.1f MiB for a %.1f MiB file, want under %d MiB", float64(peak.peak)/(1<<20), float64(size)/(1<<20), bound>>20)
	}
	t.Logf("peak heap in use %.1f MiB for a %.1f MiB file", float64(peak.peak)/(1<<20), float64(size)/(1<<20))
}
