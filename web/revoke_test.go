package web_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
)

// TestSignOutHoldsAcrossRestartAndInstances: a signed-out cookie replayed
// to another instance on the same store, or to this one after a restart,
// is refused; a session that did not sign out goes on working there.
func TestSignOutHoldsAcrossRestartAndInstances(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "drip.db"))
	first := newRigOn(t, st, nil)
	b := first.browser(t)
	csrf := b.signIn()
	kept := first.browser(t)
	kept.signIn()
	u, _ := url.Parse(first.srv.URL + "/ui/")
	stolen, keptCookies := b.jar.Cookies(u), kept.jar.Cookies(u)
	if p := b.post("/ui/signout", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: status %d", p.status)
	}
	first.srv.Close() // the instance stops (a deploy)

	for _, name := range []string{"another instance", "the restarted instance"} {
		other := newRigOn(t, st, nil)
		ou, _ := url.Parse(other.srv.URL + "/ui/")
		replay := other.browser(t)
		replay.jar.SetCookies(ou, stolen)
		if p := replay.get("/ui/prospects"); p.status != http.StatusSeeOther {
			t.Errorf("%s: the signed-out cookie replayed: status %d, want 303 to sign-in", name, p.status)
		}
		still := other.browser(t)
		still.jar.SetCookies(ou, keptCookies)
		if p := still.get("/ui/prospects"); p.status != http.StatusOK {
			t.Errorf("%s: a session that did not sign out: status %d, want 200", name, p.status)
		}
	}
}
