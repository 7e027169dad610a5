package configs

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/drip-email/drip/internal/suggest"
)

// The yaml decoder stops at the first error a TextUnmarshaler returns, and
// without a line. Implementing yaml.Unmarshaler and answering with a
// *yaml.TypeError instead makes it record the problem, with its position,
// and go on, so one run reports every bad value.

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Span) UnmarshalYAML(n *yaml.Node) error { return scalarText(n, s) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (w *Weekday) UnmarshalYAML(n *yaml.Node) error { return scalarText(n, w) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (t *TimeOfDay) UnmarshalYAML(n *yaml.Node) error { return scalarText(n, t) }

func scalarText(n *yaml.Node, u encoding.TextUnmarshaler) error {
	if n.Kind != yaml.ScalarNode {
		return positioned(n, "expected a single value, not a "+kindName(n.Kind))
	}
	if err := u.UnmarshalText([]byte(n.Value)); err != nil {
		return positioned(n, err.Error())
	}
	return nil
}

// positioned is a decode problem in the form yaml's own TypeError lines take,
// plus the column, which tells keys on one line ({host: x, port: y}) apart.
func positioned(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: column %d: %s", n.Line, n.Column, msg)}}
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// source remembers where every key of one YAML file is, so that problems
// found after decoding (validation) still name a file and line.
type source struct {
	file   string
	keys   map[string]int       // key path ("senders[0].smtp.port") → line of the key
	values map[[2]int]string    // value position (line, column) → key path
	texts  map[string]string    // key path → its scalar value, to tell keys on one line apart
	kinds  map[string]yaml.Kind // key path → the kind of its value
	env    map[string]string    // key path → environment variable that set it
	bad    map[string]bool      // key paths that failed to decode: no validation noise on them
}

func newSource(file string) *source {
	return &source{file: file, keys: map[string]int{}, values: map[[2]int]string{},
		texts: map[string]string{}, kinds: map[string]yaml.Kind{}, env: map[string]string{}, bad: map[string]bool{}}
}

func (s *source) index(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			s.index(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			s.keys[p] = k.Line
			s.values[[2]int{v.Line, v.Column}] = p
			s.texts[p], s.kinds[p] = v.Value, v.Kind
			s.index(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			s.keys[p] = c.Line
			s.values[[2]int{c.Line, c.Column}] = p
			s.texts[p], s.kinds[p] = c.Value, c.Kind
			s.index(c, p)
		}
	}
}

// at is where a key path came from: "$DRIP_X" for an environment override,
// else "file:line" of the key or of its nearest written parent.
func (s *source) at(path string) string {
	if e, ok := s.env[path]; ok {
		return "$" + e
	}
	for p := path; p != ""; p = parentPath(p) {
		if line, ok := s.keys[p]; ok {
			return fmt.Sprintf("%s:%d", s.file, line)
		}
	}
	return s.file
}

// has reports whether the key path is written in the file.
func (s *source) has(path string) bool { _, ok := s.keys[path]; return ok }

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// problem records msg about path, unless that path already failed to decode.
func (s *source) problem(ps *Problems, path, format string, args ...any) {
	if s.bad[path] {
		return
	}
	ps.Addf("%s: %s: %s", s.at(path), path, fmt.Sprintf(format, args...))
}

var (
	lineRE        = regexp.MustCompile(`^line (\d+): (?:column (\d+): )?(.*)$`)
	notFoundRE    = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	alreadySetRE  = regexp.MustCompile(`^field (\S+) already set in type (\S+)$`)
	cannotRE      = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	syntaxErrorRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	docStartRE    = regexp.MustCompile(`(?m)^---`)
	duplicateRE   = regexp.MustCompile(`^line \d+: mapping key "(.*)" already defined at line (\d+)$`)
)

// decodeFile strictly decodes the YAML file at path into out (unknown keys
// are errors), recording every problem with its file and line. It reports
// false when the file could not be read or parsed at all.
func decodeFile(path string, out any, ps *Problems) (*source, bool) {
	src := newSource(path)
	data, err := os.ReadFile(path)
	if err != nil {
		ps.Addf("%s: cannot read: %v", path, unwrapPathError(err))
		return src, false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		ps.Addf("%s", syntaxProblem(path, err))
		return src, false
	}
	if len(doc.Content) == 0 {
		ps.Addf("%s: the file is empty", path)
		return src, false
	}
	if root := doc.Content[0]; root.Kind != yaml.MappingNode {
		ps.Addf("%s:%d: expected a mapping of keys (key: value), got a %s", path, root.Line, kindName(root.Kind))
		return src, false
	}
	src.index(&doc, "")

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err = dec.Decode(out)
	var te *yaml.TypeError
	switch {
	case errors.As(err, &te):
		for _, e := range te.Errors {
			ps.Addf("%s", src.typeProblem(e))
		}
		// yaml drops the whole mapping that has a duplicate key, so the
		// values read are too partial to validate without noise.
		for _, e := range te.Errors {
			if duplicateRE.MatchString(e) {
				return src, false
			}
		}
	case err != nil:
		ps.Addf("%s", syntaxProblem(path, err))
		return src, false
	}
	if err := dec.Decode(new(yaml.Node)); err != io.EOF {
		where := path
		if m := docStartRE.FindAllIndex(data, -1); len(m) > 0 {
			where = fmt.Sprintf("%s:%d", path, bytes.Count(data[:m[len(m)-1][0]], []byte("\n"))+1)
		}
		ps.Addf("%s: more than one YAML document (---); drip reads one per file", where)
	}
	return src, true
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func syntaxProblem(file string, err error) string {
	if m := syntaxErrorRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Sprintf("%s:%s: %s", file, m[1], m[2])
	}
	return fmt.Sprintf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
}

// typeProblem rewrites one of yaml's "line N: ..." decode errors into drip's
// "file:N: key: message" form.
func (s *source) typeProblem(e string) string {
	m := lineRE.FindStringSubmatch(e)
	if m == nil {
		return fmt.Sprintf("%s: %s", s.file, e)
	}
	line, _ := strconv.Atoi(m[1])
	where := fmt.Sprintf("%s:%d", s.file, line)
	msg := m[3]
	if m[2] != "" { // one of ours: the position names the key exactly
		col, _ := strconv.Atoi(m[2])
		if p, ok := s.values[[2]int{line, col}]; ok {
			s.bad[p] = true
			return fmt.Sprintf("%s: %s: %s", where, p, msg)
		}
		return fmt.Sprintf("%s: %s", where, msg)
	}
	if f := notFoundRE.FindStringSubmatch(msg); f != nil {
		return fmt.Sprintf("%s: unknown key %q%s", where, f[1], suggestKey(f[1], f[2]))
	}
	if f := duplicateRE.FindStringSubmatch(e); f != nil {
		return fmt.Sprintf("%s: duplicate key %q (first at line %s)", where, f[1], f[2])
	}
	if f := alreadySetRE.FindStringSubmatch(msg); f != nil {
		return fmt.Sprintf("%s: duplicate key %q", where, f[1])
	}
	if f := cannotRE.FindStringSubmatch(msg); f != nil {
		p := s.valuePathOnLine(line, f[1], f[2])
		got := describeTag(f[1])
		if f[2] != "" && p != "" && !secretPath(p) {
			got = fmt.Sprintf("%s %q", got, s.texts[p])
		}
		text := fmt.Sprintf("expected %s, got %s", describeGoType(f[3]), got)
		if p == "" {
			return fmt.Sprintf("%s: %s", where, text)
		}
		s.bad[p] = true
		return fmt.Sprintf("%s: %s: %s", where, p, text)
	}
	return fmt.Sprintf("%s: %s", where, msg)
}

// valuePathOnLine finds the key whose value sits on line; when several do
// (a flow mapping), the one whose text is value.
func (s *source) valuePathOnLine(line int, tag, value string) string {
	var found []string
	for pos, p := range s.values {
		if pos[0] == line {
			found = append(found, p)
		}
	}
	sort.Strings(found)
	if len(found) == 1 {
		return found[0]
	}
	kind := map[string]yaml.Kind{"!!map": yaml.MappingNode, "!!seq": yaml.SequenceNode}[tag]
	var ofKind []string
	for _, p := range found {
		if kind != 0 && s.kinds[p] == kind {
			ofKind = append(ofKind, p)
		}
	}
	if len(ofKind) == 1 {
		return ofKind[0]
	}
	for _, p := range found {
		t := s.texts[p]
		if value != "" && (t == value || (strings.HasSuffix(value, "...") && strings.HasPrefix(t, strings.TrimSuffix(value, "...")))) {
			return p
		}
	}
	return ""
}

func describeTag(tag string) string {
	switch tag {
	case "!!str":
		return "text"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "true/false"
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	case "!!null":
		return "nothing"
	}
	return tag
}

func describeGoType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case t == "string":
		return "text"
	case t == "bool":
		return "true or false"
	case t == "float64":
		return "a number"
	case strings.HasPrefix(t, "int"):
		return "a whole number"
	case strings.HasPrefix(t, "configs.") || strings.HasPrefix(t, "*configs."):
		return "a mapping"
	}
	return t
}

// secretPath reports whether values at path must never be echoed.
func secretPath(p string) bool {
	for _, s := range []string{"password", "api_token", "metrics_token", "secret", "database_url"} {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

// yamlKeys lists the keys a config type accepts, for "did you mean" hints.
var yamlKeys = func() map[string][]string {
	m := map[string][]string{}
	for _, v := range []any{Config{}, HTTP{}, Sender{}, SMTP{}, IMAP{}, Engine{}, Sequence{}, Window{}, Pace{}, Shield{}} {
		t := reflect.TypeOf(v)
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				m[t.String()] = append(m[t.String()], name)
			}
		}
	}
	return m
}()

func suggestKey(key, typ string) string {
	best := suggest.Closest(key, yamlKeys[strings.TrimPrefix(typ, "*")])
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
