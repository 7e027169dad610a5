package sqlstore

import (
	_ "embed"
	"fmt"
	"reflect"
	"strings"
	"text/template"

	"github.com/drip-email/drip/store"
)

//go:embed queries.sql
var sharedQueries string

// parseBlocks splits listmonk-style SQL text into its `-- name: x` blocks.
// Text before the first name is a file comment and is dropped.
func parseBlocks(file, text string) (map[string]string, error) {
	blocks := map[string]string{}
	var (
		name string
		body strings.Builder
	)
	flush := func() {
		if name != "" {
			blocks[name] = strings.TrimSpace(body.String())
		}
		body.Reset()
	}
	for i, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
			flush()
			name = strings.TrimSpace(rest)
			if name == "" {
				return nil, fmt.Errorf("%s:%d: query without a name", file, i+1)
			}
			if _, dup := blocks[name]; dup {
				return nil, fmt.Errorf("%s:%d: query %q defined twice", file, i+1, name)
			}
			continue
		}
		// Whole-line comments document a query; they are not sent.
		if name != "" && !strings.HasPrefix(strings.TrimSpace(line), "--") {
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	flush()
	return blocks, nil
}

// loadQueries fills every `query:"name"` field of dst (a pointer to a
// struct of strings) from the shared and the dialect's queries, expanding
// the dialect's macros. A name defined in both files, or missing from both,
// is an error (unless the field is tagged optional:"true": a query only
// some dialects have): each query lives in exactly one place. Blocks named
// part:x are not queries but pieces that queries include; blocks named
// list:x are expanded once for every shape of the prospect list (see
// listQueries), and returned in the template set for that.
func loadQueries(dst any, d Dialect) (*template.Template, error) {
	shared, err := parseBlocks("sqlstore/queries.sql", sharedQueries)
	if err != nil {
		return nil, err
	}
	own, err := parseBlocks(d.Name+"/queries.sql", d.Queries)
	if err != nil {
		return nil, err
	}
	all := map[string]string{}
	for name, q := range shared {
		all[name] = q
	}
	for name, q := range own {
		if _, dup := all[name]; dup {
			return nil, fmt.Errorf("query %q is both shared and in %s/queries.sql", name, d.Name)
		}
		all[name] = q
	}

	// One template set, so that a query can include a shared part with
	// {{template "part:x"}}.
	set := template.New("").Funcs(sharedMacros).Funcs(d.Macros).Option("missingkey=error")
	for name, raw := range all {
		if _, err := set.New(name).Parse(raw); err != nil {
			return nil, fmt.Errorf("query %q: %w", name, err)
		}
	}
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	used := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("query")
		if _, ok := all[name]; !ok {
			if t.Field(i).Tag.Get("optional") == "true" {
				continue
			}
			return nil, fmt.Errorf("query %q is not defined for %s", name, d.Name)
		}
		var out strings.Builder
		if err := set.ExecuteTemplate(&out, name, nil); err != nil {
			return nil, fmt.Errorf("query %q: %w", name, err)
		}
		v.Field(i).SetString(out.String())
		used[name] = true
	}
	for name := range all {
		if !used[name] && !strings.HasPrefix(name, "part:") && !strings.HasPrefix(name, "list:") {
			return nil, fmt.Errorf("query %q is defined but never used", name)
		}
	}
	return set, nil
}

// sharedMacros are the template functions every dialect has.
var sharedMacros = template.FuncMap{
	// states is every enrollment state as a list of SQL literals.
	"states": func() string {
		quoted := make([]string, len(store.States))
		for i, s := range store.States {
			quoted[i] = "'" + string(s) + "'"
		}
		return strings.Join(quoted, ", ")
	},
	// terminal is every terminal enrollment state as a list of SQL
	// literals: store.TerminalStates, the one place that says which.
	"terminal": func() string {
		quoted := make([]string, len(store.TerminalStates))
		for i, s := range store.TerminalStates {
			quoted[i] = "'" + string(s) + "'"
		}
		return strings.Join(quoted, ", ")
	},
}
