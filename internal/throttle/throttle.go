// Package throttle slows down guessing of secrets (the API token, a web
// sign-in) per client address: each address has its own allowance of
// failures, so an attacker who used theirs up locks out nobody else.
package throttle

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults: 20 failures at once, then one every 2 seconds.
const (
	DefaultBurst = 20
	DefaultEvery = 2 * time.Second
	// maxClients bounds the memory of addresses; past it the addresses
	// whose allowance has refilled are forgotten first (they lose nothing),
	// then the ones seen longest ago.
	maxClients = 10000
)

// Failures counts failed attempts per client address.
type Failures struct {
	burst int
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*client
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns failures that allow burst failures at once per address,
// then one per every; now is the clock (nil: time.Now).
func New(burst int, every time.Duration, now func() time.Time) *Failures {
	if now == nil {
		now = time.Now
	}
	return &Failures{burst: burst, every: every, now: now, clients: map[string]*client{}}
}

// Blocked reports whether addr has used up its failures for now. It is
// checked before the secret, so that a throttled guesser learns nothing.
func (f *Failures) Blocked(addr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clients[addr]
	return ok && c.lim.TokensAt(f.now()) < 1
}

// Fail records one failure of addr.
func (f *Failures) Fail(addr string) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clients[addr]
	if !ok {
		if len(f.clients) >= maxClients {
			f.prune(now)
		}
		c = &client{lim: rate.NewLimiter(rate.Every(f.every), f.burst)}
		f.clients[addr] = c
	}
	c.seen = now
	c.lim.AllowN(now, 1)
}

// prune forgets addresses whose allowance is whole again, and, if that is
// not enough, the half seen longest ago.
func (f *Failures) prune(now time.Time) {
	for a, c := range f.clients {
		if c.lim.TokensAt(now) >= float64(f.burst) {
			delete(f.clients, a)
		}
	}
	if len(f.clients) < maxClients {
		return
	}
	cut := now.Add(-f.every * time.Duration(f.burst))
	for a, c := range f.clients {
		if c.seen.Before(cut) || len(f.clients) >= maxClients {
			delete(f.clients, a)
		}
	}
}

// ClientAddr is who made r, for throttling and logs: the connection's
// address, or, when that is a loopback address (a reverse proxy on the same
// machine) and the request carries X-Forwarded-For, the address the proxy
// added last. A remote client cannot choose its address that way: its own
// X-Forwarded-For is only trusted from loopback. IPv6 addresses count per
// /64, the block one subscriber usually gets.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if p := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); p != nil {
				ip = p
			}
		}
	}
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
