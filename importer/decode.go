package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// bufSize is the size of the read buffers, and so the longest header row
// that delimiter detection can see.
const bufSize = 64 << 10

// maxRecordBytes bounds one record (all its lines). encoding/csv keeps a
// whole record in memory, so a quote left open near the top of a large file
// would otherwise pull the rest of the file into one field.
const maxRecordBytes = 4 << 20

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// namedEncoding is an encoding a user may name, under its canonical name.
type namedEncoding struct {
	name string
	enc  encoding.Encoding // nil: UTF-8
}

// encodings accepted by Options.Encoding (lower case). "" detects it.
var encodings = map[string]namedEncoding{
	"utf-8":        {"utf-8", nil},
	"utf8":         {"utf-8", nil},
	"utf-16":       {"utf-16", unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)},
	"windows-1252": {"windows-1252", charmap.Windows1252},
	"cp1252":       {"windows-1252", charmap.Windows1252},
	// Files labelled Latin-1 are Windows-1252 in practice (Excel on Windows):
	// the two agree on every printable byte of ISO-8859-1, and 0x80–0x9F are
	// C1 controls in ISO-8859-1 but € “ ” ‘ ’ – … in Windows-1252. Browsers
	// do the same (WHATWG Encoding Standard).
	"iso-8859-1":   {"windows-1252", charmap.Windows1252},
	"latin1":       {"windows-1252", charmap.Windows1252},
	"latin-1":      {"windows-1252", charmap.Windows1252},
	"iso-8859-15":  {"iso-8859-15", charmap.ISO8859_15},
	"latin9":       {"iso-8859-15", charmap.ISO8859_15},
	"iso-8859-2":   {"iso-8859-2", charmap.ISO8859_2},
	"latin2":       {"iso-8859-2", charmap.ISO8859_2},
	"windows-1250": {"windows-1250", charmap.Windows1250}, // what Polish Excel writes
	"cp1250":       {"windows-1250", charmap.Windows1250},
}

// EncodingNames lists the values Options.Encoding accepts (besides "").
var EncodingNames = []string{"utf-8", "utf-16", "windows-1252", "windows-1250", "iso-8859-1", "iso-8859-2", "iso-8859-15"}

// Encoding says how a file was read.
type Encoding struct {
	Name     string // canonical: utf-8, utf-16, windows-1252, windows-1250, iso-8859-2, iso-8859-15
	BOM      bool   // the file starts with a byte order mark, which named it
	Detected bool   // neither named nor marked: told from the bytes (see detect.go)
}

func (e Encoding) String() string {
	switch {
	case e.BOM:
		return e.Name + " (byte order mark)"
	case e.Detected:
		return e.Name + " (detected)"
	}
	return e.Name + " (given)"
}

// countingReader counts the raw bytes read from the input, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// decodedInput returns the input as UTF-8. A byte order mark names the
// encoding; an encoding given that contradicts it is an error, since one
// of the two is wrong and guessing which would import garbage. Without
// either, the encoding is detected from the first detectSample bytes.
func decodedInput(in *countingReader, encName, file string) (io.Reader, Encoding, error) {
	given := strings.ToLower(strings.TrimSpace(encName))
	var ne namedEncoding
	if given != "" {
		var ok bool
		if ne, ok = encodings[given]; !ok {
			return nil, Encoding{}, fmt.Errorf("%s: unknown encoding %q (known: %s)", file, encName, strings.Join(EncodingNames, ", "))
		}
	}
	br := bufio.NewReaderSize(in, detectSample)
	head, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, Encoding{}, fmt.Errorf("reading %s: %w", file, err)
	}
	var bom namedEncoding
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		_, _ = br.Discard(len(bomUTF8)) // cannot fail: the bytes are buffered
		bom = namedEncoding{"utf-8", nil}
	case bytes.HasPrefix(head, bomUTF16LE):
		// Excel's "Unicode Text" export: UTF-16LE with a BOM, tab-separated.
		bom = namedEncoding{"utf-16", unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)}
	case bytes.HasPrefix(head, bomUTF16BE):
		bom = namedEncoding{"utf-16", unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)}
	}
	got := Encoding{Name: ne.name}
	switch {
	case bom.name != "" && given != "" && bom.name != ne.name:
		return nil, Encoding{}, fmt.Errorf("%s: the file starts with a %s byte order mark but its encoding was given as %s: leave the encoding out (the mark says what the file is) or fix the file",
			file, strings.ToUpper(bom.name), encName)
	case bom.name != "":
		ne, got = bom, Encoding{Name: bom.name, BOM: true}
	case given == "":
		sample, err := br.Peek(detectSample)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, Encoding{}, fmt.Errorf("reading %s: %w", file, err)
		}
		ne = encodings[detectEncoding(sample, errors.Is(err, io.EOF))]
		got = Encoding{Name: ne.name, Detected: true}
	case ne.name == "utf-16":
		return nil, Encoding{}, fmt.Errorf("%s: UTF-16 without a byte order mark: save the file again as UTF-8 or UTF-16 with a mark", file)
	}
	if ne.enc == nil {
		return br, got, nil
	}
	return transform.NewReader(br, ne.enc.NewDecoder()), got, nil
}

// recordTooLongError stops an import whose record grows past maxRecordBytes.
type recordTooLongError struct{ line int }

func (e *recordTooLongError) Error() string {
	return fmt.Sprintf("the record starting at line %d is longer than %d MiB: is a quote left open?", e.line, maxRecordBytes>>20)
}

// Quote states of recordGuard; they follow encoding/csv with LazyQuotes.
const (
	stFieldStart = iota // at the start of a field
	stUnquoted          // inside an unquoted field
	stQuoted            // inside a quoted field
	stQuote             // just after a '"' inside a quoted field
	stQuoteCR           // just after '"' '\r' inside a quoted field
)

// recordGuard passes the decoded text through while tracking where records
// end, the way encoding/csv (LazyQuotes) will parse them, and fails once a
// single record exceeds maxRecordBytes. That keeps memory flat even for a
// file whose quoting is broken.
type recordGuard struct {
	r         io.Reader
	comma     byte
	state     int
	size      int // bytes of the current record so far
	line      int // physical line being read, from 1
	startLine int // line where the current record began
	err       error
}

func newRecordGuard(r io.Reader, comma byte) *recordGuard {
	return &recordGuard{r: r, comma: comma, line: 1, startLine: 1}
}

func (g *recordGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		c := p[i]
		switch g.state {
		case stFieldStart, stUnquoted:
			switch {
			case c == '"' && g.state == stFieldStart:
				g.state = stQuoted
			case c == g.comma:
				g.state = stFieldStart
			case c == '\n':
				g.endRecord()
			default:
				g.state = stUnquoted
			}
		case stQuoted:
			if c == '"' {
				g.state = stQuote
			}
		case stQuote:
			switch c {
			case '"': // an escaped quote
				g.state = stQuoted
			case g.comma:
				g.state = stFieldStart
			case '\n':
				g.endRecord()
			case '\r':
				g.state = stQuoteCR
			default: // a lazy bare quote: still inside the field
				g.state = stQuoted
			}
		case stQuoteCR:
			switch c {
			case '\n': // `"` CR LF ends the record
				g.endRecord()
			case '"':
				g.state = stQuote
			default:
				g.state = stQuoted
			}
		}
		if c == '\n' {
			g.line++
		}
		g.size++
		if g.size > maxRecordBytes {
			g.err = &recordTooLongError{line: g.startLine}
			return i, g.err
		}
	}
	return n, err
}

func (g *recordGuard) endRecord() {
	g.state = stFieldStart
	g.size = 0
	g.startLine = g.line + 1
}
