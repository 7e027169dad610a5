package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/oauth"
	"github.com/drip-email/drip/mailer/oauth/oauthtest"
)

const testSecretKey = "drip-test-secret-key-0123456789-abcdefghij"

// syncBuffer is a bytes.Buffer a running command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitMatch waits until re matches what was written and returns its first group.
func (s *syncBuffer) waitMatch(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	var m []string
	testrig.WaitFor(t, "output matching "+re.String(), func() bool {
		m = re.FindStringSubmatch(s.String())
		return m != nil
	})
	return m[1]
}

// oauthEnv is a configuration with one OAuth2 sender, maria, whose
// provider is the in-process authorization server.
type oauthEnv struct {
	t      *testing.T
	dir    string
	config string
	dbURL  string
	auth   *oauthtest.Server
}

func newOAuthEnv(t *testing.T, flow string, extra string) *oauthEnv {
	t.Helper()
	t.Setenv("DRIP_SECRET_KEY", testSecretKey)
	auth, err := oauthtest.Start(oauthtest.Options{User: "maria@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sequences"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "templates", "booth"), 0o755))
	device := ""
	if flow == "device" {
		device = auth.DeviceURL()
	}
	dbURL := testrig.SQLiteURL(t)
	cfg := fmt.Sprintf(`database_url: %q
http: { listen: "127.0.0.1:0", api_token: "t0ken-t0ken-t0ken-t0ken-t0ken", public_url: "https://drip.example.com" }
sequences_dir: %q
templates_dir: %q
senders:
  - name: maria
    from: "Maria Rossi <maria@example.com>"
    provider: custom
    auth: oauth2
    oauth2: { client_id: drip-test, auth_url: %q, token_url: %q, device_url: %q, scopes: [mail] }
%s`, dbURL, filepath.Join(dir, "sequences"), filepath.Join(dir, "templates"), auth.AuthURL(), auth.TokenURL(), device, extra)
	if !strings.Contains(extra, "smtp:") {
		cfg += "    smtp: { host: 127.0.0.1, port: 2525, tls: none }\n"
	}
	must(os.WriteFile(filepath.Join(dir, "drip.yaml"), []byte(cfg), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sequences", "booth.yaml"), []byte("name: booth\nsteps: 2\ninterval: 2s\nfirst_step_after: 0\ntimezone: Europe/Rome\n"), 0o644))
	for i := 1; i <= 2; i++ {
		must(os.WriteFile(filepath.Join(dir, "templates", "booth", fmt.Sprintf("%02d.txt", i)), []byte(fmt.Sprintf("Subject: Step %d\n\nHello {{.Prospect.FirstName}}\n", i)), 0o644))
	}
	return &oauthEnv{t: t, dir: dir, config: filepath.Join(dir, "drip.yaml"), dbURL: dbURL, auth: auth}
}

// start runs a drip command line in the background; wait returns its status.
func (e *oauthEnv) start(args ...string) (out, errOut *syncBuffer, wait func() int) {
	out, errOut = &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	full := append([]string{args[0], "-c", e.config}, args[1:]...)
	go func() { done <- run(full, out, errOut) }()
	return out, errOut, func() int {
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			e.t.Fatalf("drip %s did not finish:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
			return -1
		}
	}
}

func (e *oauthEnv) drip(args ...string) (string, string, int) {
	out, errOut, wait := e.start(args...)
	code := wait()
	return out.String(), errOut.String(), code
}

// grantState is what the store says of maria's grant.
func (e *oauthEnv) grantState() string {
	e.t.Helper()
	ctx := context.Background()
	st := testrig.Open(e.t, e.dbURL)
	b, _ := oauth.NewBox(testSecretKey)
	state, err := oauth.State(ctx, daemon.Grants(st), b, "maria")
	if err != nil {
		e.t.Fatal(err)
	}
	return state
}

func (e *oauthEnv) noSecretIn(what string, texts ...string) {
	e.t.Helper()
	for _, tok := range e.auth.Issued() {
		for _, s := range texts {
			if strings.Contains(s, tok) {
				e.t.Errorf("%s shows a token (%s...)", what, tok[:5])
			}
		}
	}
	for _, s := range texts {
		if strings.Contains(s, testSecretKey) {
			e.t.Errorf("%s shows DRIP_SECRET_KEY", what)
		}
	}
}

func TestMailboxConnectDeviceFlow(t *testing.T) {
	e := newOAuthEnv(t, "device", "")
	if got := e.grantState(); got != "not connected" {
		t.Fatalf("before connect: %s", got)
	}
	if _, errOut, code := e.drip("check"); code != 0 || !strings.Contains(errOut, "warning: sender maria is not connected yet: run `drip mailbox connect maria`") {
		t.Fatalf("drip check before connect: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := e.drip("status"); code != 0 || !strings.Contains(out, "sender maria is not connected yet: run `drip mailbox connect maria`") {
		t.Fatalf("drip status before connect: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, wait := e.start("mailbox", "connect", "maria")
	code := out.waitMatch(t, regexp.MustCompile(`/activate in a browser \(any device\) and enter the code ([0-9A-F]{4}-[0-9A-F]{4})`))
	if !e.auth.ApproveDevice(code) {
		t.Fatalf("the server does not know the code %q", code)
	}
	if status := wait(); status != 0 {
		t.Fatalf("exit %d:\n%s%s", status, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "connected: sender maria (maria@example.com)") {
		t.Errorf("output:\n%s", out.String())
	}
	if got := e.grantState(); got != "ok" {
		t.Fatalf("after connect: %s", got)
	}
	if _, errOut, code := e.drip("check"); code != 0 || strings.Contains(errOut, "warning") {
		t.Fatalf("drip check after connect: exit %d\n%s", code, errOut)
	}
	e.noSecretIn("connect's output", out.String(), errOut.String())
}

func TestMailboxConnectBrowserFlowWithPKCE(t *testing.T) {
	e := newOAuthEnv(t, "browser", "")
	out, errOut, wait := e.start("mailbox", "connect", "maria")
	authURL := out.waitMatch(t, regexp.MustCompile(`(?m)^  (http://\S+/authorize\?\S+)$`))
	if !strings.Contains(authURL, "code_challenge_method=S256") || !strings.Contains(authURL, "redirect_uri=http%3A%2F%2F127.0.0.1%3A") {
		t.Fatalf("authorization URL without PKCE or loopback redirect: %s", authURL)
	}
	// The browser: the server approves and redirects to drip's listener.
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "signed in") {
		t.Errorf("the browser shows %q", page)
	}
	if status := wait(); status != 0 {
		t.Fatalf("exit %d:\n%s%s", status, out.String(), errOut.String())
	}
	if got := e.grantState(); got != "ok" {
		t.Fatalf("after connect: %s", got)
	}
	e.noSecretIn("connect's output", out.String(), errOut.String())
}

func TestMailboxConnectManualPaste(t *testing.T) {
	e := newOAuthEnv(t, "browser", "")
	pr, pw := io.Pipe()
	old := stdin
	stdin = pr
	t.Cleanup(func() { stdin = old })
	out, errOut, wait := e.start("mailbox", "connect", "maria", "--manual")
	authURL := out.waitMatch(t, regexp.MustCompile(`(?m)^  (http://\S+/authorize\?\S+)$`))
	// A browser elsewhere ends on http://127.0.0.1:1/?code=…, which fails
	// to load; the user pastes that address.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	landed := resp.Header.Get("Location")
	if !strings.HasPrefix(landed, "http://127.0.0.1:1/?") {
		t.Fatalf("redirected to %q", landed)
	}
	fmt.Fprintln(pw, landed)
	if status := wait(); status != 0 {
		t.Fatalf("exit %d:\n%s%s", status, out.String(), errOut.String())
	}
	if got := e.grantState(); got != "ok" {
		t.Fatalf("after connect: %s", got)
	}
}

func TestCheckWantsTheGrantKey(t *testing.T) {
	e := newOAuthEnv(t, "device", "")
	t.Setenv("DRIP_SECRET_KEY", "")
	_, errOut, code := e.drip("check")
	if code != 1 || !strings.Contains(errOut, "no key to encrypt OAuth2 grants: set DRIP_SECRET_KEY or secret_key_file") {
		t.Fatalf("drip check without a key: exit %d\n%s", code, errOut)
	}
	_, errOut, code = e.drip("mailbox", "connect", "maria")
	if code == 0 || !strings.Contains(errOut, "DRIP_SECRET_KEY") {
		t.Fatalf("connect without a key: exit %d\n%s", code, errOut)
	}
}
