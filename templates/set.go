package templates

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/drip-email/drip/configs"
)

// Set is the parsed templates of one sequence. It is read-only once
// loaded, so Render is safe for concurrent use.
type Set struct {
	Dir      string // the folder, templates_dir + the sequence's templates
	Sequence string // the sequence's name
	Language string // "" for the default files, else the language folder
	steps    []*step
	variants map[string]*Set // language folder -> its set; nil in a variant
}

type step struct {
	file     string // NN.txt
	htmlFile string // NN.html, "" without one
	subject  *texttemplate.Template
	body     *texttemplate.Template
	html     *htmltemplate.Template
}

// bodyOffset is how many lines of an NN.txt come before its body: the
// Subject: line and the blank line. Body template line L is file line L+2.
const bodyOffset = 2

// StepFile is the path of step k's template with extension ext ("txt" or
// "html"): NN zero-padded to at least two digits.
func StepFile(dir string, k int, ext string) string {
	return filepath.Join(dir, fmt.Sprintf("%02d.%s", k, ext))
}

// Steps is the number of steps in the set.
func (s *Set) Steps() int { return len(s.steps) }

// Error is a problem at a place in a template file.
type Error struct {
	File string
	Line int // 0 when the problem has no line
	Msg  string
	Err  error // the underlying template error, if any
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// LoadSet parses the templates of seq in dir (templates_dir joined with
// seq.Templates): 01.txt .. NN.txt for NN = seq.Steps, each with an optional
// NN.html. Every problem is returned at once in a *configs.Problems, each
// naming its file and line: a missing file, a missing or empty Subject:, a
// template that does not parse, a field that Data does not have, and a
// custom field that seq.Fields does not declare.
func LoadSet(dir string, seq *configs.Sequence) (*Set, error) {
	s, ps, _ := load(dir, seq)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadAll loads the template sets of every sequence in cfg, keyed by
// sequence name.
func LoadAll(cfg *configs.Config) (map[string]*Set, error) {
	sets := map[string]*Set{}
	ps := &configs.Problems{}
	for _, name := range cfg.SequenceNames() {
		seq := cfg.Sequences[name]
		s, err := LoadSet(filepath.Join(cfg.TemplatesDir, seq.Templates), seq)
		var sp *configs.Problems
		switch {
		case errors.As(err, &sp):
			ps.List = append(ps.List, sp.List...)
		case err != nil:
			ps.Addf("%v", err)
		default:
			sets[name] = s
		}
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return sets, nil
}

var numberedRE = regexp.MustCompile(`^(\d+)\.(txt|html)$`)

// load parses what it can: steps that fail are left nil, so that Check can
// still render the others. warnings are notes that do not stop a load.
//
// Each language folder (see language.go) is loaded the same way as a
// variant, and must hold every step: its problems are listed with the
// default's.
func load(dir string, seq *configs.Sequence) (*Set, *configs.Problems, []string) {
	s, ps, warnings, entries := loadFolder(dir, seq, "")
	if entries == nil {
		return s, ps, warnings
	}
	langs, w := languageDirs(dir, entries)
	warnings = append(warnings, w...)
	for _, lang := range langs {
		v, vps, vw, _ := loadFolder(filepath.Join(dir, lang), seq, lang)
		ps.List = append(ps.List, vps.List...)
		warnings = append(warnings, vw...)
		if s.variants == nil {
			s.variants = map[string]*Set{}
		}
		s.variants[lang] = v
	}
	return s, ps, warnings
}

// loadFolder loads the step files of one folder: the default files, or a
// language's (lang). entries is nil when the folder could not be read or
// the sequence's length is out of range.
func loadFolder(dir string, seq *configs.Sequence, lang string) (*Set, *configs.Problems, []string, []os.DirEntry) {
	ps := &configs.Problems{}
	s := &Set{Dir: dir, Sequence: seq.Name, Language: lang}
	entries, err := os.ReadDir(dir)
	if err != nil {
		ps.Addf("%s: cannot read the templates folder of sequence %s: %v", dir, seq.Name, unwrapPathError(err))
		return s, ps, nil, nil
	}
	if seq.Steps < 1 || seq.Steps > configs.MaxSteps {
		ps.Addf("%s: sequence %s has %d steps, expected 1..%d", dir, seq.Name, seq.Steps, configs.MaxSteps)
		return s, ps, nil, nil
	}
	var warnings []string
	for _, e := range entries {
		m := numberedRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		file := filepath.Join(dir, e.Name())
		switch {
		case n < 1 || n > seq.Steps:
			warnings = append(warnings, fmt.Sprintf("%s: ignored: beyond the %d steps of sequence %s", file, seq.Steps, seq.Name))
		case file != StepFile(dir, n, m[2]):
			warnings = append(warnings, fmt.Sprintf("%s: ignored: name it %s", file, filepath.Base(StepFile(dir, n, m[2]))))
		}
	}
	sort.Strings(warnings)

	l := &linter{fields: map[string]bool{}, seqFile: seq.File}
	for _, f := range seq.Fields {
		l.fields[f] = true
	}
	s.steps = make([]*step, seq.Steps)
	for k := 1; k <= seq.Steps; k++ {
		st, stepProblems := parseStep(dir, k, l, lang, seq.Steps)
		ps.List = append(ps.List, stepProblems...)
		if len(stepProblems) == 0 {
			s.steps[k-1] = st
		}
	}
	return s, ps, warnings, entries
}

func parseStep(dir string, k int, l *linter, lang string, steps int) (*step, []string) {
	st := &step{file: StepFile(dir, k, "txt")}
	var problems []string
	add := func(line int, format string, args ...any) {
		problems = append(problems, (&Error{File: st.file, Line: line, Msg: fmt.Sprintf(format, args...)}).Error())
	}
	raw, err := os.ReadFile(st.file)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist) && lang != "":
			// Line 1 of the file to write: a language folder is a
			// translation of the whole sequence, or a prospect of that
			// language would get a step in the wrong one.
			add(1, "missing: language %s lacks step %d; a language folder needs all %d steps, like %s",
				lang, k, steps, StepFile(filepath.Dir(dir), k, "txt"))
		case errors.Is(err, os.ErrNotExist):
			add(0, "missing: every step of the sequence needs its NN.txt")
		default:
			add(0, "cannot read: %v", unwrapPathError(err))
		}
		return nil, problems
	}
	if len(raw) > MaxTemplateBytes {
		add(0, "%d bytes: a step template may have at most %d (%d KiB)", len(raw), MaxTemplateBytes, MaxTemplateBytes>>10)
		return nil, problems
	}
	text := normalize(raw)
	first, rest, _ := strings.Cut(text, "\n")
	const prefix = "subject:"
	if len(first) < len(prefix) || !strings.EqualFold(first[:len(prefix)], prefix) {
		add(1, `the first line must be "Subject: ...", then a blank line, then the body`)
		return nil, problems
	}
	subject := strings.TrimSpace(first[len(prefix):])
	if subject == "" {
		add(1, "empty subject")
	}
	blank, body, _ := strings.Cut(rest, "\n")
	if strings.TrimSpace(blank) != "" {
		add(2, "the line after Subject: must be blank (the body starts on line 3)")
	}
	if strings.TrimSpace(body) == "" {
		add(bodyOffset+1, "empty body")
	}
	name := filepath.Base(st.file)
	st.subject, err = texttemplate.New(name).Funcs(Funcs()).Option("missingkey=error").Parse(subject)
	if err != nil {
		problems = append(problems, locate(err, st.file, 0).Error())
	} else {
		problems = append(problems, l.lint(st.subject.Tree, st.file, 0)...)
	}
	st.body, err = texttemplate.New(name).Funcs(Funcs()).Option("missingkey=error").Parse(body)
	if err != nil {
		problems = append(problems, locate(err, st.file, bodyOffset).Error())
	} else {
		problems = append(problems, l.lint(st.body.Tree, st.file, bodyOffset)...)
	}

	htmlFile := StepFile(dir, k, "html")
	raw, err = os.ReadFile(htmlFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		problems = append(problems, (&Error{File: htmlFile, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}).Error())
	case len(raw) > MaxTemplateBytes:
		problems = append(problems, (&Error{File: htmlFile, Msg: fmt.Sprintf("%d bytes: a step template may have at most %d (%d KiB)", len(raw), MaxTemplateBytes, MaxTemplateBytes>>10)}).Error())
	default:
		st.htmlFile = htmlFile
		st.html, err = htmltemplate.New(filepath.Base(htmlFile)).Funcs(Funcs()).Option("missingkey=error").Parse(normalize(raw))
		if err != nil {
			problems = append(problems, locate(err, htmlFile, 0).Error())
		} else {
			problems = append(problems, l.lint(st.html.Tree, htmlFile, 0)...)
		}
	}
	return st, problems
}

// normalize drops a byte-order mark and turns CRLF and CR line ends into LF,
// so that line numbers and the Subject: line read the same from any editor.
func normalize(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Render renders step (1..Steps) for d. d.Step and d.Steps are set from the
// set. The subject comes out as one line: line breaks and other control
// characters from prospect data become spaces, so no value can start a new
// header. An empty subject or body is an error: such a message is not sent.
//
// The prospect's language picks the language folder, if the set has one
// for it (Variant); else the default files are rendered.
func (s *Set) Render(step int, d Data) (Rendered, error) {
	return s.forLanguage(d.Prospect.Language).render(step, d)
}

func (s *Set) render(step int, d Data) (Rendered, error) {
	if step < 1 || step > len(s.steps) {
		return Rendered{}, fmt.Errorf("rendering %s: step %d is outside 1..%d", s.Sequence, step, len(s.steps))
	}
	st := s.steps[step-1]
	if st == nil {
		return Rendered{}, fmt.Errorf("rendering %s: step %d did not load", s.Sequence, step)
	}
	d.Step, d.Steps = step, len(s.steps)
	var r Rendered
	deadline := time.Now().Add(RenderBudget)
	subject, err := runBudgeted(MaxRenderBytes, deadline, func(w *budgetWriter) error { return st.subject.Execute(w, d) })
	if err != nil {
		return Rendered{}, locateRender(err, st.file, 0)
	}
	r.Subject = OneLine(subject)
	if r.Subject == "" {
		return Rendered{}, &Error{File: st.file, Line: 1, Msg: "the subject renders empty"}
	}
	text, err := runBudgeted(MaxRenderBytes-len(subject), deadline, func(w *budgetWriter) error { return st.body.Execute(w, d) })
	if err != nil {
		return Rendered{}, locateRender(err, st.file, bodyOffset)
	}
	r.Text = strings.TrimRight(text, " \t\n") + "\n"
	if strings.TrimSpace(r.Text) == "" {
		return Rendered{}, &Error{File: st.file, Line: bodyOffset + 1, Msg: "the body renders empty"}
	}
	if st.html != nil {
		html, err := runBudgeted(MaxRenderBytes-len(subject)-len(text), deadline, func(w *budgetWriter) error { return st.html.Execute(w, d) })
		if err != nil {
			return Rendered{}, locateRender(err, st.htmlFile, 0)
		}
		r.HTML = html
		if strings.TrimSpace(r.HTML) == "" {
			return Rendered{}, &Error{File: st.htmlFile, Line: 1, Msg: "the HTML body renders empty"}
		}
	}
	return r, nil
}

// OneLine collapses every run of white space and control characters
// (CR, LF, tab, U+2028, ...) into one space and trims the ends.
func OneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}), " ")
}

// tmplErrRE matches text/template and html/template errors:
// "template: NAME:LINE: msg", "template: NAME:LINE:COL: executing ...",
// "html/template:NAME:LINE:COL: msg".
var (
	tmplErrRE    = regexp.MustCompile(`^(?:html/)?template: ?[^:]*:(\d+):(?:\d+:)? ?(.*)$`)
	executingRE  = regexp.MustCompile(`^executing "[^"]*" at <(.*?)>: (.*)$`)
	noEntryRE    = regexp.MustCompile(`^map has no entry for key "(.*)"$`)
	cantEvalRE   = regexp.MustCompile(`^can't evaluate field (\S+) in type (\S+)$`)
	tmplPrefixRE = regexp.MustCompile(`^(?:html/)?template: ?`)
	startedAtRE  = regexp.MustCompile(`^(.*) started at [^:]*:(\d+)$`)
)

// locate turns a template error into an *Error at file's line, adding
// offset (the lines of the file before the template text).
func locate(err error, file string, offset int) *Error {
	msg := err.Error()
	m := tmplErrRE.FindStringSubmatch(msg)
	if m == nil {
		return &Error{File: file, Msg: tmplPrefixRE.ReplaceAllString(msg, ""), Err: err}
	}
	line, _ := strconv.Atoi(m[1])
	msg = m[2]
	// The parser reports an unclosed action where the text ended; where it
	// started is the line to fix.
	if s := startedAtRE.FindStringSubmatch(msg); s != nil {
		line, _ = strconv.Atoi(s[2])
		msg = s[1] + " (no closing }})"
	}
	return &Error{File: file, Line: line + offset, Msg: explain(msg), Err: err}
}

// explain rewrites the template package's wording for a template author.
func explain(msg string) string {
	at := ""
	if m := executingRE.FindStringSubmatch(msg); m != nil {
		at, msg = m[1]+": ", m[2]
	}
	if m := noEntryRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%smissing key %s; declare it in the sequence's fields:", at, m[1])
	}
	if m := cantEvalRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%sunknown field %s in %s", at, m[1], m[2])
	}
	if msg == "unexpected EOF" {
		return "unexpected end of file: an {{if}}, {{with}}, {{range}} or {{define}} lacks its {{end}}"
	}
	return at + msg
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
