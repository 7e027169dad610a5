package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strings"
	"time"

	"github.com/drip-email/drip/store"
)

// Outcome of one row given to a Sink: the store's own result type, so a
// sink over store.ImportBatch passes its results through.
type Outcome = store.ImportResult

// Sink applies good rows. The importer does not know sequences, planning or
// SQL; the caller's sink turns rows into store.ImportRow (see Row.ImportRow),
// plans them and calls store.ImportBatch.
type Sink interface {
	// Apply stores rows in order, a row whose address (case-insensitive)
	// was seen before, in this batch, an earlier one or the store, updating
	// that prospect (Created false). It returns one Outcome per row, in
	// order; a row-level refusal such as store.ErrSuppressed is that row's
	// Outcome.Err. An error return means the batch was not applied and ends
	// the import. rows is reused after Apply returns: keep copies of the
	// Row values, not the slice.
	Apply(ctx context.Context, rows []Row) ([]Outcome, error)
}

// Reject is one rejected row, for the summary.
type Reject struct {
	Line   int
	Reason string
}

// MaxRejectsKept bounds Summary.Rejects; the reject file has them all.
const MaxRejectsKept = 1000

// Summary of an import.
type Summary struct {
	Imported int // new prospects
	Updated  int // prospects already known, or seen earlier in the file
	Rejected int // rows refused by validation or by the sink
	// Rejects are the first MaxRejectsKept rejects, in file order.
	Rejects []Reject
	// Mapping is how the file was read (zero when its header could not be).
	Mapping Mapping
	// Warned counts rows loaded with a warning from the sink (the prospect
	// also runs in another sequence); Warnings are the first
	// MaxRejectsKept of them, Reason holding the warning.
	Warned   int
	Warnings []Reject
}

func (s Summary) String() string {
	return fmt.Sprintf("imported=%d updated=%d rejected=%d", s.Imported, s.Updated, s.Rejected)
}

// DefaultBatchSize is the default of Options.BatchSize.
const DefaultBatchSize = 1000

// progressEvery is the pacing of Options.Progress.
const progressEvery = 200 * time.Millisecond

// Import reads a prospect list from in, validates it, gives the good rows to
// sink in batches, writes rejected rows to opts.RejectTo, and counts.
//
// A fatal error (unreadable header, I/O error, a runaway quoted record, a
// failing batch, ctx cancelled) ends the import with the summary so far:
// rows already read are applied first, unless ctx is done or the sink
// failed, so what the summary counts is what the store holds.
func Import(ctx context.Context, in io.Reader, opts Options, sink Sink) (Summary, error) {
	r, err := NewReader(in, opts)
	if err != nil {
		return Summary{}, err
	}
	if sink == nil && !opts.DryRun {
		return Summary{}, errors.New("importer: a sink is required unless DryRun")
	}
	imp := &run{opts: opts, r: r, sink: sink, clock: opts.Clock}
	imp.sum.Mapping = r.Mapping()
	if opts.OnMapping != nil {
		opts.OnMapping(imp.sum.Mapping)
	}
	if imp.opts.BatchSize <= 0 {
		imp.opts.BatchSize = DefaultBatchSize
	}
	if imp.clock == nil {
		imp.clock = time.Now
	}
	if opts.RejectTo != nil {
		imp.rejects = NewRejectWriter(opts.RejectTo, r.Header(), r.Comma())
	}
	if opts.DryRun {
		imp.seen = make(map[uint64]struct{})
		imp.seed = maphash.MakeSeed()
	}
	imp.lastProgress = imp.clock()
	err = imp.loop(ctx)
	if imp.rejects != nil {
		if ferr := imp.rejects.Flush(); err == nil {
			err = ferr
		}
	}
	imp.progress(true)
	return imp.sum, err
}

type run struct {
	opts    Options
	r       *Reader
	sink    Sink
	rejects *RejectWriter
	sum     Summary
	pending []Row // rows read and not yet counted: good and rejected, in file order
	good    []Row // scratch: the good rows of pending, for the sink
	rows    int   // records read (up to the end of pending)
	bytes   int64 // input consumed (idem)

	// Dry run only: which addresses the file has already given, as 64-bit
	// hashes of the normalised address. See the package comment.
	seen map[uint64]struct{}
	seed maphash.Seed

	clock        func() time.Time
	lastProgress time.Time
}

// batch is what the read-ahead hands over: the next batch of records read
// (good and rejected, in file order), the counts after it for progress,
// and the error that ended the input, if it did (io.EOF at its end).
type batch struct {
	rows  []Row
	read  int
	bytes int64
	err   error
}

// loop applies the file batch by batch while a goroutine reads and
// validates the next batch (readAhead), so that parsing overlaps storing.
// Two batches are in memory at most: the one applied and the one read.
func (imp *run) loop(ctx context.Context) error {
	batches := make(chan batch)
	spare := make(chan []Row, 2) // slices for the reader: one is read while the other is applied
	spare <- make([]Row, 0, imp.opts.BatchSize)
	spare <- make([]Row, 0, imp.opts.BatchSize)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); imp.readAhead(ctx, batches, spare, stop) }()
	defer func() { close(stop); <-done }()
	for b := range batches {
		imp.pending = b.rows
		imp.rows, imp.bytes = b.read, b.bytes
		switch {
		case b.err == nil:
			if err := imp.flush(ctx); err != nil {
				return err
			}
		case errors.Is(b.err, io.EOF):
			return imp.flush(ctx)
		case ctx.Err() != nil:
			return ctx.Err() // rows read since are not applied
		default:
			if ferr := imp.flush(ctx); ferr != nil {
				return errors.Join(b.err, ferr)
			}
			return b.err
		}
		select {
		case spare <- imp.pending[:0]:
		default:
		}
	}
	return nil
}

// readAhead reads batches of BatchSize records until the input ends, an
// error, ctx is done, or stop; it waits for a spare slice before filling
// the next batch. Rejected rows count towards the batch too, so that a
// file of nothing but rejects still holds only one batch in memory.
func (imp *run) readAhead(ctx context.Context, out chan<- batch, spare <-chan []Row, stop <-chan struct{}) {
	defer close(out)
	read := 0
	for {
		var rows []Row
		select {
		case rows = <-spare:
		case <-stop:
			return
		}
		var err error
		for len(rows) < imp.opts.BatchSize {
			if err = ctx.Err(); err != nil {
				break
			}
			select {
			case <-stop: // the import ended (a failed batch): read no further
				return
			default:
			}
			var row Row
			if row, err = imp.r.Next(); err != nil {
				break
			}
			read++
			rows = append(rows, row)
		}
		select {
		case out <- batch{rows: rows, read: read, bytes: imp.r.BytesRead(), err: err}:
		case <-stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// flush applies the good rows of pending and counts every pending row, in
// file order.
func (imp *run) flush(ctx context.Context) error {
	if len(imp.pending) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	imp.good = imp.good[:0]
	for _, row := range imp.pending {
		if row.Reason == "" {
			imp.good = append(imp.good, row)
		}
	}
	var outcomes []Outcome
	if len(imp.good) > 0 {
		var err error
		if imp.opts.DryRun {
			outcomes = imp.dryRun(imp.good)
		} else {
			outcomes, err = imp.sink.Apply(ctx, imp.good)
			if err == nil && len(outcomes) != len(imp.good) {
				err = fmt.Errorf("the sink returned %d outcomes for %d rows", len(outcomes), len(imp.good))
			}
		}
		if err != nil {
			return fmt.Errorf("importing the rows of lines %d-%d: %w", imp.good[0].Line, imp.good[len(imp.good)-1].Line, err)
		}
	}
	next := 0
	for _, row := range imp.pending {
		reason := row.Reason
		if reason == "" {
			o := outcomes[next]
			next++
			if o.Err == nil && o.Warning != "" {
				imp.sum.Warned++
				if len(imp.sum.Warnings) < MaxRejectsKept {
					imp.sum.Warnings = append(imp.sum.Warnings, Reject{Line: row.Line, Reason: o.Warning})
				}
			}
			switch {
			case o.Err != nil:
				reason = refusal(o.Err)
			case o.Created:
				imp.sum.Imported++
			default:
				imp.sum.Updated++
			}
		}
		if reason == "" {
			continue
		}
		imp.sum.Rejected++
		if len(imp.sum.Rejects) < MaxRejectsKept {
			imp.sum.Rejects = append(imp.sum.Rejects, Reject{Line: row.Line, Reason: reason})
		}
		if imp.rejects != nil {
			if err := imp.rejects.Write(row.Raw, reason); err != nil {
				return err
			}
		}
	}
	clear(imp.pending) // drop the references, so the rows can be collected
	imp.pending = imp.pending[:0]
	clear(imp.good)
	imp.progress(false)
	return nil
}

// dryRun answers for a sink that is not called: a row is new unless its
// address appeared earlier in the file.
func (imp *run) dryRun(rows []Row) []Outcome {
	out := make([]Outcome, len(rows))
	for i, row := range rows {
		h := maphash.String(imp.seed, store.NormalizeEmail(row.Prospect.Email))
		_, dup := imp.seen[h]
		if !dup {
			imp.seen[h] = struct{}{}
		}
		out[i] = Outcome{Line: row.Line, Created: !dup}
	}
	return out
}

// refusal is the reason shown for a row the sink refused.
func refusal(err error) string {
	if errors.Is(err, store.ErrSuppressed) {
		return store.ErrSuppressed.Error()
	}
	// One line, whatever the sink's error says: it goes into a CSV cell and
	// onto a terminal.
	return strings.Join(strings.Fields(err.Error()), " ")
}

func (imp *run) progress(force bool) {
	if imp.opts.Progress == nil {
		return
	}
	now := imp.clock()
	if !force && now.Sub(imp.lastProgress) < progressEvery {
		return
	}
	imp.lastProgress = now
	imp.opts.Progress(imp.rows, imp.bytes)
}
