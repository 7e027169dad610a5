package postgres

import (
	"strings"
	"testing"
)

// A server that accepts connections but never answers must not hang drip:
// lib/pq ignores the context while connecting, so Open adds a connect
// timeout to a DSN that has none.
func TestConnectTimeoutDefault(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u:p@db:5432/drip?sslmode=disable", "connect_timeout=10"},
		{"postgres://u:p@db/drip?connect_timeout=3&sslmode=disable", "connect_timeout=3"},
		{"host=db user=u dbname=drip sslmode=disable", "connect_timeout=10"},
		{"host=db connect_timeout=2", "connect_timeout=2"},
	} {
		got := withConnectTimeout(c.in)
		if !strings.Contains(got, c.want) || strings.Count(got, "connect_timeout") != 1 {
			t.Errorf("withConnectTimeout(%q) = %q, want exactly one %s", c.in, got, c.want)
		}
		if strings.Contains(c.in, "u:p@") && !strings.Contains(got, "u:p@") {
			t.Errorf("withConnectTimeout(%q) = %q lost the credentials", c.in, got)
		}
	}
}
