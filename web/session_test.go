package web

import (
	"testing"
	"time"
)

func TestStaySignedIn(t *testing.T) {
	for ttl, want := range map[time.Duration]string{
		12 * time.Hour: "12 hours", time.Hour: "1 hour", 90 * time.Minute: "90 minutes",
		45 * time.Minute: "45 minutes", 10 * time.Second: "less than a minute",
	} {
		if got := staySignedIn(ttl); got != want {
			t.Errorf("staySignedIn(%v) = %q, want %q", ttl, got, want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]bool{
		"/ui/prospects": true, "/ui/prospects?state=paused&q=caff%C3%A8": true, "/ui/prospects/a@b.it": true,
		"": false, "/ui/signin": false, "/ui/signin?next=/ui/x": false, "//evil.example": false,
		"https://evil.example/ui/": false, "/ui//evil.example": false, `/ui/\evil.example`: false,
		"/api/v1/prospects": false, "/ui/x\r\nSet-Cookie: a=b": false,
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %v, want %v", next, got, want)
		}
	}
}
