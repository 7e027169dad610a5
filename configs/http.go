package configs

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// DefaultMaxConnections is http.max_connections: far above what reps and
// a scraper open, and what recipients clicking links at once need; low
// enough that a flood of slow connections cannot exhaust the process's
// file descriptors (1024 by default on Linux).
const DefaultMaxConnections = 1000

func (h *HTTP) applyDefaults() {
	h.ReadHeaderTimeout = h.ReadHeaderTimeout.Or(Span{Dur: 10 * time.Second})
	h.ReadTimeout = h.ReadTimeout.Or(Span{Dur: 2 * time.Minute})
	h.WriteTimeout = h.WriteTimeout.Or(Span{Dur: 5 * time.Minute})
	h.IdleTimeout = h.IdleTimeout.Or(Span{Dur: 2 * time.Minute})
	if h.MaxConnections == 0 {
		h.MaxConnections = DefaultMaxConnections
	}
}

func (h *HTTP) validate(src *source, ps *Problems) {
	if h.PublicListen != "" {
		_, port, err := net.SplitHostPort(h.PublicListen)
		switch {
		case err != nil || port == "":
			src.problem(ps, "http.public_listen", "expected host:port, e.g. 0.0.0.0:8081, got %q", h.PublicListen)
		case h.PublicListen == h.Listen && port != "0":
			src.problem(ps, "http.public_listen", "%q is also http.listen: leave public_listen empty for one listener, or give it its own port", h.PublicListen)
		}
	}
	if h.MetricsToken != strings.TrimSpace(h.MetricsToken) {
		src.problem(ps, "http.metrics_token", "starts or ends with white space (a copy-paste slip?)")
	}
	for _, f := range []struct {
		path string
		s    Span
	}{{"http.read_header_timeout", h.ReadHeaderTimeout}, {"http.read_timeout", h.ReadTimeout},
		{"http.write_timeout", h.WriteTimeout}, {"http.idle_timeout", h.IdleTimeout}} {
		if f.s.Approx() <= 0 {
			src.problem(ps, f.path, "must be more than 0")
		}
	}
	if h.MaxConnections < 1 {
		src.problem(ps, "http.max_connections", "must be at least 1, got %d", h.MaxConnections)
	}
}

// Loopback reports whether a listen address (host:port) can only be
// reached from this machine: a loopback IP or "localhost". An empty host,
// 0.0.0.0, :: or any other name listens beyond it.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Warnings are what `drip check` points out without refusing the
// configuration.
func (c *Config) Warnings() []string {
	var w []string
	if !Loopback(c.HTTP.Listen) {
		where := "the internet or the network"
		if c.HTTP.PublicListen != "" {
			where = "the network"
		}
		w = append(w, fmt.Sprintf("%s: http.listen %s is not a loopback address: the API, the web UI and /metrics face %s; "+
			"keep http.listen on 127.0.0.1 (or a private network behind a proxy) and give recipients' unsubscribe links http.public_listen",
			c.File, c.HTTP.Listen, where))
	}
	return w
}
