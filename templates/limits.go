package templates

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"text/template/parse"
	"time"
)

// Limits of a step's templates. A template is written by the people who
// run drip, but a slip ({{range}} over a huge number, a field pasted a
// thousand times) must not stall `drip check`, a reload or delivery, and
// must not send a 50 MB email: it fails the step's check instead.
const (
	// MaxTemplateBytes is the largest template file loaded.
	MaxTemplateBytes = 10 << 20
	// MaxRenderBytes is the most a message's parts (subject, text and HTML
	// together) may render to: 10 MiB, what many providers accept in one
	// message, before MIME encoding.
	MaxRenderBytes = 10 << 20
	// RenderBudget is how long one step's render may take.
	RenderBudget = 2 * time.Second
)

// errRenderTooLarge and ErrRenderTooSlow are what a capped render fails
// with. A render that ran out of time may have met a busy machine: a
// sender may try it again later (errors.Is on the render's error).
var (
	errRenderTooLarge = fmt.Errorf("renders to more than %d MiB with the other parts of the message: too large to send", MaxRenderBytes>>20)
	ErrRenderTooSlow  = fmt.Errorf("takes longer than %s to render", RenderBudget)
	errRenderTooSlow  = ErrRenderTooSlow
)

// budgetWriter collects a render and stops it (text/template ends on the
// first write error) past MaxRenderBytes or the deadline.
type budgetWriter struct {
	b        strings.Builder
	limit    int // bytes
	deadline time.Time
}

func (w *budgetWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.limit {
		return 0, errRenderTooLarge
	}
	if time.Now().After(w.deadline) {
		return 0, errRenderTooSlow
	}
	return w.b.Write(p)
}

// runBudgeted runs exec (which renders into w) within RenderBudget. A
// render that does not end in time is abandoned: the step fails, and the
// caller (a send, a reload, `drip check`, shutdown) never waits on it. The
// linter refuses the loops that could run that long, so this is the
// backstop, not the rule.
//
// limit is what is left of MaxRenderBytes for this part; deadline is the
// end of the whole message's RenderBudget.
func runBudgeted(limit int, deadline time.Time, exec func(w *budgetWriter) error) (string, error) {
	w := &budgetWriter{limit: limit, deadline: deadline}
	done := make(chan error, 1)
	go func() { done <- exec(w) }()
	t := time.NewTimer(time.Until(deadline) + 100*time.Millisecond)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			// The budget's errors come wrapped in template positions.
			switch {
			case errors.Is(err, errRenderTooLarge):
				return "", errRenderTooLarge
			case errors.Is(err, errRenderTooSlow):
				return "", errRenderTooSlow
			}
			return "", err
		}
		return w.b.String(), nil
	case <-t.C:
		return "", errRenderTooSlow
	}
}

// rangeOver refuses a {{range}} over anything but a list or map of the
// data (.Prospect.Fields): over a number ({{range 100000000000}}), .Steps
// or a computed value, a loop could run for minutes with nothing written,
// which no write cap stops.
func (l *linter) rangeOver(n *parse.RangeNode, rootDot bool) {
	const why = "{{range}} may only walk a list or map of the data, e.g. .Prospect.Fields (a loop over a number or a computed value could run for hours)"
	p := n.Pipe
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		l.report(n, why)
		return
	}
	var t reflect.Type
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		if rootDot {
			t = chainType(a.Ident)
		}
	case *parse.VariableNode:
		if a.Ident[0] == "$" {
			t = chainType(a.Ident[1:])
		}
	}
	if t == nil || (t.Kind() != reflect.Map && t.Kind() != reflect.Slice) {
		l.report(n, why)
	}
}

// chainType is the type .A.B.C has in Data, or nil when it has none.
func chainType(idents []string) reflect.Type {
	t := dataType
	for _, id := range idents {
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := t.FieldByName(id)
		if !ok || !f.IsExported() {
			return nil
		}
		t = f.Type
	}
	return t
}

// locateRender is locate, except for the budget's own errors, which name
// the file but no line (the whole template is too large or too slow).
func locateRender(err error, file string, offset int) *Error {
	if errors.Is(err, errRenderTooLarge) || errors.Is(err, errRenderTooSlow) {
		return &Error{File: file, Msg: err.Error(), Err: err}
	}
	return locate(err, file, offset)
}
