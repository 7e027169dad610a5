package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// postFrom posts the sign-in form as a client at addr (through a local
// reverse proxy, which names the client in X-Forwarded-For).
func (b *browser) postFrom(addr, path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.r.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	return b.do(req)
}

// TestLockedOutGuesserLocksOutNobodyElse: wrong tokens from one address
// throttle that address only; a rep elsewhere signs in meanwhile.
func TestLockedOutGuesserLocksOutNobodyElse(t *testing.T) {
	r := newRig(t, nil)
	attacker, rep := r.browser(t), r.browser(t)
	throttled := false
	for range 40 {
		if p := attacker.postFrom("203.0.113.7", "/ui/signin", url.Values{"token": {"guess"}}); p.status == http.StatusTooManyRequests {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Fatal("40 wrong tokens from one address were never throttled")
	}
	if p := attacker.postFrom("203.0.113.7", "/ui/signin", url.Values{"token": {token}}); p.status != http.StatusTooManyRequests {
		t.Errorf("right token from the throttled address: status %d, want 429", p.status)
	}
	if p := rep.postFrom("198.51.100.9", "/ui/signin", url.Values{"token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("a rep at another address while the attacker is throttled: status %d, want 303", p.status)
	}
}
