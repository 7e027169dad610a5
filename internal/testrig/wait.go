package testrig

import (
	"testing"
	"time"
)

// waitLimit only guards against a hang: a run under -race on a loaded
// machine must never fail for being slow.
const waitLimit = 60 * time.Second

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test naming what it waited for if it does not within a minute.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
