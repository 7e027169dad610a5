package importer

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/drip-email/drip/store"
)

// Options of a CSV import.
type Options struct {
	// FileName names the input in messages ("" = "input").
	FileName string
	// Encoding of the input: one of EncodingNames (case-insensitive), or ""
	// to detect it. A byte order mark that contradicts it is an error.
	Encoding string
	// DefaultTimezone is the sequence's: for rows without a timezone
	// (nil = UTC).
	DefaultTimezone *time.Location
	// Now is the moment of enrollment: the first contact of rows without
	// one. Required.
	Now time.Time
	// DefaultSender is the sender of rows with an empty sender cell ("" =
	// leave it to the caller, i.e. the configuration's first sender).
	DefaultSender string
	// Senders, when not nil, are the configured sender names: a row naming
	// another one is rejected.
	Senders []string
	// Map maps header cells (as written; matched ignoring case, accents
	// and separators) to columns: a contract column name, "ignore", or
	// "field:NAME" (see ParseMap). It wins over the built-in aliases.
	Map map[string]string
	// OnMapping, when set, is called once the header is read, before any
	// row is loaded.
	OnMapping func(Mapping)

	// The rest is for Import only.

	// BatchSize is how many rows go to Sink.Apply at once (default 1000).
	BatchSize int
	// DryRun validates everything and calls nothing on the sink (see the
	// package comment for what it counts).
	DryRun bool
	// RejectTo, when set, receives the reject file (see RejectWriter).
	RejectTo io.Writer
	// Progress, when set, is called at most every 200 ms of Clock time and
	// once at the end, with the records read so far and the input bytes
	// consumed (of the file as given, before decoding; read-ahead included).
	Progress func(rowsDone int, bytesRead int64)
	// Clock paces Progress (nil = time.Now).
	Clock func() time.Time
}

func (o Options) fileName() string {
	if o.FileName == "" {
		return "input"
	}
	return o.FileName
}

// Row is one record of the file: a prospect to load, or a rejected record
// (Reason set).
type Row struct {
	Line int // physical line of the file where the record starts, from 1
	// Raw is the record as read (decoded to UTF-8), for the reject file.
	Raw []string
	// Reason is why the row is rejected; "" for a good row.
	Reason string

	Prospect          store.Prospect
	FirstContact      time.Time // Options.Now when the file gives none
	FirstContactGiven bool
	Sender            string         // the row's sender, else Options.DefaultSender
	Location          *time.Location // the prospect's time zone, else Options.DefaultTimezone
}

// ImportRow is the store's form of a good row; NextSendAt is left to the
// sequencer's planning.
func (r Row) ImportRow(sequence string) store.ImportRow {
	return store.ImportRow{
		Line:         r.Line,
		Prospect:     r.Prospect,
		Sequence:     sequence,
		Sender:       r.Sender,
		FirstContact: r.FirstContact,
	}
}

// maxFieldChars is the longest value a cell may hold, in characters.
const maxFieldChars = 1000

// maxCachedZones bounds the time zone cache against a column of garbage.
const maxCachedZones = 1024

// Reader reads a prospect list one row at a time, in constant memory.
type Reader struct {
	opts    Options
	file    string
	in      *countingReader
	csv     *csv.Reader
	comma   rune
	header  []string
	cols    []Column
	nCustom int
	senders map[string]bool
	zones   map[string]*time.Location // nil value: unknown zone
	enc     Encoding
}

// NewReader reads the header of in and returns a Reader positioned on the
// first record. It fails on an input that cannot be imported at all: empty,
// no email column, a duplicate column, an unknown encoding.
func NewReader(in io.Reader, opts Options) (*Reader, error) {
	file := opts.fileName()
	if opts.Now.IsZero() {
		return nil, errors.New("importer: Options.Now is required")
	}
	if opts.DefaultTimezone == nil {
		opts.DefaultTimezone = time.UTC
	}
	r := &Reader{opts: opts, file: file, in: &countingReader{r: in}, zones: make(map[string]*time.Location)}
	if opts.Senders != nil {
		r.senders = make(map[string]bool, len(opts.Senders))
		for _, s := range opts.Senders {
			r.senders[s] = true
		}
	}
	decoded, enc, err := decodedInput(r.in, opts.Encoding, file)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(decoded, bufSize)
	head, err := br.Peek(bufSize)
	atEOF := errors.Is(err, io.EOF)
	if err != nil && !atEOF {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	comma, sepLine, err := detectDelimiter(head, atEOF, file)
	if err != nil {
		return nil, err
	}
	r.comma, r.enc = comma, enc
	r.csv = csv.NewReader(bufio.NewReaderSize(newRecordGuard(br, byte(comma)), bufSize))
	r.csv.Comma = comma
	r.csv.FieldsPerRecord = -1 // a record with the wrong count is a reject, not the end
	r.csv.LazyQuotes = true    // `Mario "Bubi" Rossi` unquoted is a name, not an error
	r.csv.ReuseRecord = true

	for {
		rec, err := r.csv.Read()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file, expected a header row with an email column", file)
		}
		if err != nil {
			return nil, r.fatal(err)
		}
		if blank(rec) {
			continue
		}
		if sepLine {
			sepLine = false
			continue
		}
		line, _ := r.csv.FieldPos(0)
		for _, h := range rec {
			if !validUTF8(h) {
				return nil, fmt.Errorf("%s:%d: the header is not valid UTF-8: %s", file, line, encodingHint(h))
			}
		}
		r.header = slices.Clone(rec) // the reader reuses rec
		r.cols, err = columnsFor(r.header, opts.Map, file, line)
		if err != nil {
			return nil, err
		}
		break
	}
	for _, c := range r.cols {
		if c.Custom {
			r.nCustom++
		}
	}
	return r, nil
}

// Header is the header row as written in the file (decoded).
func (r *Reader) Header() []string { return slices.Clone(r.header) }

// Columns tells how each header cell was understood.
func (r *Reader) Columns() []Column { return slices.Clone(r.cols) }

// Mapping is how the file is read (see Mapping).
func (r *Reader) Mapping() Mapping {
	return Mapping{File: r.file, Encoding: r.enc, Delimiter: r.comma, Columns: r.Columns()}
}

// Comma is the delimiter found in the header row.
func (r *Reader) Comma() rune { return r.comma }

// BytesRead is how much of the input has been consumed so far.
func (r *Reader) BytesRead() int64 { return r.in.n }

// Next returns the next record: a good row, or a rejected one (Reason set).
// Lines that are blank, or cells that are all empty (";;;;" from Excel), are
// skipped. At the end it returns io.EOF; any other error is fatal.
func (r *Reader) Next() (Row, error) {
	for {
		rec, err := r.csv.Read()
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		var perr *csv.ParseError
		if err != nil && !errors.As(err, &perr) {
			return Row{}, r.fatal(err)
		}
		if perr == nil && blank(rec) {
			continue
		}
		row := Row{Raw: slices.Clone(rec)} // rec is reused by the next Read
		if len(rec) > 0 {
			row.Line, _ = r.csv.FieldPos(0)
		}
		if perr != nil {
			// LazyQuotes leaves no quoting error in encoding/csv today; kept
			// so that one would reject the record rather than end the import.
			row.Line = perr.StartLine
			row.Reason = "malformed quoting: " + perr.Err.Error()
			return row, nil
		}
		r.fill(&row, rec)
		return row, nil
	}
}

// Scan calls fn with every record (good or rejected) until the end of the
// input, a fatal error, or an error from fn, which it returns.
func (r *Reader) Scan(fn func(Row) error) error {
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}

func (r *Reader) fatal(err error) error {
	var long *recordTooLongError
	if errors.As(err, &long) {
		return fmt.Errorf("%s:%d: %w", r.file, long.line, err)
	}
	return fmt.Errorf("reading %s: %w", r.file, err)
}

// fill validates rec and fills row, or sets row.Reason.
func (r *Reader) fill(row *Row, rec []string) {
	if len(rec) < len(r.cols) {
		row.Reason = fmt.Sprintf("too few fields: %d, the header has %d", len(rec), len(r.cols))
		return
	}
	if len(rec) > len(r.cols) && !blank(rec[len(r.cols):]) {
		row.Reason = fmt.Sprintf("too many fields: %d, the header has %d", len(rec), len(r.cols))
		return
	}
	p := &row.Prospect
	if r.nCustom > 0 {
		p.Fields = make(map[string]string, r.nCustom)
	}
	var firstContact, sender string
	for i, c := range r.cols {
		if c.Ignored {
			continue
		}
		raw := rec[i]
		multiline := c.kind == fieldNotes || c.kind == fieldCustom && !singleLine[c.Key]
		if reason := checkCell(c.Key, raw, multiline); reason != "" {
			if strings.HasPrefix(reason, reasonLineBreak) {
				reason += spanNote(row.Line, rec)
			}
			row.Reason = reason
			return
		}
		v := strings.TrimSpace(raw)
		if multiline {
			v = normalizeNewlines(v)
		}
		switch c.kind {
		case fieldEmail:
			p.Email = v
		case fieldFirstName:
			p.FirstName = v
		case fieldLastName:
			p.LastName = v
		case fieldCompany:
			p.Company = v
		case fieldTitle:
			p.Title = v
		case fieldPhone:
			p.Phone = v
		case fieldMetAt:
			p.MetAt = v
		case fieldFirstContact:
			firstContact = v
		case fieldTimezone:
			p.Timezone = v
		case fieldLanguage:
			p.Language = v
		case fieldSender:
			sender = v
		case fieldNotes:
			p.Notes = v
		case fieldCustom:
			p.Fields[c.Key] = v
		}
	}
	if reason := checkEmail(p.Email); reason != "" {
		row.Reason = reason
		return
	}
	if p.Fields != nil {
		if reason := CheckBasis(p.Fields, r.opts.Now); reason != "" {
			row.Reason = reason
			return
		}
	}
	row.Location = r.opts.DefaultTimezone
	if p.Timezone != "" {
		loc := r.zone(p.Timezone)
		if loc == nil {
			row.Reason = fmt.Sprintf("unknown time zone %s (want an IANA name like Europe/Rome)", quote(p.Timezone))
			return
		}
		row.Location = loc
	}
	row.FirstContact = r.opts.Now
	if firstContact != "" {
		t, ok := parseFirstContact(firstContact, row.Location)
		if !ok {
			row.Reason = fmt.Sprintf("first_contact %s is not a valid date (want %s)", quote(firstContact), DateFormats)
			return
		}
		if why := CheckDate(t); why != "" {
			row.Reason = fmt.Sprintf("first_contact %s: %s", quote(firstContact), why)
			return
		}
		row.FirstContact, row.FirstContactGiven = t, true
	}
	if sender == "" {
		sender = r.opts.DefaultSender
	} else if r.senders != nil && !r.senders[sender] {
		row.Reason = fmt.Sprintf("unknown sender %s", quote(sender))
		return
	}
	row.Sender = sender
}

// zone loads an IANA time zone through a cache: time.LoadLocation reads and
// parses the zoneinfo file on every call.
func (r *Reader) zone(name string) *time.Location {
	if loc, ok := r.zones[name]; ok {
		return loc
	}
	var loc *time.Location
	// "Local" would mean this machine's zone, and "" is handled before.
	if name != "Local" {
		if l, err := time.LoadLocation(name); err == nil {
			loc = l
		}
	}
	if len(r.zones) < maxCachedZones {
		r.zones[name] = loc
	}
	return loc
}

// blank reports whether every cell is empty or white space.
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// spanNote says which lines a multi-line record covers, so that an open
// quote swallowing many lines is easy to find.
func spanNote(line int, rec []string) string {
	n := 0
	for _, f := range rec {
		n += strings.Count(f, "\n")
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (the record spans lines %d-%d)", line, line+n)
}
