package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
	"github.com/drip-email/drip/store/postgres"
	"github.com/drip-email/drip/store/sqlite"
	"github.com/drip-email/drip/webhooks"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const secret = "s3cret-of-the-crm"

// eachStore runs fn against a fresh SQLite store and a fresh PostgreSQL one.
func eachStore(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		ctx := context.Background()
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "drip.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if _, err := migrations.Up(ctx, s.DB(), migrations.SQLite); err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := postgres.Open(context.Background(), pgtest.NewMigrated(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		fn(t, s)
	})
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// received is one request as the receiver saw it.
type received struct {
	key     string
	payload webhooks.Payload
	sigErr  error
}

// receiver is a local CRM: it checks each signature and answers with
// status(payload) (200 unless set).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status func(webhooks.Payload) int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: func(webhooks.Payload) int { return http.StatusOK }}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var p webhooks.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("receiver: body is not the payload: %v: %s", err, body)
		}
		_, sigErr := webhooks.Verify(secret, req.Header.Get(webhooks.HeaderSignature), body)
		code := r.status(p)
		if code/100 == 2 {
			r.mu.Lock()
			r.got = append(r.got, received{req.Header.Get(webhooks.HeaderEventID), p, sigErr})
			r.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func dispatcher(s store.Store, owner, url string, c *clock) *webhooks.Dispatcher {
	return webhooks.New(webhooks.Options{Store: s, Owner: owner, Secrets: map[string]string{url: secret},
		Clock: c, BackoffBase: 10 * time.Second, BackoffMax: time.Minute})
}

// drain runs ds (side by side) until the outbox is empty, moving the clock by step
// between rounds (at most rounds times). Within a round it delivers all
// it can at that instant: on PostgreSQL a row also waits for the
// transactions that were running when it was queued (other tests' too),
// so a round that claims nothing looks again a few times before the clock
// moves on.
func drain(t *testing.T, s store.Store, c *clock, step time.Duration, rounds int, ds ...*webhooks.Dispatcher) {
	t.Helper()
	ctx := context.Background()
	for range rounds {
		for idle := 0; idle < 10; {
			// The instances side by side.
			var claimed atomic.Int64
			var wg sync.WaitGroup
			for _, d := range ds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := d.RunOnce(ctx)
					if err != nil {
						t.Error(err)
					}
					claimed.Add(int64(n))
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			n, err := s.WebhookPending(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
			if claimed.Load() == 0 {
				idle++
				time.Sleep(2 * time.Millisecond) // other transactions, not the clock
			}
		}
		c.Add(step)
	}
	t.Fatalf("outbox not empty after %d rounds", rounds)
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// enrol creates a prospect enrolled in "fair" at at.
func enrol(t *testing.T, s store.Store, email string, at time.Time) store.Enrollment {
	ctx := context.Background()
	p := store.Prospect{Email: email, FirstName: "Zofia", Company: "Kwiatex", Language: "pl",
		Fields: map[string]string{"booth": "B12"}, CreatedAt: at}
	must(s.ProspectUpsert(ctx, &p))(t)
	e := store.Enrollment{ProspectID: p.ID, Sequence: "fair", Sender: "rep1", FirstContact: at, NextSendAt: &at, CreatedAt: at}
	must(s.EnrollmentCreate(ctx, &e))(t)
	return e
}

// everyKind records one event of each webhook kind for a new prospect:
// "enrolled" by enrolling, "sent" through a settle (the engine's path),
// the others as the inbound handler and the controls record them.
func everyKind(t *testing.T, s store.Store, email string) {
	ctx := context.Background()
	e := enrol(t, s, email, t0)
	if got := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 10}))(t); len(got) != 1 {
		t.Fatalf("claimed %d enrollments", len(got))
	}
	msgID := fmt.Sprintf("<%d.1@drip.test>", e.ID)
	if errs := must(s.SendsStart(ctx, []store.SendStart{{EnrollmentID: e.ID, Owner: "A", Step: 1, Sender: "rep1",
		MessageID: msgID, PlannedAt: t0, StartedAt: t0, Day: "2026-12-01"}}))(t); errs[0] != nil {
		t.Fatal(errs[0])
	}
	next := t0.Add(72 * time.Hour)
	if errs := must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 1, NextSendAt: &next,
		Sends:  []store.SendUpdate{{Step: 1, Status: store.SendSent}},
		Events: []store.Event{{Kind: store.EventSent, Step: 1, MessageID: msgID, At: t0.Add(time.Second)}}}}))(t); errs[0] != nil {
		t.Fatal(errs[0])
	}
	for i, k := range []store.EventKind{store.EventReply, store.EventAutoReply, store.EventDeferred, store.EventBounce,
		store.EventUnsubscribe, store.EventLeft, store.EventCompleted, store.EventFailed} {
		if err := s.EventAdd(ctx, store.Event{EnrollmentID: e.ID, Kind: k, Step: 1, Detail: "detail of " + string(k),
			At: t0.Add(time.Duration(i+2) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEveryKindArrivesSigned: each of the ten kinds reaches the receiver
// once, signed, with the payload the README shows, in the order it happened.
func TestEveryKindArrivesSigned(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		rcv := newReceiver(t)
		if err := s.WebhooksSync(ctx, []store.WebhookTarget{{URL: rcv.URL}}); err != nil {
			t.Fatal(err)
		}
		everyKind(t, s, "zofia@kwiatex.example")
		c := &clock{now: t0.Add(time.Hour)}
		drain(t, s, c, time.Second, 20, dispatcher(s, "A", rcv.URL, c))

		got := rcv.deliveries()
		var kinds []string
		keys := map[string]bool{}
		for _, r := range got {
			kinds = append(kinds, r.payload.Type)
			if r.sigErr != nil {
				t.Errorf("%s: %v", r.payload.Type, r.sigErr)
			}
			if r.key == "" || r.key != r.payload.ID || keys[r.key] {
				t.Errorf("%s: Drip-Event-Id %q, payload id %q: want the same, unique", r.payload.Type, r.key, r.payload.ID)
			}
			keys[r.key] = true
			p := r.payload.Prospect
			if p.Email != "zofia@kwiatex.example" || p.FirstName != "Zofia" || p.Language != "pl" || p.Fields["booth"] != "B12" ||
				r.payload.Sequence != "fair" {
				t.Errorf("%s: prospect %+v, sequence %q", r.payload.Type, p, r.payload.Sequence)
			}
		}
		want := []string{"enrolled", "sent", "reply", "auto_reply", "deferred", "bounce", "unsubscribe", "left", "completed", "failed"}
		if !slices.Equal(kinds, want) {
			t.Fatalf("received %v, want %v", kinds, want)
		}
		if r := got[2]; r.payload.Step != 1 || r.payload.Detail != "detail of reply" || !r.payload.At.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("reply payload = %+v", r.payload)
		}
	})
}

// TestReceiverDownTwoMinutes: a receiver that fails every request for two
// minutes gets every event afterwards, each prospect's in order; the
// failures are counted and back off exponentially.
func TestReceiverDownTwoMinutes(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		c := &clock{now: t0.Add(time.Hour)}
		rcv := newReceiver(t)
		var mu sync.Mutex
		attempts := map[string][]time.Time{} // each prospect's, until one succeeds
		failed := 0
		back := c.Now().Add(2 * time.Minute)
		rcv.status = func(p webhooks.Payload) int {
			mu.Lock()
			defer mu.Unlock()
			now := c.Now()
			if p.Type == "enrolled" {
				attempts[p.Prospect.Email] = append(attempts[p.Prospect.Email], now)
			}
			if now.Before(back) {
				failed++
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		}
		if err := s.WebhooksSync(ctx, []store.WebhookTarget{{URL: rcv.URL}}); err != nil {
			t.Fatal(err)
		}
		emails := []string{"anna@example.com", "bob@example.com", "carla@example.com"}
		for _, e := range emails {
			everyKind(t, s, e)
		}
		m := webhooks.NewMetrics(prometheus.NewRegistry())
		d := webhooks.New(webhooks.Options{Store: s, Owner: "A", Secrets: map[string]string{rcv.URL: secret},
			Clock: c, BackoffBase: 10 * time.Second, BackoffMax: time.Minute, Metrics: m})
		// Every 5 s for 2 minutes: the heads fail, then wait 10, 20, 40, 60 s.
		drain(t, s, c, 5*time.Second, 200, d)

		byProspect := map[string][]string{}
		for _, r := range rcv.deliveries() {
			byProspect[r.payload.Prospect.Email] = append(byProspect[r.payload.Prospect.Email], r.payload.Type)
		}
		want := []string{"enrolled", "sent", "reply", "auto_reply", "deferred", "bounce", "unsubscribe", "left", "completed", "failed"}
		for _, e := range emails {
			if !slices.Equal(byProspect[e], want) {
				t.Errorf("%s received %v, want %v", e, byProspect[e], want)
			}
		}
		// Only the three heads were tried while it was down, each 10, 20,
		// 40, then 60 s (the cap) after the last failure, until the first
		// attempt at or after the two minutes. (On PostgreSQL a head's first
		// attempt may come a round late: it waits for the transactions that
		// ran when it was queued.)
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for _, e := range emails {
			at := attempts[e]
			total += len(at) - 1
			if len(at) < 2 || at[len(at)-2].After(back) || at[len(at)-2].Equal(back) || at[len(at)-1].Before(back) {
				t.Errorf("%s: attempts at %v: want failures before %v, then one success", e, at, back)
				continue
			}
			for i := 1; i < len(at); i++ {
				if gap, want := at[i].Sub(at[i-1]), d.Backoff(i); gap != want {
					t.Errorf("%s: attempt %d came %v after the one before, want %v", e, i+1, gap, want)
				}
			}
		}
		if failed != total {
			t.Errorf("the receiver failed %d requests, %d of them heads' enrolments: others were tried meanwhile", failed, total)
		}
		if got := testutil.ToFloat64(m.Failures); got != float64(failed) {
			t.Errorf("drip_webhook_failures_total = %v, want %d", got, failed)
		}
		t.Logf("%d failed attempts in the two minutes, then everything in order", failed)
	})
}

// TestTwoInstancesOnPostgres: two instances drain one outbox side by side;
// every event arrives at least once, each prospect's in order. An instance
// whose receiver took an event but whose answer it never got (a timeout)
// leaves the event to be sent again: the duplicate carries the same
// Drip-Event-Id.
func TestTwoInstancesOnPostgres(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.NewMigrated(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := &clock{now: t0.Add(time.Hour)}
	rcv := newReceiver(t)
	// The first request for anna's "reply" is taken, then never answered.
	var stalled atomic.Bool
	stall := make(chan struct{})
	rcv.Config.Handler = stallOnce(rcv.Config.Handler, "reply", "anna@example.com", &stalled, stall)
	if err := s.WebhooksSync(ctx, []store.WebhookTarget{{URL: rcv.URL}}); err != nil {
		t.Fatal(err)
	}
	var emails []string
	for i := range 20 {
		emails = append(emails, fmt.Sprintf("p%02d@example.com", i))
	}
	emails = append(emails, "anna@example.com")
	for _, e := range emails {
		everyKind(t, s, e)
	}
	b := dispatcher(s, "B", rcv.URL, c)
	shortA := webhooks.New(webhooks.Options{Store: s, Owner: "A", Secrets: map[string]string{rcv.URL: secret},
		Clock: c, BackoffBase: 10 * time.Second, BackoffMax: time.Minute, Timeout: 200 * time.Millisecond,
		Client: &http.Client{Timeout: 200 * time.Millisecond}})
	drain(t, s, c, 5*time.Second, 200, shortA, b)
	close(stall)
	want := []string{"enrolled", "sent", "reply", "auto_reply", "deferred", "bounce", "unsubscribe", "left", "completed", "failed"}
	byProspect := map[string][]string{}
	copies := map[string]int{}
	for _, r := range rcv.deliveries() {
		if r.sigErr != nil || r.key != r.payload.ID {
			t.Errorf("%s: signature %v, key %q, payload id %q", r.payload.Type, r.sigErr, r.key, r.payload.ID)
		}
		copies[r.key]++
		if copies[r.key] == 1 {
			byProspect[r.payload.Prospect.Email] = append(byProspect[r.payload.Prospect.Email], r.payload.Type)
		}
	}
	for _, e := range emails {
		if !slices.Equal(byProspect[e], want) {
			t.Errorf("%s received %v, want %v", e, byProspect[e], want)
		}
	}
	dups := 0
	for _, n := range copies {
		dups += n - 1
	}
	if !stalled.Load() || dups != 1 {
		t.Errorf("stalled %v, %d duplicates: want anna's reply twice (same key), nothing else", stalled.Load(), dups)
	}
	t.Logf("%d events, %d deliveries, %d duplicates", len(copies), len(rcv.deliveries()), dups)
}

// stallOnce records the first request of kind for email (as a receiver
// that processed it), then answers only when the client has given up.
func stallOnce(next http.Handler, kind, email string, stalled *atomic.Bool, stall chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		var p webhooks.Payload
		_ = json.Unmarshal(body, &p)
		if p.Type == kind && p.Prospect.Email == email && stalled.CompareAndSwap(false, true) {
			next.ServeHTTP(httptest.NewRecorder(), req) // recorded as received
			select {
			case <-req.Context().Done():
			case <-stall:
			}
			return
		}
		next.ServeHTTP(w, req)
	})
}

// TestLogsHoldNoSecret: a failing delivery is logged with its event and
// failure, never with the secret or the URL's token.
func TestLogsHoldNoSecret(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		rcv := newReceiver(t)
		rcv.status = func(webhooks.Payload) int { return http.StatusBadGateway }
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close() // refuses connections
		urls := []string{rcv.URL + "/hook?token=tok-4f9a1c", dead.URL + "/hook?token=tok-4f9a1c"}
		if err := s.WebhooksSync(ctx, []store.WebhookTarget{{URL: urls[0]}, {URL: urls[1]}}); err != nil {
			t.Fatal(err)
		}
		enrol(t, s, "ola@example.com", t0)
		var logs bytes.Buffer
		c := &clock{now: t0.Add(time.Hour)}
		d := webhooks.New(webhooks.Options{Store: s, Owner: "A", Secrets: map[string]string{urls[0]: secret, urls[1]: secret},
			Clock: c, Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		out := logs.String()
		if strings.Count(out, "delivery failed") != 2 || !strings.Contains(out, "HTTP 502") {
			t.Errorf("want two failures logged, one with HTTP 502:\n%s", out)
		}
		for _, leak := range []string{secret, "tok-4f9a1c", "/hook"} {
			if strings.Contains(out, leak) {
				t.Errorf("%q in the log:\n%s", leak, out)
			}
		}
	})
}
