package sequencer

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's own Prometheus series. They are registered on
// the Registerer passed in, never globally, so each test has its own.
type Metrics struct {
	sent         *prometheus.CounterVec
	failures     *prometheus.CounterVec
	sendDuration prometheus.Histogram
	lag          prometheus.Histogram
	busy         prometheus.Gauge
}

// Failure kinds as the drip_send_failures_total{kind} label shows them.
const (
	FailureTransient = "transient" // will be retried
	FailurePermanent = "permanent" // the step failed or bounced
	FailureSender    = "sender"    // the sender's mailbox refused us (auth, config)
	FailureUnknown   = "unknown"   // outcome unknown; never re-sent
)

// NewMetrics registers the engine's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drip_messages_sent_total",
			Help: "Steps delivered (accepted by the SMTP server), by sequence.",
		}, []string{"sequence"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drip_send_failures_total",
			Help: "Failed delivery attempts by kind: transient (retried), permanent (step failed or bounced), sender (mailbox/auth problem), unknown (outcome unknown).",
		}, []string{"kind"}),
		sendDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "drip_send_duration_seconds",
			Help:    "Time of one SMTP delivery attempt.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "drip_schedule_lag_seconds",
			Help:    "Actual minus planned send time of delivered steps.",
			Buckets: []float64{.1, .5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}),
		busy: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "drip_workers_busy",
			Help: "SMTP workers delivering right now.",
		}),
	}
	reg.MustRegister(m.sent, m.failures, m.sendDuration, m.lag, m.busy)
	for _, k := range []string{FailureTransient, FailurePermanent, FailureSender, FailureUnknown} {
		m.failures.WithLabelValues(k)
	}
	return m
}

// SequenceSeen makes the sent counter of a sequence exist at 0, so a
// rate() over it works from the first send.
func (m *Metrics) SequenceSeen(seq string) {
	if m != nil {
		m.sent.WithLabelValues(seq)
	}
}

func (m *Metrics) delivered(seq string, lag time.Duration) {
	if m == nil {
		return
	}
	m.sent.WithLabelValues(seq).Inc()
	m.lag.Observe(max(0, lag.Seconds()))
}

func (m *Metrics) failed(kind string) {
	if m != nil {
		m.failures.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) attempt(d time.Duration) {
	if m != nil {
		m.sendDuration.Observe(d.Seconds())
	}
}

func (m *Metrics) workerBusy(delta float64) {
	if m != nil {
		m.busy.Add(delta)
	}
}
