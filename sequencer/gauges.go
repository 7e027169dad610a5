package sequencer

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/store"
)

// GaugeStore is what the store-derived gauges read.
type GaugeStore interface {
	EnrollmentCounts(ctx context.Context) (map[string]map[store.State]int, error)
	DueBacklog(ctx context.Context, now time.Time) (int, error)
	SenderDailyUsed(ctx context.Context, sender, day string) (int, error)
	SenderHolds(ctx context.Context, now time.Time) ([]store.SenderHold, error)
}

// HoldReasons are the reasons drip_sender_held shows, each a series per
// sender (0 or 1), so that an alert can name the reason.
var HoldReasons = []string{store.HoldDailyLimit, store.HoldAuth, store.HoldUnreachable,
	store.HoldThrottled, store.HoldBreaker, store.HoldReauth}

// StoreGauges exports what only the store knows: enrollments by state,
// the due backlog and each sender's use of its daily cap. It reads the
// store when scraped, at most once per refresh period, so that a scrape
// every few seconds does not count a million enrollments each time.
//
// A scrape waits at most collectWait for the store. A database that
// accepts connections and never answers (lib/pq's connection start-up
// ignores contexts) would otherwise hold the scrape past Prometheus's
// timeout, and the whole scrape, the engine's own series included, would
// be lost exactly when drip_store_up 0 matters.
type StoreGauges struct {
	st      GaugeStore
	clock   Clock
	senders []*Sender
	refresh time.Duration

	enrollments *prometheus.Desc
	backlog     *prometheus.Desc
	dailyUsed   *prometheus.Desc
	dailyLimit  *prometheus.Desc
	held        *prometheus.Desc
	up          *prometheus.Desc

	mu      sync.Mutex
	read    time.Time           // when the last read ended
	metrics []prometheus.Metric // what it found
	reading chan struct{}       // closed when the read in progress ends; nil when none
}

// collectWait is how long a scrape waits for the store: half Prometheus's
// default scrape timeout (10s).
const collectWait = 5 * time.Second

// NewStoreGauges registers the gauges on reg.
func NewStoreGauges(reg prometheus.Registerer, st GaugeStore, clock Clock, senders []*Sender, refresh time.Duration) *StoreGauges {
	if clock == nil {
		clock = SystemClock{}
	}
	g := &StoreGauges{
		st: st, clock: clock, senders: senders, refresh: refresh,
		enrollments: prometheus.NewDesc("drip_enrollments", "Enrollments by sequence and state.", []string{"sequence", "state"}, nil),
		backlog:     prometheus.NewDesc("drip_due_backlog", "Active enrollments whose next step is due and not yet being sent.", nil, nil),
		dailyUsed:   prometheus.NewDesc("drip_sender_daily_used", "Sends begun today (sender's time zone) from the sender's mailbox.", []string{"sender"}, nil),
		dailyLimit:  prometheus.NewDesc("drip_sender_daily_limit", "The sender's daily cap (0 = none).", []string{"sender"}, nil),
		held: prometheus.NewDesc("drip_sender_held", "1 while the sender is held (R9) for reason: it sends nothing, and costs the other senders nothing.",
			[]string{"sender", "reason"}, nil),
		up: prometheus.NewDesc("drip_store_up", "1 when the last read of the store for these gauges succeeded.", nil, nil),
	}
	reg.MustRegister(g)
	return g
}

// Describe implements prometheus.Collector.
func (g *StoreGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.enrollments, g.backlog, g.dailyUsed, g.dailyLimit, g.held, g.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (g *StoreGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	fresh := g.metrics != nil && time.Since(g.read) < g.refresh
	if !fresh && g.reading == nil {
		// One read at a time, in its own goroutine, so that a scrape can
		// stop waiting for it; a later scrape picks up what it found.
		done := make(chan struct{})
		g.reading = done
		go func() {
			defer close(done)
			found := g.collect()
			g.mu.Lock()
			defer g.mu.Unlock()
			g.metrics, g.read, g.reading = found, time.Now(), nil
		}()
	}
	reading := g.reading
	g.mu.Unlock()
	if !fresh {
		t := time.NewTimer(collectWait)
		defer t.Stop()
		select {
		case <-reading:
		case <-t.C:
			for _, m := range g.unreachable() {
				ch <- m
			}
			return
		}
	}
	g.mu.Lock()
	found := g.metrics
	g.mu.Unlock()
	for _, m := range found {
		ch <- m
	}
}

// unreachable is what a scrape shows while the store does not answer:
// drip_store_up 0 and the daily limits, which come from the configuration.
func (g *StoreGauges) unreachable() []prometheus.Metric {
	out := []prometheus.Metric{prometheus.MustNewConstMetric(g.up, prometheus.GaugeValue, 0)}
	for _, s := range g.senders {
		out = append(out, prometheus.MustNewConstMetric(g.dailyLimit, prometheus.GaugeValue, float64(s.Config.DailyLimit), s.Config.Name))
	}
	return out
}

func (g *StoreGauges) collect() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := g.clock.Now()
	var out []prometheus.Metric
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}
	ok := 1.0
	if counts, err := g.st.EnrollmentCounts(ctx); err == nil {
		for seq, byState := range counts {
			for _, s := range store.States {
				gauge(g.enrollments, float64(byState[s]), seq, string(s))
			}
		}
	} else {
		ok = 0
	}
	if n, err := g.st.DueBacklog(ctx, now); err == nil {
		gauge(g.backlog, float64(n))
	} else {
		ok = 0
	}
	for _, s := range g.senders {
		gauge(g.dailyLimit, float64(s.Config.DailyLimit), s.Config.Name)
		if n, err := g.st.SenderDailyUsed(ctx, s.Config.Name, now.In(s.Location).Format(time.DateOnly)); err == nil {
			gauge(g.dailyUsed, float64(n), s.Config.Name)
		} else {
			ok = 0
		}
	}
	if holds, err := g.st.SenderHolds(ctx, now); err == nil {
		reason := map[string]string{}
		for _, h := range holds {
			reason[h.Sender] = h.Reason
		}
		for _, s := range g.senders {
			for _, r := range HoldReasons {
				v := 0.0
				if reason[s.Config.Name] == r {
					v = 1
				}
				gauge(g.held, v, s.Config.Name, r)
			}
		}
	} else {
		ok = 0
	}
	gauge(g.up, ok)
	return out
}
