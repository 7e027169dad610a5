package templates

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template/parse"
	"time"

	"github.com/drip-email/drip/internal/suggest"
)

// A template reaches data through field chains (.Prospect.FirstName).
// Rendering with sample data only tries the branches that data takes, so a
// misspelt field inside {{if eq .Step 3}} would pass a render check and
// fail at send time. linter follows every chain in every branch instead,
// against the Data type and the sequence's declared fields.
type linter struct {
	fields  map[string]bool // the sequence's custom fields
	seqFile string
	file    string
	offset  int
	tree    *parse.Tree
	out     []string
}

var dataType = reflect.TypeOf(Data{})

func (l *linter) lint(t *parse.Tree, file string, offset int) []string {
	if t == nil || t.Root == nil {
		return nil
	}
	l.tree, l.file, l.offset, l.out = t, file, offset, nil
	l.walk(t.Root, true)
	return l.out
}

// walk visits n; rootDot says whether dot is still Data there ({{with}}
// and {{range}} move it to something else inside their bodies).
func (l *linter) walk(n parse.Node, rootDot bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			l.walk(c, rootDot)
		}
	case *parse.ActionNode:
		l.walk(n.Pipe, rootDot)
	case *parse.IfNode:
		l.branch(&n.BranchNode, rootDot, rootDot)
	case *parse.WithNode:
		l.branch(&n.BranchNode, rootDot, false)
	case *parse.RangeNode:
		l.rangeOver(n, rootDot)
		l.branch(&n.BranchNode, rootDot, false)
	case *parse.TemplateNode:
		if n.Pipe != nil {
			l.walk(n.Pipe, rootDot)
		}
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			l.walk(c, rootDot)
		}
	case *parse.CommandNode:
		l.command(n)
		for _, a := range n.Args {
			l.walk(a, rootDot)
		}
	case *parse.ChainNode:
		l.walk(n.Node, rootDot) // the fields after it apply to a value of unknown type
	case *parse.FieldNode:
		if rootDot {
			l.chain(n, n.Ident)
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" && len(n.Ident) > 1 {
			l.chain(n, n.Ident[1:])
		}
	}
}

func (l *linter) branch(b *parse.BranchNode, rootDot, bodyRootDot bool) {
	l.walk(b.Pipe, rootDot)
	l.walk(b.List, bodyRootDot)
	if b.ElseList != nil {
		l.walk(b.ElseList, rootDot)
	}
}

// command checks the language of a dateIn written as a literal.
func (l *linter) command(c *parse.CommandNode) {
	if len(c.Args) < 2 {
		return
	}
	if id, ok := c.Args[0].(*parse.IdentifierNode); ok && id.Ident == "dateIn" {
		if s, ok := c.Args[1].(*parse.StringNode); ok && !knownLanguage(s.Text) {
			l.report(s, fmt.Sprintf("dateIn: unknown language %q (use one of %s)", s.Text, strings.Join(Languages(), ", ")))
		}
	}
}

// chain checks .A.B.C against Data.
func (l *linter) chain(n parse.Node, idents []string) {
	t := dataType
	for i, id := range idents {
		path := "." + strings.Join(idents[:i+1], ".")
		switch {
		case t.Kind() == reflect.Struct:
			if f, ok := t.FieldByName(id); ok && f.IsExported() {
				t = f.Type
				continue
			}
			if hasMethod(t, id) {
				return // a method's result type is not followed
			}
			l.report(n, fmt.Sprintf("%s: unknown field %s%s", path, id, suggestField(t, id)))
			return
		case t.Kind() == reflect.Map && strings.Join(idents[:i], ".") == "Prospect.Fields":
			if !l.fields[id] {
				l.report(n, fmt.Sprintf("%s: missing key %s; declare it in the sequence's fields: (%s)", path, id, l.seqFile))
			}
			return
		default:
			return
		}
	}
}

func hasMethod(t reflect.Type, name string) bool {
	if _, ok := t.MethodByName(name); ok {
		return true
	}
	_, ok := reflect.PointerTo(t).MethodByName(name)
	return ok
}

// suggestField names the closest field of struct t, for typos.
func suggestField(t reflect.Type, id string) string {
	if t == reflect.TypeOf(time.Time{}) {
		return ""
	}
	var all []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() {
			all = append(all, f.Name)
		}
	}
	if best := suggest.Closest(id, all); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return fmt.Sprintf(" (%s has %s)", t.Name(), strings.Join(all, ", "))
}

var contextLineRE = regexp.MustCompile(`:(\d+):\d+$`)

func (l *linter) report(n parse.Node, msg string) {
	loc, _ := l.tree.ErrorContext(n)
	line := 0
	if m := contextLineRE.FindStringSubmatch(loc); m != nil {
		line, _ = strconv.Atoi(m[1])
		line += l.offset
	}
	l.out = append(l.out, (&Error{File: l.file, Line: line, Msg: msg}).Error())
}
