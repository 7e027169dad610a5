package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/sequencer"
)

// maxRejectsShown bounds the rejects printed on stderr; the reject file
// has them all.
const maxRejectsShown = 20

func init() {
	register(&command{
		name:    "import",
		args:    "--sequence S [--sender NAME] [--encoding E] [--map 'Header=column,…'] [--late-start latest|first] [--reject-file F] [--dry-run] FILE.csv",
		summary: "load a prospect list (CSV) and enrol it in a sequence; FILE - reads stdin",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			var a importArgs
			fs.StringVar(&a.sequence, "sequence", "", "sequence `NAME` to enrol the prospects in (required)")
			fs.StringVar(&a.sender, "sender", "", "sender `NAME` of rows without a sender column (default: the first configured)")
			fs.StringVar(&a.encoding, "encoding", "", "the file's `ENCODING`: "+strings.Join(importer.EncodingNames, ", ")+
				" (default: detected from the bytes; a byte order mark that says otherwise is an error)")
			fs.StringVar(&a.mapping, "map", "", "map header cells to columns, `'Header=column,…'`: column is one of "+
				strings.Join(importer.ColumnNames(), ", ")+", ignore, or field:NAME (a custom field); built-in names in six languages need none")
			fs.StringVar(&a.lateStart, "late-start", "", "how a late enrollment (step 1 already past due) starts, `latest|first`: latest sends only the latest past-due step (R3), "+
				"first starts at step 1 on the next window instant and keeps the spacing from it (default: the sequence's late_start)")
			fs.StringVar(&a.rejectFile, "reject-file", "", "write the rejected rows, unchanged, with a reason column, to `FILE` (fix and re-import it)")
			fs.BoolVar(&a.dryRun, "dry-run", false, "validate every row, print the mapping and the counts the import would give, and store nothing")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("want one FILE.csv (or - for stdin), got %d arguments", len(args))
				}
				if a.sequence == "" {
					return usagef("--sequence is required")
				}
				if _, err := configs.ParseLateStart(a.lateStart); err != nil {
					return usagef("--late-start: %v", err)
				}
				a.file = args[0]
				return runImport(ctx, g, a)
			}
		},
	})
}

type importArgs struct {
	sequence, sender, encoding, mapping, rejectFile, file string
	lateStart                                             string
	dryRun                                                bool
}

func runImport(ctx context.Context, g *globals, a importArgs) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	c := &sequencer.Control{Clock: sequencer.SystemClock{}, Config: cfg}
	// A dry run reads the store, to count exactly what the import would
	// (known prospects as updated, suppressed addresses as rejected); it
	// does not create a SQLite database that does not exist yet.
	if !a.dryRun || storeExists(cfg.DatabaseURL) {
		st, err := openStore(ctx, g, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		c.Store = st
	}

	in, name, size, err := openInput(a.file)
	if err != nil {
		return err
	}
	defer in.Close()
	req := sequencer.ImportRequest{Sequence: a.sequence, Sender: a.sender, Encoding: a.encoding,
		FileName: name, DryRun: a.dryRun, LateStart: a.lateStart}
	if req.Map, err = importer.ParseMap(a.mapping); err != nil {
		return usagef("--map: %v", err)
	}
	// The mapping goes to stderr before the first row loads, so that a
	// column that went to the wrong place is seen (and the import stopped)
	// early; stdout keeps the one summary line.
	req.OnMapping = func(m importer.Mapping) { fmt.Fprint(g.stderr, m.Report()) }
	var rejects *os.File
	if a.rejectFile != "" {
		if a.file != "-" && sameFile(a.file, a.rejectFile) {
			return usagef("--reject-file %s is the file being imported", a.rejectFile)
		}
		if rejects, err = os.Create(a.rejectFile); err != nil {
			return fmt.Errorf("creating the reject file: %w", err)
		}
		defer rejects.Close()
		req.RejectTo = rejects
	}
	var bar *progressLine
	if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = &progressLine{w: f, size: size, start: time.Now()}
		req.Progress = bar.show
	}

	sum, err := c.Import(ctx, in, req)
	bar.clear()
	if err != nil {
		if rejects != nil && sum.Rejected == 0 {
			os.Remove(rejects.Name()) // nothing in it, not even a header
		}
		if sum.Imported+sum.Updated+sum.Rejected > 0 {
			fmt.Fprintf(g.stderr, "drip import: stopped early; stored so far: %s\n", sum)
		}
		return err
	}
	for i, w := range sum.Warnings {
		if i == maxRejectsShown {
			fmt.Fprintf(g.stderr, "... and %d more warnings\n", sum.Warned-i)
			break
		}
		fmt.Fprintf(g.stderr, "%s:%d: warning: %s\n", name, w.Line, w.Reason)
	}
	for i, r := range sum.Rejects {
		if i == maxRejectsShown {
			break
		}
		fmt.Fprintf(g.stderr, "%s:%d: %s\n", name, r.Line, r.Reason)
	}
	if more := sum.Rejected - min(len(sum.Rejects), maxRejectsShown); more > 0 {
		hint := "use --reject-file to get them all"
		if a.rejectFile != "" {
			hint = "all of them are in " + a.rejectFile
		}
		fmt.Fprintf(g.stderr, "... and %d more rejected rows (%s)\n", more, hint)
	}
	if rejects != nil {
		if err := rejects.Close(); err != nil {
			return fmt.Errorf("writing the reject file: %w", err)
		}
	}
	fmt.Fprintln(g.stdout, sum)
	if a.dryRun {
		fmt.Fprintln(g.stderr, "dry run: nothing was stored")
	}
	if sum.Rejected > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d row(s) rejected", sum.Rejected)}
	}
	return nil
}

// storeExists is false for a SQLite file that is not there yet.
func storeExists(databaseURL string) bool {
	if path, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		_, err := os.Stat(path)
		return err == nil
	}
	return true
}

// openInput opens FILE, or stdin for "-"; size is 0 when unknown.
func openInput(file string) (io.ReadCloser, string, int64, error) {
	if file == "-" {
		return io.NopCloser(os.Stdin), "stdin", 0, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, "", 0, fmt.Errorf("opening the list: %w", err)
	}
	var size int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, file, size, nil
}

// sameFile reports whether two paths name one existing file.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(sa, sb)
}

// progressLine redraws one line on a terminal while a long import runs.
// Short imports (under a second) show nothing.
type progressLine struct {
	w     io.Writer
	size  int64
	start time.Time
	drawn bool
}

// progressAfter is how long an import runs before its progress shows.
const progressAfter = time.Second

func (p *progressLine) show(rows int, bytes int64) {
	elapsed := time.Since(p.start)
	if elapsed < progressAfter {
		return
	}
	line := fmt.Sprintf("import: %d rows read", rows)
	if p.size > 0 {
		line += fmt.Sprintf(", %.0f%%", 100*float64(min(bytes, p.size))/float64(p.size))
	}
	line += fmt.Sprintf(", %.0f rows/s", float64(rows)/elapsed.Seconds())
	fmt.Fprintf(p.w, "\r%s\033[K", line)
	p.drawn = true
}

// clear erases the progress line, so the summary starts on a clean line.
func (p *progressLine) clear() {
	if p != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
