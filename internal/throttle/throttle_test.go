package throttle

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestOneAddressLockedOutOthersNot(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	f := New(5, 2*time.Second, func() time.Time { return now })
	for range 5 {
		if f.Blocked("203.0.113.7") {
			t.Fatal("blocked before its allowance was used")
		}
		f.Fail("203.0.113.7")
	}
	if !f.Blocked("203.0.113.7") {
		t.Fatal("not blocked after 5 failures")
	}
	if f.Blocked("198.51.100.9") {
		t.Fatal("another address is blocked by the first one's failures")
	}
	now = now.Add(2 * time.Second)
	if f.Blocked("203.0.113.7") {
		t.Fatal("still blocked after the allowance refilled by one")
	}
}

func TestClientAddr(t *testing.T) {
	for _, c := range []struct {
		remote, xff, want string
	}{
		{"203.0.113.7:5555", "", "203.0.113.7"},
		{"203.0.113.7:5555", "1.2.3.4", "203.0.113.7"}, // not from a local proxy: ignored
		{"127.0.0.1:5555", "1.2.3.4, 198.51.100.9", "198.51.100.9"},
		{"127.0.0.1:5555", "", "127.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ClientAddr(r); got != c.want {
			t.Errorf("ClientAddr(%s, XFF %q) = %q, want %q", c.remote, c.xff, got, c.want)
		}
	}
}
