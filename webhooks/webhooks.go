// Package webhooks delivers the store's webhook outbox: each event POSTed
// as signed JSON to each configured receiver, at least once, in order per
// prospect, with exponential backoff. The outbox rows are written by the
// store in the transaction of the event they report; this package only
// claims, sends and settles them, so several instances can share it.
package webhooks

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/store"
)

// Store is what the dispatcher needs of the store.
type Store interface {
	WebhookClaim(ctx context.Context, owner string, now, until time.Time, limit int) ([]store.WebhookDelivery, error)
	WebhookDelivered(ctx context.Context, id int64, owner string) error
	WebhookRetry(ctx context.Context, id int64, owner string, next time.Time, failure string) error
	WebhookPending(ctx context.Context) (int, error)
}

// Clock is the dispatcher's notion of now (injected in tests).
type Clock interface{ Now() time.Time }

// Payload is the JSON body of a delivery (README "Webhooks").
type Payload struct {
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	At       time.Time `json:"at"`
	Prospect Prospect  `json:"prospect"`
	Sequence string    `json:"sequence"`
	Step     int       `json:"step"`
	Detail   string    `json:"detail"`
}

// Prospect is the prospect as the payload shows it.
type Prospect struct {
	Email     string            `json:"email"`
	FirstName string            `json:"first_name"`
	LastName  string            `json:"last_name"`
	Company   string            `json:"company"`
	Title     string            `json:"title"`
	Phone     string            `json:"phone"`
	Language  string            `json:"language"`
	Fields    map[string]string `json:"fields"`
}

// Header names.
const (
	HeaderEventID   = "Drip-Event-Id"
	HeaderSignature = "Drip-Signature"
)

// Sign is the Drip-Signature header value of body sent at t: "t=UNIX,v1=HEX"
// with HEX the HMAC-SHA256 of "UNIX.body" under secret.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Drip-Signature header against body: what a receiver does
// (it should also refuse a t too far from its own clock).
func Verify(secret, header string, body []byte) (time.Time, error) {
	var ts, sig string
	for _, part := range bytes.Split([]byte(header), []byte(",")) {
		k, v, _ := bytes.Cut(part, []byte("="))
		switch string(k) {
		case "t":
			ts = string(v)
		case "v1":
			sig = string(v)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("signature: no t=UNIX")
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, ts, body)) {
		return time.Time{}, errors.New("signature: v1 does not match")
	}
	return time.Unix(unix, 0), nil
}

// Metrics are the dispatcher's: drip_webhook_pending and
// drip_webhook_failures_total.
type Metrics struct {
	Pending  prometheus.Gauge
	Failures prometheus.Counter
}

// NewMetrics registers the dispatcher's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "drip_webhook_pending",
			Help: "Webhook deliveries not made yet (the outbox, all instances)."}),
		Failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "drip_webhook_failures_total",
			Help: "Webhook delivery attempts that failed (no 2xx answer), by this instance."}),
	}
	reg.MustRegister(m.Pending, m.Failures)
	return m
}

// Options configure a Dispatcher. Store, Owner and Secrets are required.
type Options struct {
	Store Store
	// Owner names this instance's leases (the engine's owner name).
	Owner string
	// Secrets maps each webhook URL to its signing secret.
	Secrets map[string]string
	Clock   Clock        // default: the system clock
	Client  *http.Client // default: one with Timeout
	Log     *slog.Logger // default: discard
	Metrics *Metrics     // default: unregistered
	// Poll is how often the outbox is looked at (default 1s).
	Poll time.Duration
	// Timeout bounds one POST (default 10s); Lease is how long a claimed
	// batch is this instance's (default: twice what the batch can take,
	// at least 1m).
	Timeout, Lease time.Duration
	// BackoffBase is the wait after the first failure, doubled after each
	// next one up to BackoffMax (defaults 10s and 1h).
	BackoffBase, BackoffMax time.Duration
	// Batch is how many deliveries are claimed at a time (default 16);
	// Workers how many of them are POSTed at once (default 8). A batch
	// holds one delivery per (webhook, prospect) at most, so sending them
	// side by side keeps each prospect's order.
	Batch, Workers int
}

// Dispatcher delivers the outbox.
type Dispatcher struct{ o Options }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New returns a Dispatcher with o's defaults filled in.
func New(o Options) *Dispatcher {
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}

	if o.BackoffBase <= 0 {
		o.BackoffBase = 10 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Hour
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if rounds := time.Duration((o.Batch + o.Workers - 1) / o.Workers); o.Lease < 2*rounds*o.Timeout {
		o.Lease = max(time.Minute, 2*rounds*o.Timeout)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	return &Dispatcher{o: o}
}

// Backoff is the wait after the n-th failed attempt (n ≥ 1).
func (d *Dispatcher) Backoff(n int) time.Duration {
	w := d.o.BackoffBase
	for i := 1; i < n && w < d.o.BackoffMax; i++ {
		w *= 2
	}
	return min(w, d.o.BackoffMax)
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	for {
		for {
			n, err := d.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.o.Log.Warn("webhooks: delivering", "err", err)
			}
			if err != nil || n < d.o.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce claims one batch of due deliveries, attempts each and records
// the outcome; it returns how many it claimed.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	defer d.refreshPending(ctx)
	now := d.o.Clock.Now()
	ds, err := d.o.Store.WebhookClaim(ctx, d.o.Owner, now, now.Add(d.o.Lease), d.o.Batch)
	if err != nil {
		return 0, err
	}
	work := make(chan store.WebhookDelivery)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range min(d.o.Workers, len(ds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range work {
				if err := d.attempt(ctx, w); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, w := range ds {
		if ctx.Err() != nil {
			break // the leases run out, or the rescuer frees them; another attempt delivers them
		}
		work <- w
	}
	close(work)
	wg.Wait()
	return len(ds), cmp.Or(firstErr, ctx.Err())
}

// attempt delivers w once and records the outcome. A lease lost meanwhile
// (the batch took longer than the lease) is logged, not fatal: the
// delivery is another instance's now, and at worst goes twice.
func (d *Dispatcher) attempt(ctx context.Context, w store.WebhookDelivery) error {
	failure := d.deliver(ctx, w)
	var err error
	if failure == "" {
		err = d.o.Store.WebhookDelivered(ctx, w.ID, d.o.Owner)
	} else {
		if ctx.Err() != nil {
			return nil // stopping: not the receiver's failure
		}
		d.o.Metrics.Failures.Inc()
		next := d.o.Clock.Now().Add(d.Backoff(w.Attempts + 1))
		d.o.Log.Info("webhooks: delivery failed, will retry", "event", w.Key, "type", w.Kind,
			"attempts", w.Attempts+1, "retry_at", next, "failure", failure)
		err = d.o.Store.WebhookRetry(ctx, w.ID, d.o.Owner, next, failure)
	}
	if errors.Is(err, store.ErrLeaseLost) {
		d.o.Log.Warn("webhooks: lease lost during delivery", "event", w.Key, "type", w.Kind)
		return nil
	}
	return err
}

func (d *Dispatcher) refreshPending(ctx context.Context) {
	if n, err := d.o.Store.WebhookPending(ctx); err == nil {
		d.o.Metrics.Pending.Set(float64(n))
	}
}

// Body is the JSON payload of a delivery.
func Body(w store.WebhookDelivery) ([]byte, error) {
	p := w.Prospect
	fields := p.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	return json.Marshal(Payload{
		ID: w.Key, Type: string(w.Kind), At: w.At.UTC(),
		Prospect: Prospect{Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, Company: p.Company,
			Title: p.Title, Phone: p.Phone, Language: p.Language, Fields: fields},
		Sequence: w.Sequence, Step: w.Step, Detail: w.Detail,
	})
}

// deliver POSTs w once; it returns "" on a 2xx answer, else why not (no
// URL and no secret in it).
func (d *Dispatcher) deliver(ctx context.Context, w store.WebhookDelivery) string {
	secret, ok := d.o.Secrets[w.WebhookURL]
	if !ok {
		return "webhook not configured on this instance"
	}
	body, err := Body(w)
	if err != nil {
		return "encoding: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return "bad URL"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "drip-webhooks")
	req.Header.Set(HeaderEventID, w.Key)
	// Signed at the wall clock's time, which the receiver compares with its own.
	req.Header.Set(HeaderSignature, Sign(secret, time.Now(), body))
	resp, err := d.o.Client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // *url.Error quotes the URL, which may hold a token
		}
		return err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return ""
}
