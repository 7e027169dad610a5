package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/storeopen"
)

// runMainEnv makes the test binary behave as the drip binary: the process
// tests re-execute it as `drip serve` and `drip import`, so they need no
// second build, and the children run with the race detector too.
const runMainEnv = "DRIP_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// procSequence is the one sequence of a process test.
const procSequence = "followup"

// procSetup is what differs between the process tests' configurations.
type procSetup struct {
	dbURL      string
	workers    int
	steps      int
	interval   string // the sequence's interval
	dailyLimit int
	senderTZ   string // the sender's time zone ("" = UTC)
	lease      string // engine.lease ("" = 2s; "default" = not set: 5m)
	imapPort   int    // the sender's IMAP server (0 = none), user maria, password procIMAPPassword
	webhook    string // a webhook's URL ("" = none), secret procWebhookSecret
}

// procWebhookSecret signs the deliveries to procSetup.webhook.
const procWebhookSecret = "whsec-proc-9fQ2"

// webhookLine is the webhooks section of drip.yaml ("" without one).
func (s procSetup) webhookLine() string {
	if s.webhook == "" {
		return ""
	}
	return fmt.Sprintf("webhooks: [ { url: %q, secret: %q } ]\n", s.webhook, procWebhookSecret)
}

// procIMAPPassword is maria's IMAP password when procSetup.imapPort is set.
const procIMAPPassword = "imap-proc-Tq4sW9"

// engineLine is the engine section of drip.yaml for s.
func (s procSetup) engineLine() string {
	lease := "lease: 2s, "
	switch s.lease {
	case "":
	case "default":
		lease = ""
	default:
		lease = "lease: " + s.lease + ", "
	}
	return "engine: { poll: 50ms, " + lease + "retry_base: 100ms, retry_max_delay: 1s, shutdown_grace: 30s }"
}

// imapLine is the sender's imap entry of drip.yaml ("" without one).
func (s procSetup) imapLine() string {
	if s.imapPort == 0 {
		return ""
	}
	return fmt.Sprintf("    imap: { host: 127.0.0.1, port: %d, tls: none, username: maria, password: %q, poll: 1s }\n", s.imapPort, procIMAPPassword)
}

// procEnv is a configuration in a temp dir whose only sender delivers to
// an in-test SMTP sink, and the drip processes run against it.
type procEnv struct {
	t      *testing.T
	dir    string
	config string
	dbURL  string
	sink   *smtptest.Server
	st     store.Store // opened on first use

	mu       sync.Mutex
	children []*child
}

// newProcEnv writes drip.yaml (short engine periods, no IMAP) and a
// sequence whose step templates say "Step N" in the Subject, so that the
// sink can tell the steps apart.
func newProcEnv(t *testing.T, sink *smtptest.Server, s procSetup) *procEnv {
	t.Helper()
	dir := t.TempDir()
	tplDir := filepath.Join(dir, "templates", procSequence)
	for _, d := range []string{filepath.Join(dir, "sequences"), tplDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tz := s.senderTZ
	if tz == "" {
		tz = "UTC"
	}
	files := map[string]string{
		"drip.yaml": fmt.Sprintf(`database_url: %q
http: { listen: "127.0.0.1:0", api_token: "t0ken", public_url: "https://drip.example.com" }
workers: %d
sequences_dir: %q
templates_dir: %q
senders:
  - name: maria
    from: "Maria Rossi <maria@example.com>"
    daily_limit: %d
    timezone: %s
    smtp: { host: 127.0.0.1, port: %d, tls: none }
%s%s
%s`, s.dbURL, s.workers, filepath.Join(dir, "sequences"), filepath.Join(dir, "templates"), s.dailyLimit, tz, sink.Port(),
			s.imapLine(), s.engineLine(), s.webhookLine()),
		"sequences/" + procSequence + ".yaml": fmt.Sprintf("name: %s\nsteps: %d\ninterval: %s\nfirst_step_after: 0\ntimezone: UTC\nthread: false\n",
			procSequence, s.steps, s.interval),
	}
	for k := 1; k <= s.steps; k++ {
		files[fmt.Sprintf("templates/%s/%02d.txt", procSequence, k)] =
			"Subject: Step {{.Step}}\n\nHello {{.Prospect.FirstName}},\n\nthis is step {{.Step}} of {{.Steps}}.\n"
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &procEnv{t: t, dir: dir, config: filepath.Join(dir, "drip.yaml"), dbURL: s.dbURL, sink: sink}
}

// command is the drip binary (this test binary, re-executed) with args,
// and an environment without the caller's DRIP_* variables, which would
// override the test's configuration.
func (e *procEnv) command(ctx context.Context, args ...string) *exec.Cmd {
	self, err := os.Executable() // absolute: the child runs in e.dir
	if err != nil {
		e.t.Fatalf("finding the test binary: %v", err)
	}
	cmd := exec.CommandContext(ctx, self, append([]string{args[0], "-c", e.config}, args[1:]...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DRIP_") && !strings.HasPrefix(kv, "GORACE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// Under -race a process sleeps a second before it exits, to let
	// racing goroutines show; it makes every child slower to stop and
	// tells the tests nothing.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, runMainEnv+"=1", "GORACE="+gorace)
	cmd.Dir = e.dir
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// drip runs a one-shot command to its end.
func (e *procEnv) drip(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := e.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("running drip %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// importProspects enrols n new prospects (prefix0000@example.com, ...) with
// `drip import`; their first step is due now.
func (e *procEnv) importProspects(prefix string, n int) []string {
	e.t.Helper()
	var csv strings.Builder
	csv.WriteString("email,first_name\n")
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("%s%04d@example.com", prefix, i)
		fmt.Fprintf(&csv, "%s,Name%d\n", emails[i], i)
	}
	file := filepath.Join(e.dir, prefix+".csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
	out, errOut, code := e.drip("import", "--sequence", procSequence, file)
	if want := fmt.Sprintf("imported=%d updated=0 rejected=0", n); code != 0 || !strings.Contains(out, want) {
		e.t.Fatalf("drip import: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
	}
	return emails
}

// store opens the env's store beside the processes, to read what they did.
func (e *procEnv) store() store.Store {
	e.t.Helper()
	if e.st == nil {
		st, _, _, err := storeopen.Open(context.Background(), e.dbURL)
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(func() { st.Close() })
		e.st = st
	}
	return e.st
}

// states counts the sequence's enrollments by state.
func (e *procEnv) states() map[store.State]int {
	e.t.Helper()
	counts, err := e.store().EnrollmentCounts(context.Background())
	if err != nil {
		e.t.Fatalf("counting enrollments: %v", err)
	}
	return counts[procSequence]
}

// stepKey is one step of one prospect.
type stepKey struct {
	email string
	step  int
}

func (k stepKey) String() string { return fmt.Sprintf("%s step %d", k.email, k.step) }

// sinkSteps maps each (recipient, step) the SMTP server accepted to the
// Message-IDs it received for it, in arrival order.
func sinkSteps(t *testing.T, sink *smtptest.Server) map[stepKey][]string {
	t.Helper()
	out := map[stepKey][]string{}
	for _, m := range sink.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("the sink holds an unreadable message: %v", err)
		}
		subject := msg.Header.Get("Subject")
		step, err := strconv.Atoi(strings.TrimPrefix(subject, "Step "))
		if err != nil || len(m.To) != 1 {
			t.Fatalf("sink message with subject %q to %v: want one recipient and \"Step N\"", subject, m.To)
		}
		k := stepKey{strings.ToLower(m.To[0]), step}
		out[k] = append(out[k], m.MessageID)
	}
	return out
}

// storeSteps reads the send row of every step of every prospect's
// enrollment in the sequence, and the enrollments by address.
func (e *procEnv) storeSteps(emails []string) (map[stepKey]store.Send, map[string]store.Enrollment) {
	e.t.Helper()
	ctx := context.Background()
	st := e.store()
	sends := map[stepKey]store.Send{}
	enrollments := map[string]store.Enrollment{}
	for _, email := range emails {
		p, err := st.ProspectGetByEmail(ctx, email)
		if err != nil {
			e.t.Fatalf("prospect %s: %v", email, err)
		}
		ens, err := st.EnrollmentsByProspect(ctx, p.ID)
		if err != nil || len(ens) != 1 {
			e.t.Fatalf("enrollments of %s: %d, %v; want one", email, len(ens), err)
		}
		enrollments[email] = ens[0]
		rows, err := st.SendsByEnrollment(ctx, ens[0].ID)
		if err != nil {
			e.t.Fatalf("sends of %s: %v", email, err)
		}
		for _, s := range rows {
			sends[stepKey{strings.ToLower(email), s.Step}] = s
		}
	}
	return sends, enrollments
}

// waitFor polls cond until it holds; it fails the test when timeout
// passes first, or when a child exits that nobody stopped.
func (e *procEnv) waitFor(timeout time.Duration, what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, status := cond()
		if ok {
			return
		}
		e.mu.Lock()
		for _, c := range e.children {
			if c.exitedUnexpectedly() {
				e.mu.Unlock()
				e.t.Fatalf("waiting for %s (%s): drip serve %q exited on its own: %v\n%s", what, status, c.name, c.waitErr, c.log.tail(40))
			}
		}
		e.mu.Unlock()
		if time.Now().After(deadline) {
			e.t.Fatalf("waiting for %s: still %s after %v", what, status, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// child is one `drip serve` process.
type child struct {
	name    string
	cmd     *exec.Cmd
	log     *childLog
	done    chan struct{} // closed when the process has exited
	waitErr error         // after done
	stopped bool          // a signal was sent on purpose (under e.mu)
	addr    string        // its HTTP listener, from its start-up log line
}

// serve starts `drip serve` and waits until it listens. The process is
// killed when the test ends, whatever happened.
func (e *procEnv) serve(name string) *child {
	e.t.Helper()
	c := &child{name: name, log: &childLog{}, done: make(chan struct{})}
	c.cmd = e.command(context.Background(), "serve")
	c.cmd.Stdout = c.log
	c.cmd.Stderr = c.log
	if err := c.cmd.Start(); err != nil {
		e.t.Fatalf("starting drip serve: %v", err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	e.mu.Lock()
	e.children = append(e.children, c)
	e.mu.Unlock()
	e.t.Cleanup(func() {
		lines := 60
		select {
		case <-c.done:
		default:
			if e.t.Failed() {
				// Still running when the test failed: SIGQUIT makes Go
				// print every goroutine's stack to the log first, so
				// that a stuck process says where it is stuck.
				_ = c.cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-c.done:
				case <-time.After(5 * time.Second):
				}
				lines = 1500
			}
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if e.t.Failed() {
			e.t.Logf("log of drip serve %q:\n%s", c.name, c.log.tail(lines))
		}
	})
	e.waitFor(time.Minute, "drip serve "+name+" to listen", func() (bool, string) {
		c.addr = c.log.listenAddr()
		return c.addr != "", "no `drip serving` line in its log"
	})
	return c
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) exitedUnexpectedly() bool { return !c.stopped && c.exited() }

// kill ends the process with SIGKILL: a crash, with no chance to record
// or release anything.
func (e *procEnv) kill(c *child) {
	e.t.Helper()
	e.mu.Lock()
	c.stopped = true
	e.mu.Unlock()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		e.t.Fatalf("killing drip serve %q: %v", c.name, err)
	}
	<-c.done
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		e.t.Fatalf("drip serve %q was not killed by SIGKILL: %v", c.name, c.waitErr)
	}
	if c.log.contains("DATA RACE") {
		e.t.Fatalf("drip serve %q reported a data race:\n%s", c.name, c.log.tail(200))
	}
}

// signalTerm asks the process to stop with SIGTERM, without waiting.
func (e *procEnv) signalTerm(c *child) {
	e.t.Helper()
	e.mu.Lock()
	c.stopped = true
	e.mu.Unlock()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		e.t.Fatalf("sending SIGTERM to drip serve %q: %v", c.name, err)
	}
}

// waitExit0 waits for the process to exit and fails unless it exited 0
// within limit; it returns how long that took.
func (e *procEnv) waitExit0(c *child, since time.Time, limit time.Duration) time.Duration {
	e.t.Helper()
	select {
	case <-c.done:
	case <-time.After(limit):
		e.t.Fatalf("drip serve %q still running %v after SIGTERM\n%s", c.name, limit, c.log.tail(40))
	}
	took := time.Since(since)
	if c.waitErr != nil {
		e.t.Fatalf("drip serve %q after SIGTERM: %v (want exit status 0)\n%s", c.name, c.waitErr, c.log.tail(40))
	}
	if c.log.contains("DATA RACE") {
		e.t.Fatalf("drip serve %q reported a data race:\n%s", c.name, c.log.tail(200))
	}
	return took
}

// term stops the process with SIGTERM and requires exit status 0 within
// the shutdown grace (30s).
func (e *procEnv) term(c *child) time.Duration {
	e.t.Helper()
	t0 := time.Now()
	e.signalTerm(c)
	return e.waitExit0(c, t0, 30*time.Second)
}

// metric sums the samples of a metric on the child's /metrics.
func (c *child) metric(name string) (float64, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + c.addr + "/metrics")
	if err != nil {
		return 0, fmt.Errorf("scraping %s: %w", c.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scraping %s: %s", c.name, resp.Status)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("scraping %s: bad sample %q", c.name, line)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("scraping %s: %w", c.name, err)
	}
	if !found {
		return 0, fmt.Errorf("scraping %s: no %s", c.name, name)
	}
	return sum, nil
}

// childLog collects a child's output.
type childLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var _ io.Writer = (*childLog)(nil)

func (l *childLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *childLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *childLog) contains(s string) bool { return strings.Contains(l.String(), s) }

var listenRE = regexp.MustCompile(`msg="drip serving" listen=(\S+)`)

// listenAddr is the address of the start-up line
// `msg="drip serving" listen=127.0.0.1:PORT ...`, "" before it.
func (l *childLog) listenAddr() string {
	if m := listenRE.FindStringSubmatch(l.String()); m != nil {
		return m[1]
	}
	return ""
}

func (l *childLog) tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
