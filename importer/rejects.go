package importer

import (
	"encoding/csv"
	"fmt"
	"io"
)

// RejectWriter writes the reject file: the header of the input with a
// `reason` column in front, then every rejected record with its reason and
// its fields unchanged.
//
// The file is UTF-8 with a byte order mark, whatever the input's encoding,
// with the input's delimiter. The mark makes Excel open it with the accents
// intact, and makes drip read it as UTF-8 even when the same command line
// (with --encoding windows-1252) is used to re-import it. Bytes of the input
// that were not valid UTF-8 (a Windows-1252 file read without its encoding)
// are written back as they were, so nothing is lost; those rows are
// rejected again until the file is re-read with the right encoding.
//
// The reason goes first rather than last because a record with too few or
// too many fields would otherwise put it under some other column. A reject
// file that is imported and rejects again gets its reason column replaced,
// not a second one.
type RejectWriter struct {
	w        io.Writer
	csv      *csv.Writer
	header   []string
	replace  bool // the header already begins with a reason column
	started  bool
	err      error
	scratch  []string
	nWritten int
}

// NewRejectWriter prepares a reject file for an input with this header and
// delimiter. Nothing is written before the first Write or Flush.
func NewRejectWriter(w io.Writer, header []string, delimiter rune) *RejectWriter {
	cw := csv.NewWriter(w)
	cw.Comma = delimiter
	return &RejectWriter{
		w:       w,
		csv:     cw,
		header:  header,
		replace: len(header) > 0 && normalizeColumn(header[0]) == ReasonColumn,
	}
}

// Write adds one rejected record.
func (rw *RejectWriter) Write(record []string, reason string) error {
	if err := rw.start(); err != nil {
		return err
	}
	rw.scratch = append(rw.scratch[:0], reason)
	if rw.replace && len(record) > 0 {
		record = record[1:]
	}
	rw.scratch = append(rw.scratch, record...)
	if err := rw.csv.Write(rw.scratch); err != nil {
		rw.err = fmt.Errorf("writing the reject file: %w", err)
		return rw.err
	}
	rw.nWritten++
	return nil
}

// Written is how many records were written.
func (rw *RejectWriter) Written() int { return rw.nWritten }

// Flush writes out what is buffered (and the header, if nothing else was
// written, so that an empty reject file still says what it is).
func (rw *RejectWriter) Flush() error {
	if err := rw.start(); err != nil {
		return err
	}
	rw.csv.Flush()
	if err := rw.csv.Error(); err != nil {
		rw.err = fmt.Errorf("writing the reject file: %w", err)
	}
	return rw.err
}

func (rw *RejectWriter) start() error {
	if rw.err != nil || rw.started {
		return rw.err
	}
	rw.started = true
	if _, err := rw.w.Write(bomUTF8); err != nil {
		rw.err = fmt.Errorf("writing the reject file: %w", err)
		return rw.err
	}
	h := rw.header
	if !rw.replace {
		h = append([]string{ReasonColumn}, h...)
	}
	if err := rw.csv.Write(h); err != nil {
		rw.err = fmt.Errorf("writing the reject file: %w", err)
	}
	return rw.err
}
