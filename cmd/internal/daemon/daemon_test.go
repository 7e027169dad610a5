package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

const (
	apiToken     = "test-api-token-6f1d0c2b9a8e7d6c"
	metricsToken = "test-metrics-token-3a4b5c6d"
)

// running is a daemon running on SQLite and an SMTP sink, with nothing due.
type running struct {
	d   *daemon.Daemon
	cfg *configs.Config
}

// start runs a daemon whose http section has the extra lines httpExtra
// (YAML, indented by two spaces) and stops it when the test ends.
func start(t *testing.T, httpExtra string) *running {
	t.Helper()
	cfg := writeConfig(t, t.TempDir(), httpExtra, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	d, err := daemon.New(ctx, daemon.Options{Config: cfg, OnReady: func() { close(ready) }})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30s of its context ending")
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run ended before it was ready: %v", err)
	}
	return &running{d: d, cfg: cfg}
}

// writeConfig writes and loads a configuration in dir: SQLite, an SMTP
// sink, the sequence fair and the extra sequences (name -> steps).
func writeConfig(t *testing.T, dir, httpExtra string, extra map[string]int) *configs.Config {
	t.Helper()
	sink := smtptest.New(t, smtptest.Options{})
	cfgYAML := fmt.Sprintf(`database_url: "sqlite:%s"
http:
  listen: "127.0.0.1:0"
  api_token: %q
  public_url: "https://drip.example.com"
%s
sequences_dir: %q
templates_dir: %q
senders:
  - name: maria
    from: "Maria Rossi <maria@example.com>"
    smtp: { host: 127.0.0.1, port: %d, tls: none }
`, filepath.Join(dir, "drip.db"), apiToken, httpExtra, filepath.Join(dir, "sequences"), filepath.Join(dir, "templates"), sink.Port())
	if err := os.MkdirAll(filepath.Join(dir, "sequences"), 0o755); err != nil {
		t.Fatal(err)
	}
	// First step in ten days: nothing is sent while a test runs.
	files := map[string]string{"drip.yaml": cfgYAML,
		"sequences/fair.yaml": "name: fair\nsteps: 3\ninterval: 10d\nfirst_step_after: 10d\ntimezone: Europe/Rome\ntemplates: trade-fair\n"}
	for name, steps := range extra {
		files["sequences/"+name+".yaml"] = fmt.Sprintf("name: %s\nsteps: %d\ninterval: 10d\nfirst_step_after: 10d\ntimezone: Europe/Rome\ntemplates: trade-fair\n", name, steps)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := templates.WriteSamples(filepath.Join(dir, "templates")); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Load(filepath.Join(dir, "drip.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestNewRefusesADroppedSequence: a configuration without a sequence
// that still has unfinished enrollments does not start (the sequencer's
// rule, applied by the one constructor serve, demo and dripbench use).
func TestNewRefusesADroppedSequence(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "", map[string]int{"old": 3})
	ctx := context.Background()
	st, err := daemon.OpenStore(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &sequencer.Control{Store: st, Config: cfg}
	if _, err := c.Enroll(ctx, sequencer.EnrollRequest{Sequence: "old", Prospect: store.Prospect{Email: "anna@example.com"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Remove(filepath.Join(dir, "sequences", "old.yaml")); err != nil {
		t.Fatal(err)
	}
	cfg = writeConfig(t, dir, "", nil)
	d, err := daemon.New(ctx, daemon.Options{Config: cfg})
	if err == nil {
		d.Close()
		t.Fatal("New started with a dropped sequence that has an active enrollment")
	}
	if want := `sequence "old" is not configured but 1 enrollment(s) in it are not finished`; !strings.Contains(err.Error(), want) {
		t.Errorf("New: %v; want it to say %q", err, want)
	}
}

// get answers a request with its status and body; header is "Name: value" lines.
func get(t *testing.T, method, rawURL string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range header {
		if h == "" {
			continue
		}
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestTwoListeners is issue 18's acceptance 2: with http.public_listen
// set, the public listener answers 404 to the API, the web UI, /metrics
// and the probes, and serves the unsubscribe link, which unsubscribes;
// the private one serves everything (the link too, as the README says),
// with /metrics behind http.metrics_token.
func TestTwoListeners(t *testing.T) {
	r := start(t, `  public_listen: "127.0.0.1:0"
  metrics_token: "`+metricsToken+`"`)
	if r.d.PublicAddr() == "" || r.d.PublicAddr() == r.d.Addr() {
		t.Fatalf("public listener %q beside %q", r.d.PublicAddr(), r.d.Addr())
	}
	ctx := context.Background()
	c := &sequencer.Control{Store: r.d.Store(), Config: r.cfg}
	enrolled := map[string]int64{}
	for _, email := range []string{"anna@example.com", "bruno@example.com"} {
		res, err := c.Enroll(ctx, sequencer.EnrollRequest{Sequence: "fair", Prospect: store.Prospect{Email: email, FirstName: "A"}})
		if err != nil {
			t.Fatal(err)
		}
		enrolled[email] = res.Enrollment.ProspectID
	}
	unsub, err := daemon.Unsubscriber(ctx, r.cfg, r.d.Store())
	if err != nil {
		t.Fatal(err)
	}
	public, private := "http://"+r.d.PublicAddr(), "http://"+r.d.Addr()
	bearer, metricsBearer := "Authorization: Bearer "+apiToken, "Authorization: Bearer "+metricsToken

	for _, path := range []string{"/api/v1/prospects/anna@example.com", "/api/v1/sequences/fair/stats", "/ui/", "/ui/signin",
		"/ui/static/app.css", "/metrics", "/healthz", "/readyz", "/", "/u/", "/u/../api/v1/prospects/anna@example.com"} {
		if code, body := get(t, "GET", public+path, bearer); code != http.StatusNotFound {
			t.Errorf("public GET %s: %d, want 404\n%.200s", path, code, body)
		}
	}
	if code, body := get(t, "GET", public+"/metrics", metricsBearer); code != http.StatusNotFound || strings.Contains(body, "drip_") {
		t.Errorf("public /metrics with the metrics token: %d\n%.200s", code, body)
	}
	if code, _ := get(t, "POST", public+"/api/v1/prospects/anna@example.com/pause", bearer); code != http.StatusNotFound {
		t.Errorf("public POST pause: %d, want 404", code)
	}

	annaLink := unsub.URL(public, enrolled["anna@example.com"])
	if code, body := get(t, "GET", annaLink); code != http.StatusOK || !strings.Contains(body, "<form") {
		t.Errorf("public GET of anna's link: %d\n%.300s", code, body)
	}
	if code, body := get(t, "POST", annaLink); code != http.StatusOK {
		t.Errorf("public POST of anna's link: %d\n%.300s", code, body)
	}
	brunoLink := unsub.URL(private, enrolled["bruno@example.com"])
	if code, body := get(t, "POST", brunoLink); code != http.StatusOK {
		t.Errorf("private POST of bruno's link: %d\n%.300s", code, body)
	}
	for email := range enrolled {
		v, err := c.ProspectView(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Prospect.Suppressed {
			t.Errorf("%s is not suppressed after following the link", email)
		}
	}

	if code, body := get(t, "GET", private+"/api/v1/prospects/anna@example.com", bearer); code != http.StatusOK || !strings.Contains(body, "anna@example.com") {
		t.Errorf("private API: %d\n%.200s", code, body)
	}
	if code, _ := get(t, "GET", private+"/healthz"); code != http.StatusOK {
		t.Errorf("private /healthz: %d", code)
	}
	if code, _ := get(t, "GET", private+"/ui/signin"); code != http.StatusOK {
		t.Errorf("private /ui/signin: %d", code)
	}
	for _, h := range []string{"", bearer, "Authorization: Bearer wrong"} {
		code, body := get(t, "GET", private+"/metrics", h)
		if code != http.StatusUnauthorized || strings.Contains(body, "drip_") {
			t.Errorf("private /metrics with %q: %d, want 401\n%.200s", h, code, body)
		}
	}
	if code, body := get(t, "GET", private+"/metrics", metricsBearer); code != http.StatusOK || !strings.Contains(body, "drip_enrollments") {
		t.Errorf("private /metrics with the bearer token: %d\n%.200s", code, body)
	}
	u, _ := url.Parse(private + "/metrics")
	u.User = url.UserPassword("prometheus", metricsToken)
	if code, body := get(t, "GET", u.String()); code != http.StatusOK || !strings.Contains(body, "drip_enrollments") {
		t.Errorf("private /metrics with basic auth: %d\n%.200s", code, body)
	}
}

// TestOneListenerServesEverything: without http.public_listen (a laptop)
// one listener serves the API, the web UI, the link and an open /metrics.
func TestOneListenerServesEverything(t *testing.T) {
	r := start(t, "")
	if r.d.PublicAddr() != "" {
		t.Errorf("PublicAddr %q without http.public_listen", r.d.PublicAddr())
	}
	base := "http://" + r.d.Addr()
	for path, want := range map[string]int{"/healthz": 200, "/ui/signin": 200, "/metrics": 200, "/api/v1/sequences/fair/stats": 401} {
		if code, _ := get(t, "GET", base+path); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
}

// TestSlowBodyIsCut: a client that sends its request body a byte at a
// time has its connection closed at http.read_timeout, while it is still
// sending, instead of holding it for as long as it likes.
func TestSlowBodyIsCut(t *testing.T) {
	r := start(t, `  read_timeout: 1s`)
	conn, err := net.Dial("tcp", r.d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t0 := time.Now()
	fmt.Fprintf(conn, "POST /api/v1/enrollments HTTP/1.1\r\nHost: drip\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"sequence\": \"", apiToken)
	stopped := make(chan time.Duration, 1)
	go func() {
		for {
			if _, err := conn.Write([]byte("x")); err != nil {
				stopped <- time.Since(t0)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, err = io.ReadAll(bufio.NewReader(conn))
	closed := time.Since(t0)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the connection was still open after %s of a slow body", closed)
	}
	if closed < 900*time.Millisecond || closed > 6*time.Second {
		t.Errorf("connection closed after %s; want about read_timeout (1s)", closed)
	}
	select {
	case at := <-stopped:
		t.Logf("closed by the server after %s; the client's writes failed after %s", closed.Round(time.Millisecond), at.Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Errorf("the client could still write 5s after the server closed the connection")
	}
}

// TestConnectionCap: with http.max_connections 2, two idle connections
// leave a third client unanswered; once one of them closes, it is served.
func TestConnectionCap(t *testing.T) {
	r := start(t, `  max_connections: 2
  read_header_timeout: 20s`)
	base := "http://" + r.d.Addr()
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", r.d.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	time.Sleep(200 * time.Millisecond) // both accepted
	client := &http.Client{Timeout: 1500 * time.Millisecond}
	if resp, err := client.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a third connection was served (%s) while two were held with max_connections 2", resp.Status)
	}
	held[0].Close()
	client.Timeout = 10 * time.Second
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("after one held connection closed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after one held connection closed: %s", resp.Status)
	}
}
