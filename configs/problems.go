package configs

import (
	"fmt"
	"strings"
)

// Problems is every problem found while loading or checking a configuration,
// one line each, "file:line: message" (or "file: message" when the problem
// has no line, or "$DRIP_X: message" when the value came from the
// environment). It is collected whole, so a user fixes everything in one go.
type Problems struct {
	List []string
}

// Error joins the problems, one per line.
func (p *Problems) Error() string { return strings.Join(p.List, "\n") }

// Addf records one problem.
func (p *Problems) Addf(format string, args ...any) {
	p.List = append(p.List, fmt.Sprintf(format, args...))
}

// Err returns p as an error, or nil when nothing was recorded.
func (p *Problems) Err() error {
	if p == nil || len(p.List) == 0 {
		return nil
	}
	return p
}
