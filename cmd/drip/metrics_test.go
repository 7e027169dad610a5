package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/imapwatch"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
)

// Secrets the live engine is configured with. maria's are right, piotr's
// are wrong, so that AUTH and IMAP LOGIN fail for him. None of them may
// ever appear in a log line.
const (
	secretSMTP      = "smtp-pass-Zq8rT1wV"
	secretSMTPWrong = "smtp-wrong-Kv3nB7xQ"
	secretIMAP      = "imap-pass-Hx5wP2mC"
	secretIMAPWrong = "imap-wrong-Dj9sL4tE"
	secretAPIToken  = "api-token-Mc6yF0uA"
	secretUnsub     = "unsub-secret-Rt2gN8bK"
)

// liveConfig is what `drip serve` runs on in these tests: two senders on
// one SMTP sink that requires AUTH and one IMAP server, a short engine
// poll, and store-derived gauges read on every scrape (metrics_refresh
// 1ms), so that a scrape at rest shows the store as it is.
const liveConfig = `database_url: "{{db}}"
http:
  listen: "127.0.0.1:0"
  api_token: "{{token}}"
  public_url: "https://drip.example.com"
  unsubscribe_secret: "{{unsub}}"
workers: 4
sequences_dir: "{{dir}}/sequences"
templates_dir: "{{dir}}/templates"
senders:
  - name: maria
    from: "Maria Rossi <maria@drip-test.example>"
    daily_limit: 1000
    smtp: { host: 127.0.0.1, port: {{smtp}}, tls: none, username: maria, password: "{{smtppass}}" }
    imap: { host: 127.0.0.1, port: {{imap}}, tls: none, username: maria, password: "{{imappass}}", poll: 1s }
  - name: piotr
    from: "Piotr Nowak <piotr@drip-test.example>"
    daily_limit: 50
    smtp: { host: 127.0.0.1, port: {{smtp}}, tls: none, username: piotr, password: "{{smtpwrong}}" }
    imap: { host: 127.0.0.1, port: {{imap}}, tls: none, username: piotr, password: "{{imapwrong}}", poll: 1s }
engine:
  poll: 50ms
  lease: 30s
  retry_base: 1s
  retry_max_delay: 1h
  metrics_refresh: 1ms
  mailbox_lease: 10s
  reconnect_limit: 500ms
`

// opsInterval is the ops sequence's interval: the test moves serve's
// clock by it to make step 2 due.
const opsInterval = 10 * 24 * time.Hour

// ops: two steps ten days apart; slow: its second step is a month away,
// so a reply to step 1 finds the enrollment active.
var liveSequences = map[string]string{
	"sequences/ops.yaml":  "name: ops\nsteps: 2\ninterval: 10d\nfirst_step_after: 0\ntimezone: Europe/Rome\nthread: true\ntemplates: trade-fair\n",
	"sequences/slow.yaml": "name: slow\nsteps: 3\ninterval: 30d\nfirst_step_after: 0\ntimezone: Europe/Rome\nthread: true\ntemplates: trade-fair\n",
}

// liveOptions vary the harness.
type liveOptions struct {
	logFormat, logLevel string // default text, debug
	// dbURL is the store serve uses (default SQLite in the temp dir);
	// testDBURL the one the test reads through (default dbURL).
	dbURL, testDBURL string
}

// live is `drip serve` run in-process through daemon.New, against real peers:
// the SMTP sink, the demo's IMAP server holding maria's inbox, a real store.
type live struct {
	t     *testing.T
	cfg   *configs.Config
	g     *globals
	clock *testrig.Clock // serve's clock: it moves only when the test moves it
	sink  *smtptest.Server
	inbox *demoIMAP
	st    store.Store // the test's own handle on serve's store
	logs  *lockedBuffer
	url   string // http://host:port of the running serve

	mu      sync.Mutex
	handled []imapwatch.Handled

	stopOnce sync.Once
	stopErr  error
	cancel   context.CancelFunc
	done     chan error
}

// newLive sets up the peers, the configuration and the store; serve is
// not running yet (start runs it), so a test can enroll first.
func newLive(t *testing.T, o liveOptions) *live {
	t.Helper()
	if o.logFormat == "" {
		o.logFormat = "text"
	}
	if o.logLevel == "" {
		o.logLevel = "debug"
	}
	dir := t.TempDir()
	if o.dbURL == "" {
		o.dbURL = "sqlite:" + filepath.Join(dir, "drip.db")
	}
	if o.testDBURL == "" {
		o.testDBURL = o.dbURL
	}
	sink := smtptest.New(t, smtptest.Options{Users: map[string]string{"maria": secretSMTP}, Domain: "mx.drip-test.example"})
	inbox, imapAddr, err := startDemoIMAP(secretIMAP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inbox.close)
	if err := writeConfigDir(dir, mergeFiles(liveSequences, map[string]string{"drip.yaml": liveConfig}), map[string]string{
		"{{db}}": o.dbURL, "{{dir}}": dir, "{{token}}": secretAPIToken, "{{unsub}}": secretUnsub,
		"{{smtp}}": fmt.Sprint(sink.Port()), "{{imap}}": fmt.Sprint(imapAddr.Port),
		"{{smtppass}}": secretSMTP, "{{smtpwrong}}": secretSMTPWrong,
		"{{imappass}}": secretIMAP, "{{imapwrong}}": secretIMAPWrong,
	}); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	g := &globals{config: filepath.Join(dir, "drip.yaml"), logFormat: o.logFormat, logLevel: o.logLevel, stdout: io.Discard, stderr: logs}
	cfg, err := loadConfig(g)
	if err != nil {
		t.Fatal(err)
	}
	testCfg := *cfg
	testCfg.DatabaseURL = o.testDBURL
	st, err := openStore(context.Background(), g, &testCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// serve's clock stands still until the test moves it, so a slow machine
	// never makes two steps due at once (R3 would rightly skip the first)
	// and sequences keep their real intervals.
	l := &live{t: t, cfg: cfg, g: g, clock: testrig.NewClock(time.Now().UTC().Truncate(time.Second)),
		sink: sink, inbox: inbox, st: st, logs: logs}
	t.Cleanup(func() {
		if err := l.stop(); err != nil {
			t.Errorf("serve returned %v", err)
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", logs.String())
		}
	})
	return l
}

func mergeFiles(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range []map[string]string{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// start runs serve and returns once it listens.
func (l *live) start() {
	l.t.Helper()
	log, err := newLogger(l.g)
	if err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	l.cancel, l.done = cancel, make(chan error, 1)
	var d *daemon.Daemon
	d, err = daemon.New(ctx, daemon.Options{
		Config: l.cfg, Log: log, Clock: l.clock,
		OnReady: func() { ready <- d.Addr() },
		OnInbound: func(h imapwatch.Handled) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.handled = append(l.handled, h)
		},
	})
	if err != nil {
		l.done <- err
		l.t.Fatalf("serve ended before it was ready: %v\n%s", err, l.logs.String())
	}
	go func() { l.done <- d.Run(ctx) }()
	select {
	case addr := <-ready:
		l.url = "http://" + addr
	case err := <-l.done:
		l.done <- err
		l.t.Fatalf("serve ended before it was ready: %v\n%s", err, l.logs.String())
	case <-time.After(30 * time.Second):
		l.t.Fatalf("serve not ready after 30s\n%s", l.logs.String())
	}
}

// stop ends serve the way SIGTERM does and returns what serve returned.
func (l *live) stop() error {
	l.stopOnce.Do(func() {
		if l.cancel == nil {
			return
		}
		l.cancel()
		select {
		case l.stopErr = <-l.done:
		case <-time.After(30 * time.Second):
			l.stopErr = fmt.Errorf("serve did not stop within 30s")
		}
	})
	return l.stopErr
}

// enroll puts a prospect on a sequence the way `drip enroll` does.
func (l *live) enroll(seq, sender, email string) store.Enrollment {
	l.t.Helper()
	c := &sequencer.Control{Store: l.st, Config: l.cfg, Clock: l.clock}
	r, err := c.Enroll(context.Background(), sequencer.EnrollRequest{Sequence: seq, Sender: sender,
		Prospect: store.Prospect{Email: email, FirstName: "Test"}})
	if err != nil {
		l.t.Fatalf("enrolling %s: %v", email, err)
	}
	return r.Enrollment
}

// settled says whether every enrollment is unleased and either past
// step, finished, or planned at least a day ahead.
func (l *live) settled(es []store.Enrollment, step int) error {
	now := l.clock.Now()
	for _, e := range es {
		cur, err := l.st.EnrollmentGet(context.Background(), e.ID)
		if err != nil {
			return err
		}
		switch {
		case cur.LeaseUntil != nil && cur.LeaseUntil.After(now):
			return fmt.Errorf("enrollment %d (%s) is leased", e.ID, cur.Sequence)
		case cur.State != store.StateActive || cur.LastStep >= step:
		case cur.NextSendAt != nil && cur.NextSendAt.After(now.Add(30*time.Minute)):
		default:
			return fmt.Errorf("enrollment %d (%s, step %d) is still due at %v", e.ID, cur.Sequence, cur.LastStep, cur.NextSendAt)
		}
	}
	return nil
}

// describe lists the enrollments that are not done, for a failure message.
func (l *live) describe(es []store.Enrollment) string {
	var b strings.Builder
	for _, e := range es {
		cur, err := l.st.EnrollmentGet(context.Background(), e.ID)
		if err != nil {
			fmt.Fprintf(&b, "enrollment %d: %v\n", e.ID, err)
			continue
		}
		if cur.State != store.StateActive {
			continue
		}
		sends, _ := l.st.SendsByEnrollment(context.Background(), e.ID)
		fmt.Fprintf(&b, "enrollment %d %s/%s: last_step %d next %v lease %q until %v sends %+v\n",
			cur.ID, cur.Sequence, cur.Sender, cur.LastStep, cur.NextSendAt, cur.LeaseOwner, cur.LeaseUntil, sends)
	}
	fmt.Fprintf(&b, "now %v", time.Now())
	return b.String()
}

// inboundHandled counts the messages the watchers reported, duplicates aside.
func (l *live) inboundHandled() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, h := range l.handled {
		if !h.Duplicate {
			n++
		}
	}
	return n
}

// scrape reads /metrics over HTTP and parses the text exposition format.
func (l *live) scrape() metricFamilies {
	l.t.Helper()
	resp, err := httpClient.Get(l.url + "/metrics")
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		l.t.Fatalf("parsing /metrics: %v", err)
	}
	return metricFamilies{t: l.t, fams: fams}
}

// get does a GET and returns the status.
func (l *live) get(path, token string) int {
	l.t.Helper()
	req, err := http.NewRequest(http.MethodGet, l.url+path, nil)
	if err != nil {
		l.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// httpClient gives up on a hung server long before the test's deadline.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// waitFor polls cond until it returns nil, and fails with its last error
// after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedBuffer is a log sink serve's goroutines may write to concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// metricFamilies is a parsed scrape.
type metricFamilies struct {
	t    *testing.T
	fams map[string]*dto.MetricFamily
}

// family returns a family that must exist, of the given type.
func (m metricFamilies) family(name string, typ dto.MetricType) *dto.MetricFamily {
	m.t.Helper()
	f, ok := m.fams[name]
	if !ok {
		m.t.Fatalf("/metrics has no %s", name)
	}
	if f.GetType() != typ {
		m.t.Fatalf("%s is a %s, want a %s", name, f.GetType(), typ)
	}
	return f
}

// labels of a sample as a map.
func labels(s *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range s.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// value is the one sample of a counter or gauge family whose labels are
// exactly want (name, value pairs); it fails when there is none.
func (m metricFamilies) value(name string, want ...string) float64 {
	m.t.Helper()
	f, ok := m.fams[name]
	if !ok {
		m.t.Fatalf("/metrics has no %s", name)
	}
	for _, s := range f.GetMetric() {
		got := labels(s)
		if len(got) != len(want)/2 {
			continue
		}
		match := true
		for i := 0; i < len(want); i += 2 {
			if got[want[i]] != want[i+1] {
				match = false
			}
		}
		if match {
			if s.Counter != nil {
				return s.GetCounter().GetValue()
			}
			return s.GetGauge().GetValue()
		}
	}
	m.t.Fatalf("/metrics has no %s%v", name, want)
	return 0
}

// sum adds every sample of a counter or gauge family.
func (m metricFamilies) sum(name string) float64 {
	m.t.Helper()
	var total float64
	for _, s := range m.fams[name].GetMetric() {
		if s.Counter != nil {
			total += s.GetCounter().GetValue()
		} else {
			total += s.GetGauge().GetValue()
		}
	}
	return total
}

// histogramCount is the observation count of an unlabelled histogram.
func (m metricFamilies) histogramCount(name string) uint64 {
	m.t.Helper()
	f := m.family(name, dto.MetricType_HISTOGRAM)
	if len(f.GetMetric()) != 1 {
		m.t.Fatalf("%s has %d series, want 1", name, len(f.GetMetric()))
	}
	return f.GetMetric()[0].GetHistogram().GetSampleCount()
}

// labelValues lists the values of label over a family's samples.
func (m metricFamilies) labelValues(name, label string) []string {
	var out []string
	for _, s := range m.fams[name].GetMetric() {
		out = append(out, labels(s)[label])
	}
	sort.Strings(out)
	return out
}

// liveScenario is the traffic TestMetrics drives, and what it expects.
type liveScenario struct {
	enrollments []store.Enrollment // every one the engine works on
	sent        int                // steps that must be delivered
	replies     int                // human replies delivered to the inbox
}

const (
	opsProspects  = 40
	slowProspects = 3 // each replies to step 1
	heldProspects = 3 // piotr's: his SMTP AUTH fails
	ghostBacklog  = 2 // due in a sequence this instance does not serve
	bounceAddress = "nobody@gone.example"
)

// runScenario enrolls the prospects, starts serve, waits until step 1 is
// delivered, moves the clock ten days on, waits until step 2 is, delivers
// the replies and waits until the engine and the watchers are at rest.
func runScenario(t *testing.T, l *live) liveScenario {
	t.Helper()
	ctx := context.Background()
	var sc liveScenario
	for i := range opsProspects {
		sc.enrollments = append(sc.enrollments, l.enroll("ops", "maria", fmt.Sprintf("ops%02d@ops.example", i)))
	}
	for i := range slowProspects {
		sc.enrollments = append(sc.enrollments, l.enroll("slow", "maria", fmt.Sprintf("slow%d@slow.example", i)))
	}
	for i := range heldProspects {
		sc.enrollments = append(sc.enrollments, l.enroll("ops", "piotr", fmt.Sprintf("held%d@held.example", i)))
	}
	l.sink.SetFault(smtptest.UnknownUser(bounceAddress))
	sc.enrollments = append(sc.enrollments, l.enroll("ops", "maria", bounceAddress))
	sc.sent = opsProspects*2 + slowProspects
	sc.replies = slowProspects

	l.start()

	// Enrollments of a sequence another instance serves (one that runs a
	// newer configuration, mid-deploy): due, never claimed here, so the
	// backlog is not zero at rest.
	for i := range ghostBacklog {
		p := store.Prospect{Email: fmt.Sprintf("ghost%d@ghost.example", i), CreatedAt: time.Now()}
		if _, err := l.st.ProspectUpsert(ctx, &p); err != nil {
			t.Fatal(err)
		}
		past := l.clock.Now().Add(-time.Minute)
		e := store.Enrollment{ProspectID: p.ID, Sequence: "ghost", Sender: "maria", State: store.StateActive,
			FirstContact: past, NextSendAt: &past}
		if _, err := l.st.EnrollmentCreate(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}

	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := l.sink.Wait(wctx, opsProspects+slowProspects); err != nil {
		t.Fatalf("waiting for step 1 at the sink (have %d): %v\n%s", l.sink.Total(), err, l.describe(sc.enrollments))
	}
	waitFor(t, "step 1 to be settled", 30*time.Second, func() error { return l.settled(sc.enrollments, 1) })
	l.clock.Add(opsInterval)
	if err := l.sink.Wait(wctx, sc.sent); err != nil {
		t.Fatalf("waiting for %d messages at the sink (have %d): %v\n%s", sc.sent, l.sink.Total(), err, l.describe(sc.enrollments))
	}

	// In the thread of what was sent: three human replies, an
	// out-of-office, and a message that answers nothing of ours.
	for i := range slowProspects {
		email := fmt.Sprintf("slow%d@slow.example", i)
		l.inbox.deliver(demoInbound(demoProspect{email: email, first: "Slow", last: fmt.Sprint(i), act: "reply"}, l.sink.LastMessageID(email)))
	}
	l.inbox.deliver(demoInbound(demoProspect{email: "ops00@ops.example", first: "Ops", last: "Zero", act: "ooo"}, l.sink.LastMessageID("ops00@ops.example")))
	l.inbox.deliver(demoInbound(demoProspect{email: "stranger@elsewhere.example", first: "Stan", last: "Ger", act: "reply"}, ""))
	waitFor(t, "the watcher to handle 5 inbound messages", 30*time.Second, func() error {
		if n := l.inboundHandled(); n < slowProspects+2 {
			return fmt.Errorf("%d handled", n)
		}
		return nil
	})

	// At rest: no enrollment leased or due (the held ones are planned an
	// hour ahead, the others are done or wait weeks) and no worker busy.
	waitFor(t, "the engine to come to rest", 30*time.Second, func() error {
		if err := l.settled(sc.enrollments, 2); err != nil {
			return err
		}
		if busy := l.scrape().value("drip_workers_busy"); busy != 0 {
			return fmt.Errorf("drip_workers_busy = %v", busy)
		}
		return nil
	})
	return sc
}

// TestMetricsAgreeWithTheStore is acceptance 1: after N deliveries and M
// replies, the counters say N and M and the gauges say what the store says.
func TestMetricsAgreeWithTheStore(t *testing.T) {
	l := newLive(t, liveOptions{})
	sc := runScenario(t, l)
	ctx := context.Background()
	m := l.scrape()
	now := l.clock.Now()

	// Sent: the counter, the sink and the store's sent rows all say N.
	stored := 0
	for _, seq := range []string{"ops", "slow"} {
		stats, err := l.st.SequenceStats(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range stats.Steps {
			n += s.Sent
		}
		if got := m.value("drip_messages_sent_total", "sequence", seq); got != float64(n) {
			t.Errorf("drip_messages_sent_total{sequence=%q} = %v, the store has %d sent", seq, got, n)
		}
		stored += n
	}
	if got := m.sum("drip_messages_sent_total"); got != float64(sc.sent) || stored != sc.sent || l.sink.Total() != sc.sent {
		t.Errorf("sent: drip_messages_sent_total = %v, store %d, sink %d; want %d", got, stored, l.sink.Total(), sc.sent)
	}
	if got := m.histogramCount("drip_schedule_lag_seconds"); got != uint64(sc.sent) {
		t.Errorf("drip_schedule_lag_seconds_count = %d, want %d (one per delivered step)", got, sc.sent)
	}

	// Attempts: one duration observation per SMTP transaction. The store
	// counts the prospects' attempts per step; piotr's all failed at AUTH,
	// which is his mailbox's problem (R9): counted as sender failures, never
	// charged to his prospects' steps.
	attempts, piotrAttempts := 0, 0
	for _, e := range sc.enrollments {
		sends, err := l.st.SendsByEnrollment(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sends {
			attempts += s.Attempts
			if s.Sender == "piotr" {
				piotrAttempts += s.Attempts
			}
		}
	}
	senderFailures := int(m.value("drip_send_failures_total", "kind", "sender"))
	if got := m.histogramCount("drip_send_duration_seconds"); got != uint64(attempts+senderFailures) || attempts < sc.sent+1 {
		t.Errorf("drip_send_duration_seconds_count = %d, the store counts %d attempts and %d sender failures (want > %d sent + 1 bounce)",
			got, attempts, senderFailures, sc.sent)
	}
	if senderFailures == 0 {
		t.Errorf("piotr made no attempt: the AUTH failure was not exercised")
	}
	if piotrAttempts != 0 {
		t.Errorf("piotr's steps were charged %d attempts for his mailbox's refused AUTH, want 0", piotrAttempts)
	}
	for kind, want := range map[string]int{"permanent": 1, "transient": 0, "unknown": 0} {
		if got := m.value("drip_send_failures_total", "kind", kind); got != float64(want) {
			t.Errorf("drip_send_failures_total{kind=%q} = %v, want %d", kind, got, want)
		}
	}

	// Inbound, by kind: the watcher saw M replies, one auto-reply, one
	// message it could not match.
	for kind, want := range map[string]int{"reply": sc.replies, "auto_reply": 1, "unmatched": 1, "bounce": 0, "unsubscribe": 0} {
		if got := m.value("drip_inbound_messages_total", "kind", kind); got != float64(want) {
			t.Errorf("drip_inbound_messages_total{kind=%q} = %v, want %d", kind, got, want)
		}
	}

	// Store-derived gauges: exactly the store's numbers.
	counts, err := l.st.EnrollmentCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["slow"][store.StateReplied] != slowProspects || counts["ops"][store.StateBounced] != 1 || counts["ops"][store.StateCompleted] != opsProspects {
		t.Errorf("the store's counts are not what the scenario makes: %v", counts)
	}
	gauged := 0
	for _, s := range m.fams["drip_enrollments"].GetMetric() {
		lb := labels(s)
		want := counts[lb["sequence"]][store.State(lb["state"])]
		if got := s.GetGauge().GetValue(); got != float64(want) {
			t.Errorf("drip_enrollments{sequence=%q,state=%q} = %v, the store has %d", lb["sequence"], lb["state"], got, want)
		}
		gauged++
	}
	for seq, byState := range counts {
		for state, n := range byState {
			if got := m.value("drip_enrollments", "sequence", seq, "state", string(state)); got != float64(n) {
				t.Errorf("drip_enrollments{sequence=%q,state=%q} = %v, the store has %d", seq, state, got, n)
			}
		}
	}
	if gauged != len(counts)*len(store.States) {
		t.Errorf("drip_enrollments has %d series, want every state of %d sequences", gauged, len(counts))
	}
	backlog, err := l.st.DueBacklog(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.value("drip_due_backlog"); got != float64(backlog) || backlog != ghostBacklog {
		t.Errorf("drip_due_backlog = %v, the store's DueBacklog = %d, want %d", got, backlog, ghostBacklog)
	}
	for _, snd := range l.cfg.Senders {
		used, err := l.st.SenderDailyUsed(ctx, snd.Name, now.UTC().Format(time.DateOnly))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.value("drip_sender_daily_used", "sender", snd.Name); got != float64(used) || used == 0 {
			t.Errorf("drip_sender_daily_used{sender=%q} = %v, the store has %d", snd.Name, got, used)
		}
		if got := m.value("drip_sender_daily_limit", "sender", snd.Name); got != float64(snd.DailyLimit) {
			t.Errorf("drip_sender_daily_limit{sender=%q} = %v, want %d", snd.Name, got, snd.DailyLimit)
		}
	}
	if got := m.value("drip_store_up"); got != 1 {
		t.Errorf("drip_store_up = %v", got)
	}

	// IMAP: maria's mailbox is watched, piotr's login is refused.
	if got := m.value("drip_imap_connected", "sender", "maria"); got != 1 {
		t.Errorf(`drip_imap_connected{sender="maria"} = %v, want 1`, got)
	}
	if got := m.value("drip_imap_connected", "sender", "piotr"); got != 0 {
		t.Errorf(`drip_imap_connected{sender="piotr"} = %v, want 0`, got)
	}
	if got := m.value("drip_workers_busy"); got != 0 {
		t.Errorf("drip_workers_busy = %v at rest", got)
	}

	if code := l.get("/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	if code := l.get("/readyz", ""); code != http.StatusOK {
		t.Errorf("/readyz: %d", code)
	}
	t.Logf("sent=%d attempts=%d (piotr %d) replies=%d backlog=%d enrollments=%v", sc.sent, attempts, piotrAttempts, sc.replies, backlog, counts)
}

// contractMetrics are the series the contract names (plus the daily
// use next to its limit), with their type and labels.
var contractMetrics = []struct {
	name   string
	typ    dto.MetricType
	labels []string
}{
	{"drip_messages_sent_total", dto.MetricType_COUNTER, []string{"sequence"}},
	{"drip_send_failures_total", dto.MetricType_COUNTER, []string{"kind"}},
	{"drip_send_duration_seconds", dto.MetricType_HISTOGRAM, nil},
	{"drip_schedule_lag_seconds", dto.MetricType_HISTOGRAM, nil},
	{"drip_due_backlog", dto.MetricType_GAUGE, nil},
	{"drip_enrollments", dto.MetricType_GAUGE, []string{"sequence", "state"}},
	{"drip_inbound_messages_total", dto.MetricType_COUNTER, []string{"kind"}},
	{"drip_imap_connected", dto.MetricType_GAUGE, []string{"sender"}},
	{"drip_workers_busy", dto.MetricType_GAUGE, nil},
	{"drip_sender_daily_used", dto.MetricType_GAUGE, []string{"sender"}},
	{"drip_sender_daily_limit", dto.MetricType_GAUGE, []string{"sender"}},
	{"drip_store_up", dto.MetricType_GAUGE, nil},
}

// TestMetricsContractNamesAndHealth: every metric of the contract exists
// from the first scrape of a fresh engine, with the contract's labels and
// the label values a dashboard selects on; /healthz and /readyz answer.
func TestMetricsContractNamesAndHealth(t *testing.T) {
	l := newLive(t, liveOptions{})
	l.enroll("ops", "maria", "first@ops.example")
	l.start()
	m := l.scrape()
	for _, c := range contractMetrics {
		f := m.family(c.name, c.typ)
		if len(f.GetMetric()) == 0 {
			t.Errorf("%s has no series", c.name)
			continue
		}
		for _, s := range f.GetMetric() {
			var names []string
			for name := range labels(s) {
				names = append(names, name)
			}
			sort.Strings(names)
			if want := append([]string(nil), c.labels...); strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("%s has labels %v, want %v", c.name, names, want)
				break
			}
		}
	}
	// Present at zero from the start, so rate() and alerts work before the
	// first event of each kind.
	wantValues := map[string][]string{
		"drip_send_failures_total":    {"permanent", "sender", "transient", "unknown"},
		"drip_inbound_messages_total": {"auto_reply", "bounce", "deferred", "delayed", "flagged", "left", "own", "reply", "unmatched", "unsubscribe"},
		"drip_messages_sent_total":    {"ops", "slow"},
		"drip_imap_connected":         {"maria", "piotr"},
		"drip_sender_daily_used":      {"maria", "piotr"},
	}
	label := map[string]string{"drip_send_failures_total": "kind", "drip_inbound_messages_total": "kind",
		"drip_messages_sent_total": "sequence", "drip_imap_connected": "sender", "drip_sender_daily_used": "sender"}
	for name, want := range wantValues {
		if got := m.labelValues(name, label[name]); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s{%s}: %v, want %v", name, label[name], got, want)
		}
	}
	var states []string
	for _, s := range store.States {
		states = append(states, string(s))
	}
	sort.Strings(states)
	if got := m.labelValues("drip_enrollments", "state"); strings.Join(got, ",") != strings.Join(states, ",") {
		t.Errorf("drip_enrollments{state}: %v, want every state %v", got, states)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code := l.get(path, ""); code != http.StatusOK {
			t.Errorf("GET %s: %d without a token, want 200", path, code)
		}
	}
}

// exported is what a live drip serves on /metrics: each series name (a
// histogram's _bucket, _sum and _count included) with its label names and
// the values each label takes.
type exported map[string]map[string]map[string]bool

func exportedFrom(m metricFamilies) exported {
	out := exported{}
	add := func(name string, s *dto.Metric, extra ...string) {
		if out[name] == nil {
			out[name] = map[string]map[string]bool{}
		}
		for k, v := range labels(s) {
			if out[name][k] == nil {
				out[name][k] = map[string]bool{}
			}
			out[name][k][v] = true
		}
		for _, k := range extra {
			if out[name][k] == nil {
				out[name][k] = map[string]bool{}
			}
		}
	}
	for name, f := range m.fams {
		for _, s := range f.GetMetric() {
			add(name, s)
			if f.GetType() == dto.MetricType_HISTOGRAM {
				add(name+"_bucket", s, "le")
				for _, b := range s.GetHistogram().GetBucket() {
					out[name+"_bucket"]["le"][strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)] = true
				}
				out[name+"_bucket"]["le"]["+Inf"] = true
				add(name+"_sum", s)
				add(name+"_count", s)
			}
		}
	}
	return out
}

var (
	metricNameRE = regexp.MustCompile(`\bdrip_[a-z_]+\b`)
	selectorRE   = regexp.MustCompile(`\b(drip_[a-z_]+)\{([^}]*)\}`)
	matcherRE    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	groupingRE   = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// targetLabels are added by Prometheus when it scrapes, not by drip.
var targetLabels = map[string]bool{"job": true, "instance": true}

// checkExpr reports every metric an expression names that drip does not
// export, every label it selects or groups on that those metrics do not
// have, and every exact label value none of their series carries.
func checkExpr(ex exported, expr string) []string {
	var problems []string
	names := metricNameRE.FindAllString(expr, -1)
	for _, name := range names {
		if _, ok := ex[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s is not a metric drip exports", name))
		}
	}
	for _, sel := range selectorRE.FindAllStringSubmatch(expr, -1) {
		name, matchers := sel[1], sel[2]
		lbls, ok := ex[name]
		if !ok {
			continue
		}
		for _, mt := range matcherRE.FindAllStringSubmatch(matchers, -1) {
			label, op, value := mt[1], mt[2], mt[3]
			if targetLabels[label] {
				continue
			}
			values, ok := lbls[label]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s has no label %q", name, label))
			case op == "=" && !values[value]:
				problems = append(problems, fmt.Sprintf("%s{%s=%q}: no series has that value", name, label, value))
			}
		}
	}
	for _, g := range groupingRE.FindAllStringSubmatch(expr, -1) {
		for _, label := range strings.Split(g[1], ",") {
			label = strings.TrimSpace(label)
			if label == "" || targetLabels[label] {
				continue
			}
			found := false
			for _, name := range names {
				if _, ok := ex[name][label]; ok {
					found = true
				}
			}
			if !found {
				problems = append(problems, fmt.Sprintf("grouping by %q, a label none of %v has", label, names))
			}
		}
	}
	return problems
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	SchemaVersion int         `json:"schemaVersion"`
	Title         string      `json:"title"`
	UID           string      `json:"uid"`
	Panels        []dashPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type dashPanel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos *struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"` // a collapsed row's
}

// alertRules is a Prometheus rule file.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert,omitempty"`
			Record      string            `yaml:"record,omitempty"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for,omitempty"`
			Labels      map[string]string `yaml:"labels,omitempty"`
			Annotations map[string]string `yaml:"annotations,omitempty"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

const (
	dashboardFile = "../../configs/grafana/drip.json"
	alertsFile    = "../../configs/prometheus/alerts.yml"
)

// TestDashboardAndAlertsUseExportedMetrics is acceptance 2: every metric
// (and label, and label value) the dashboard and the alert rules name is
// one a live drip exports, so a typo there fails here, not on an
// on-call's screen.
func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	l := newLive(t, liveOptions{})
	l.enroll("ops", "maria", "first@ops.example")
	l.start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.sink.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ex := exportedFrom(l.scrape())

	// The dashboard.
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.SchemaVersion < 36 || d.Title == "" || d.UID == "" {
		t.Errorf("%s: schemaVersion %d, title %q, uid %q", dashboardFile, d.SchemaVersion, d.Title, d.UID)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		var q struct{ Query string }
		if json.Unmarshal(v.Query, &q) == nil && q.Query != "" {
			for _, p := range checkExpr(ex, q.Query) {
				t.Errorf("%s: variable %s: %s", dashboardFile, v.Name, p)
			}
		}
		for _, p := range checkExpr(ex, v.Definition) {
			t.Errorf("%s: variable %s: %s", dashboardFile, v.Name, p)
		}
	}
	if vars["DS_PROMETHEUS"] != "datasource" {
		t.Errorf("%s: no datasource variable DS_PROMETHEUS (have %v)", dashboardFile, vars)
	}
	named := map[string]bool{}
	ids := map[int]bool{}
	var walk func(ps []dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			where := fmt.Sprintf("%s: panel %d %q", dashboardFile, p.ID, p.Title)
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("%s: id missing or repeated", where)
			}
			ids[p.ID] = true
			if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
				t.Errorf("%s: no gridPos", where)
			}
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("%s: datasource is not ${DS_PROMETHEUS}", where)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", where)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" || refs[tg.RefID] {
					t.Errorf("%s: empty expr or repeated refId %q", where, tg.RefID)
				}
				refs[tg.RefID] = true
				for _, pr := range checkExpr(ex, tg.Expr) {
					t.Errorf("%s: %s\n\t%s", where, pr, tg.Expr)
				}
				for _, n := range metricNameRE.FindAllString(tg.Expr, -1) {
					named[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
				}
			}
			for _, n := range metricNameRE.FindAllString(p.Description, -1) {
				if _, ok := ex[n]; !ok {
					t.Errorf("%s: the description names %s, which drip does not export", where, n)
				}
			}
		}
	}
	walk(d.Panels)
	// It shows what ops watch: every series of the contract.
	for _, c := range contractMetrics {
		if !named[c.name] {
			t.Errorf("%s: no panel shows %s", dashboardFile, c.name)
		}
	}

	// The alert rules.
	rules := loadAlertRules(t)
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			where := fmt.Sprintf("%s: alert %s", alertsFile, r.Alert)
			alerts[r.Alert] = true
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: wants alert, expr, labels.severity, annotations.summary and .description", where)
			}
			for _, pr := range checkExpr(ex, r.Expr) {
				t.Errorf("%s: %s\n\t%s", where, pr, r.Expr)
			}
			for _, text := range r.Annotations {
				for _, n := range metricNameRE.FindAllString(text, -1) {
					if _, ok := ex[n]; !ok {
						t.Errorf("%s: an annotation names %s, which drip does not export", where, n)
					}
				}
			}
		}
	}
	for _, want := range []string{"DripBacklogGrowing", "DripIMAPDisconnected", "DripBounceRateHigh", "DripScheduleLagHigh", "DripStoreDown", "DripSenderNearDailyLimit", "DripSenderReauthNeeded"} {
		if !alerts[want] {
			t.Errorf("%s: no alert %s", alertsFile, want)
		}
	}

	// The checker itself catches what it is for.
	for expr, want := range map[string]string{
		`rate(drip_messages_sent[5m])`:                             "drip_messages_sent is not a metric",
		`drip_inbound_messages_total{kind="bounced"}`:              `no series has that value`,
		`max by (mailbox) (drip_imap_connected)`:                   `grouping by "mailbox"`,
		`sum(rate(drip_send_duration_seconds_bucket{le="1"}[5m]))`: "",
	} {
		got := strings.Join(checkExpr(ex, expr), "; ")
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("checkExpr(%s) = %q, want %q", expr, got, want)
		}
	}
}

func loadAlertRules(t *testing.T) alertRules {
	t.Helper()
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	if len(rules.Groups) == 0 {
		t.Fatalf("%s: no rule groups", alertsFile)
	}
	return rules
}

// promtool is Prometheus's rule checker: $PROMTOOL, or promtool on PATH.
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found (set PROMTOOL or put it on PATH; Debian's prometheus package has it)")
	}
	return p
}

// alertRulesTests are promtool unit tests of the alert rules: each alert
// fires on the series it is about, after its `for`, and not on healthy or
// ambiguous ones (the instance that does not watch a mailbox reports 0).
const alertRulesTests = `rule_files: [ rules.yml ]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # maria's mailbox is watched by instance a; b reports 0 for it.
      - series: 'drip_imap_connected{job="drip",instance="a:8080",sender="maria"}'
        values: '1x40'
      - series: 'drip_imap_connected{job="drip",instance="b:8080",sender="maria"}'
        values: '0x40'
      # Nobody watches piotr's.
      - series: 'drip_imap_connected{job="drip",instance="a:8080",sender="piotr"}'
        values: '0x40'
      - series: 'drip_imap_connected{job="drip",instance="b:8080",sender="piotr"}'
        values: '0x40'
      # The store went away for instance a from minute 6.
      - series: 'drip_store_up{job="drip",instance="a:8080"}'
        values: '1x5 0x30'
      - series: 'drip_store_up{job="drip",instance="b:8080"}'
        values: '1x35'
      - series: 'drip_sender_daily_used{job="drip",instance="a:8080",sender="maria"}'
        values: '950x30'
      - series: 'drip_sender_daily_limit{job="drip",instance="a:8080",sender="maria"}'
        values: '1000x30'
      - series: 'drip_sender_daily_used{job="drip",instance="a:8080",sender="piotr"}'
        values: '10x30'
      - series: 'drip_sender_daily_limit{job="drip",instance="a:8080",sender="piotr"}'
        values: '0x30'
      - series: 'drip_send_failures_total{job="drip",instance="a:8080",kind="sender"}'
        values: '0 0 0 1 1 1 1 1 1 1 1'
      - series: 'drip_workers_busy{job="drip",instance="a:8080"}'
        values: '0x40'
      # maria's grant is revoked from minute 4 (both instances see the
      # store); piotr's is fine.
      - series: 'drip_sender_reauth_needed{job="drip",instance="a:8080",sender="maria"}'
        values: '0x3 1x30'
      - series: 'drip_sender_reauth_needed{job="drip",instance="b:8080",sender="maria"}'
        values: '0x3 1x30'
      - series: 'drip_sender_reauth_needed{job="drip",instance="a:8080",sender="piotr"}'
        values: '0x33'
    alert_rule_test:
      - eval_time: 4m
        alertname: DripSenderReauthNeeded
        exp_alerts: []
      - eval_time: 10m
        alertname: DripSenderReauthNeeded
        exp_alerts:
          - exp_labels: { severity: critical, job: drip, sender: maria }
      - eval_time: 5m
        alertname: DripIMAPDisconnected
        exp_alerts: []
      - eval_time: 15m
        alertname: DripIMAPDisconnected
        exp_alerts:
          - exp_labels: { severity: critical, job: drip, sender: piotr }
      - eval_time: 8m
        alertname: DripStoreDown
        exp_alerts: []
      - eval_time: 12m
        alertname: DripStoreDown
        exp_alerts:
          - exp_labels: { severity: critical, job: drip }
      - eval_time: 20m
        alertname: DripSenderNearDailyLimit
        exp_alerts:
          - exp_labels: { severity: info, job: drip, sender: maria }
      - eval_time: 5m
        alertname: DripSenderRefused
        exp_alerts:
          - exp_labels: { severity: warning, job: drip }
      - eval_time: 30m
        alertname: DripSenderRefused
        exp_alerts: []
      - eval_time: 20m
        alertname: DripAbsent
        exp_alerts: []

  - interval: 1m
    input_series:
      # job drip: the backlog grows by 10 a minute; job flat: 500, steady.
      - series: 'drip_due_backlog{job="drip",instance="a:8080"}'
        values: '0+10x120'
      - series: 'drip_due_backlog{job="drip",instance="b:8080"}'
        values: '0+10x120'
      - series: 'drip_due_backlog{job="flat",instance="a:8080"}'
        values: '500x120'
      # job drip: 6% permanent failures and 1% DSN bounces; job healthy:
      # 1%; job quiet: half of its few sends bounce (too few to judge).
      - series: 'drip_messages_sent_total{job="drip",instance="a:8080",sequence="trade-fair"}'
        values: '0+100x120'
      - series: 'drip_send_failures_total{job="drip",instance="a:8080",kind="permanent"}'
        values: '0+6x120'
      - series: 'drip_inbound_messages_total{job="drip",instance="a:8080",kind="bounce"}'
        values: '0+1x120'
      - series: 'drip_messages_sent_total{job="healthy",instance="a:8080",sequence="trade-fair"}'
        values: '0+100x120'
      - series: 'drip_send_failures_total{job="healthy",instance="a:8080",kind="permanent"}'
        values: '0+1x120'
      - series: 'drip_inbound_messages_total{job="healthy",instance="a:8080",kind="bounce"}'
        values: '0x120'
      - series: 'drip_messages_sent_total{job="quiet",instance="a:8080",sequence="trade-fair"}'
        values: '0+0.2x120'
      - series: 'drip_send_failures_total{job="quiet",instance="a:8080",kind="permanent"}'
        values: '0+0.1x120'
      - series: 'drip_inbound_messages_total{job="quiet",instance="a:8080",kind="bounce"}'
        values: '0x120'
      # job drip: most steps leave 1-4 hours late; job healthy: within a minute.
      - series: 'drip_schedule_lag_seconds_bucket{job="drip",instance="a:8080",le="900"}'
        values: '0x120'
      - series: 'drip_schedule_lag_seconds_bucket{job="drip",instance="a:8080",le="3600"}'
        values: '0+1x120'
      - series: 'drip_schedule_lag_seconds_bucket{job="drip",instance="a:8080",le="14400"}'
        values: '0+20x120'
      - series: 'drip_schedule_lag_seconds_bucket{job="drip",instance="a:8080",le="+Inf"}'
        values: '0+20x120'
      - series: 'drip_schedule_lag_seconds_bucket{job="healthy",instance="a:8080",le="60"}'
        values: '0+20x120'
      - series: 'drip_schedule_lag_seconds_bucket{job="healthy",instance="a:8080",le="3600"}'
        values: '0+20x120'
      - series: 'drip_schedule_lag_seconds_bucket{job="healthy",instance="a:8080",le="+Inf"}'
        values: '0+20x120'
    alert_rule_test:
      - eval_time: 20m
        alertname: DripBacklogGrowing
        exp_alerts: []
      - eval_time: 90m
        alertname: DripBacklogGrowing
        exp_alerts:
          - exp_labels: { severity: warning, job: drip }
      - eval_time: 90m
        alertname: DripBounceRateHigh
        exp_alerts:
          - exp_labels: { severity: warning, job: drip }
      - eval_time: 20m
        alertname: DripScheduleLagHigh
        exp_alerts: []
      - eval_time: 90m
        alertname: DripScheduleLagHigh
        exp_alerts:
          - exp_labels: { severity: warning, job: drip }

  - interval: 1m
    input_series:
      - series: 'up{job="drip",instance="a:8080"}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 5m
        alertname: DripAbsent
        exp_alerts: []
      - eval_time: 15m
        alertname: DripAbsent
        exp_alerts:
          - exp_labels: { severity: critical }
`

// promtoolTestRules runs `promtool test rules` on the unit tests in tests
// against the shipped rule file, annotations stripped (they are text, and
// TestDashboardAndAlertsUseExportedMetrics reads them).
func promtoolTestRules(t *testing.T, bin, tests string) {
	t.Helper()
	rules := loadAlertRules(t)
	for gi := range rules.Groups {
		for ri := range rules.Groups[gi].Rules {
			rules.Groups[gi].Rules[ri].Annotations = nil
		}
	}
	stripped, err := yaml.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, body := range map[string][]byte{"rules.yml": stripped, "rules_test.yml": []byte(tests)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "test", "rules", "rules_test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// TestAlertRulesPromtool checks the rule file with promtool and runs the
// unit tests above on its expressions (annotations stripped: they are
// text, and TestDashboardAndAlertsUseExportedMetrics reads them).
func TestAlertRulesPromtool(t *testing.T) {
	bin := promtool(t)
	if out, err := exec.Command(bin, "check", "rules", alertsFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", alertsFile, err, out)
	}
	promtoolTestRules(t, bin, alertRulesTests)
}

// tcpProxy stands between serve and PostgreSQL, so a test can take the
// database away from serve (and give it back) without stopping it.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]bool
}

type proxyMode int

const (
	proxyOpen   proxyMode = iota
	proxyRefuse           // close new connections at once
	proxyHang             // accept new connections and never answer
)

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.set(proxyRefuse) })
	go p.accept()
	return p
}

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		if mode == proxyHang {
			p.conns[c] = true
		}
		p.mu.Unlock()
		switch mode {
		case proxyRefuse:
			c.Close()
			continue
		case proxyHang:
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// set drops every connection and treats new ones the mode's way.
func (p *tcpProxy) set(mode proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// TestMetricsReadyzFollowsTheStore: /readyz answers 503 while serve
// cannot reach PostgreSQL, whether the server refuses connections or
// hangs, and 200 once it answers again; /healthz stays 200 (the process is
// up) and drip_store_up says the same as /readyz. A scrape during the
// outage still answers within Prometheus's default scrape timeout (10s),
// or drip_store_up = 0 would never reach Prometheus.
func TestMetricsReadyzFollowsTheStore(t *testing.T) {
	direct := pgtest.NewDatabase(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startTCPProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	l := newLive(t, liveOptions{dbURL: u.String(), testDBURL: direct})
	l.start()
	defer proxy.set(proxyOpen) // before serve stops, even when a check fails

	check := func(when string, ready int, up float64) {
		t.Helper()
		if code := l.get("/healthz", ""); code != http.StatusOK {
			t.Errorf("%s: /healthz %d", when, code)
		}
		start := time.Now()
		if code := l.get("/readyz", ""); code != ready {
			t.Errorf("%s: /readyz %d, want %d", when, code, ready)
		}
		// /readyz gives the store 3s.
		if took := time.Since(start); took >= 5*time.Second {
			t.Errorf("%s: /readyz took %s", when, took.Round(time.Millisecond))
		}
		start = time.Now()
		got := l.scrape().value("drip_store_up")
		if took := time.Since(start); took >= prometheusScrapeTimeout {
			t.Errorf("%s: a scrape took %s, longer than Prometheus waits", when, took.Round(time.Millisecond))
		}
		if up == 1 && got == 0 {
			// The store is back, but a scrape may still get the answer of
			// the read that began while it hung: the next one is right.
			waitFor(t, when+": drip_store_up 1", 10*time.Second, func() error {
				if got := l.scrape().value("drip_store_up"); got != 1 {
					return fmt.Errorf("drip_store_up = %v", got)
				}
				return nil
			})
		} else if got != up {
			t.Errorf("%s: drip_store_up = %v, want %v", when, got, up)
		}
	}
	check("store reachable", http.StatusOK, 1)
	proxy.set(proxyRefuse)
	check("store refusing connections", http.StatusServiceUnavailable, 0)
	proxy.set(proxyOpen)
	check("store back", http.StatusOK, 1)
	proxy.set(proxyHang)
	check("store hanging", http.StatusServiceUnavailable, 0)
	proxy.set(proxyOpen)
	check("store back again", http.StatusOK, 1)
}

// prometheusScrapeTimeout is Prometheus's default scrape_timeout.
const prometheusScrapeTimeout = 10 * time.Second
