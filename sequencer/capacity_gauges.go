package sequencer

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// CapacityGauges exports the capacity forecast: per sender the sends due
// in the next 7 days, what it can send in them and their ratio
// (drip_sender_capacity_ratio, the contract's), and per sending domain the
// busiest planned day to Gmail. The forecast reads every planned send of
// the week, so it runs at most once per refresh period (at least a
// minute), in the background of a scrape, which waits for it at most
// collectWait and otherwise shows the last values.
type CapacityGauges struct {
	ctl     *Control
	refresh time.Duration

	ratio, due, capacity, gmail *prometheus.Desc

	mu      sync.Mutex
	read    time.Time
	metrics []prometheus.Metric
	reading chan struct{}
}

// NewCapacityGauges registers the capacity gauges on reg.
func NewCapacityGauges(reg prometheus.Registerer, st store.Store, clock Clock, cfg *configs.Config, refresh time.Duration) *CapacityGauges {
	if clock == nil {
		clock = SystemClock{}
	}
	g := &CapacityGauges{
		ctl:      &Control{Store: st, Clock: clock, Config: cfg},
		refresh:  max(refresh, time.Minute),
		ratio:    prometheus.NewDesc("drip_sender_capacity_ratio", "Sends due in the next 7 days / what the sender can send in them (windows, holidays, pace, daily limit, holds); above 1 its sends fall behind; 0 when nothing limits it.", []string{"sender"}, nil),
		due:      prometheus.NewDesc("drip_sender_due_7d", "Sends due in the next 7 days from the sender, past-due ones included.", []string{"sender"}, nil),
		capacity: prometheus.NewDesc("drip_sender_capacity_7d", "What the sender can send in the next 7 days; -1 when nothing limits it.", []string{"sender"}, nil),
		gmail:    prometheus.NewDesc("drip_gmail_daily_planned", "Messages planned to gmail.com/googlemail.com on the busiest day of the next 7 days, per sending domain (Gmail's bulk-sender threshold is 5000 a day).", []string{"domain"}, nil),
	}
	reg.MustRegister(g)
	return g
}

// Describe implements prometheus.Collector.
func (g *CapacityGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.ratio, g.due, g.capacity, g.gmail} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (g *CapacityGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	fresh := g.metrics != nil && time.Since(g.read) < g.refresh
	if !fresh && g.reading == nil {
		done := make(chan struct{})
		g.reading = done
		go func() {
			defer close(done)
			found, ok := g.collect()
			g.mu.Lock()
			defer g.mu.Unlock()
			if ok {
				g.metrics, g.read = found, time.Now()
			}
			g.reading = nil
		}()
	}
	reading := g.reading
	g.mu.Unlock()
	if !fresh && reading != nil {
		t := time.NewTimer(collectWait)
		defer t.Stop()
		select {
		case <-reading:
		case <-t.C:
		}
	}
	g.mu.Lock()
	found := g.metrics
	g.mu.Unlock()
	for _, m := range found {
		ch <- m
	}
}

func (g *CapacityGauges) collect() ([]prometheus.Metric, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	views, vols, err := g.ctl.SendersView(ctx)
	if err != nil {
		return nil, false
	}
	var out []prometheus.Metric
	gauge := func(d *prometheus.Desc, v float64, label string) {
		out = append(out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, label))
	}
	for _, v := range views {
		ratio := v.Capacity.Ratio
		if math.IsInf(ratio, 1) {
			ratio = math.MaxFloat64 // held for good with sends due; +Inf breaks humanize
		}
		gauge(g.ratio, ratio, v.Name)
		gauge(g.due, float64(v.Capacity.Due), v.Name)
		gauge(g.capacity, float64(v.Capacity.Capacity), v.Name)
	}
	planned := map[string]int{}
	for i := range g.ctl.Config.Senders {
		planned[senderDomain(&g.ctl.Config.Senders[i])] = 0 // every domain, 0 when nothing goes to Gmail
	}
	for _, v := range vols {
		planned[v.Domain] = v.Planned
	}
	for dom, n := range planned {
		gauge(g.gmail, float64(n), dom)
	}
	return out, true
}
