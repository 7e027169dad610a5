package api_test

import (
	"net/http"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
)

// TestAPIThrottlesFailedAuthPerAddress: wrong tokens from one address end
// in 429 for that address (even with the right token), while a client at
// another address is served.
func TestAPIThrottlesFailedAuthPerAddress(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	get := func(addr, auth string) int {
		req, err := http.NewRequest("GET", r.srv.URL+"/api/v1/sequences/trade-fair/stats", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Forwarded-For", addr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	throttled := false
	for range 40 {
		if get("203.0.113.7", "Bearer guess") == http.StatusTooManyRequests {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Fatal("40 wrong tokens from one address were never throttled")
	}
	if code := get("203.0.113.7", "Bearer "+token); code != http.StatusTooManyRequests {
		t.Errorf("right token from the throttled address: %d, want 429", code)
	}
	if code := get("198.51.100.9", "Bearer "+token); code != http.StatusOK {
		t.Fatalf("another address while one is throttled: %d, want 200", code)
	}
}
