package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// memSink behaves like store.ImportBatch: prospects keyed by the normalised
// address, rows applied in order (a later row with a known address updates
// it), suppressed addresses refused with store.ErrSuppressed and not stored.
type memSink struct {
	prospects  map[string]Row
	suppressed map[string]bool
	batches    []int // sizes of the batches received
	failAt     int   // Apply call (1-based) that fails as a whole; 0 = none
}

func newMemSink(suppressed ...string) *memSink {
	s := &memSink{prospects: map[string]Row{}, suppressed: map[string]bool{}}
	for _, a := range suppressed {
		s.suppressed[store.NormalizeEmail(a)] = true
	}
	return s
}

func (s *memSink) Apply(ctx context.Context, rows []Row) ([]Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.batches = append(s.batches, len(rows))
	if s.failAt == len(s.batches) {
		return nil, errors.New("database is locked")
	}
	out := make([]Outcome, len(rows))
	for i, row := range rows {
		key := store.NormalizeEmail(row.Prospect.Email)
		out[i].Line = row.Line
		if s.suppressed[key] {
			out[i].Err = fmt.Errorf("importing %s: %w", row.Prospect.Email, store.ErrSuppressed)
			continue
		}
		_, known := s.prospects[key]
		out[i].Created = !known
		s.prospects[key] = row
	}
	return out, nil
}

func (s *memSink) get(t *testing.T, email string) Row {
	t.Helper()
	row, ok := s.prospects[store.NormalizeEmail(email)]
	if !ok {
		t.Fatalf("prospect %s was not stored", email)
	}
	return row
}

// refusingSink fails the test if anything is applied (dry runs).
type refusingSink struct{ t *testing.T }

func (s refusingSink) Apply(context.Context, []Row) ([]Outcome, error) {
	s.t.Error("dry run called the sink")
	return nil, errors.New("dry run called the sink")
}

var (
	rome   = mustZone("Europe/Rome")
	warsaw = mustZone("Europe/Warsaw")
	// enrolledAt is the moment of enrollment in every test.
	enrolledAt = time.Date(2026, 11, 24, 15, 4, 5, 0, time.UTC)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func testOptions() Options {
	return Options{FileName: "leads.csv", DefaultTimezone: rome, Now: enrolledAt}
}

// importString runs Import over input with a reject file and returns the
// summary and the reject file.
func importString(t *testing.T, input string, opts Options, sink Sink) (Summary, string, error) {
	t.Helper()
	var rejects bytes.Buffer
	opts.RejectTo = &rejects
	sum, err := Import(context.Background(), bytes.NewReader([]byte(input)), opts, sink)
	return sum, rejects.String(), err
}

// readAll reads every row of input.
func readAll(t *testing.T, input string, opts Options) []Row {
	t.Helper()
	r, err := NewReader(bytes.NewReader([]byte(input)), opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var rows []Row
	if err := r.Scan(func(row Row) error { rows = append(rows, row); return nil }); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return rows
}

// genReader produces a prospect list of n rows on the fly, so that a test
// or benchmark can stream a large file that exists nowhere.
type genReader struct {
	n, i int
	buf  []byte
	off  int
	dups bool // every tenth row repeats an earlier address
}

const genHeader = "email;first_name;last_name;company;first_contact;timezone;booth\r\n"

func newGenReader(n int) *genReader { return &genReader{n: n, buf: []byte(genHeader)} }

func (g *genReader) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		if g.off == len(g.buf) {
			if g.i == g.n {
				if total == 0 {
					return 0, io.EOF
				}
				return total, nil
			}
			g.fill()
		}
		n := copy(p, g.buf[g.off:])
		g.off += n
		p = p[n:]
		total += n
	}
	return total, nil
}

func (g *genReader) fill() {
	id := g.i
	if g.dups && g.i%10 == 9 {
		id = g.i / 2
	}
	b := g.buf[:0]
	b = append(b, "prospect."...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, "@example.com;Niccolò;Rossi;\"Rossi, Figli & C. "...)
	b = strconv.AppendInt(b, int64(id%997), 10)
	b = append(b, "\";2026-11-20;Europe/Rome;Hall "...)
	b = strconv.AppendInt(b, int64(id%40), 10)
	b = append(b, "\r\n"...)
	g.buf, g.off = b, 0
	g.i++
}

// discardSink counts rows and answers every row as new.
type discardSink struct {
	rows    int
	onBatch func()
}

func (s *discardSink) Apply(_ context.Context, rows []Row) ([]Outcome, error) {
	s.rows += len(rows)
	if s.onBatch != nil {
		s.onBatch()
	}
	out := make([]Outcome, len(rows))
	for i := range out {
		out[i] = Outcome{Line: rows[i].Line, Created: true}
	}
	return out, nil
}
