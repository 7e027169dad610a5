package imapwatch

import "github.com/prometheus/client_golang/prometheus"

// Labels of drip_inbound_messages_total{kind}.
const (
	KindReply       = "reply"
	KindAutoReply   = "auto_reply"
	KindBounce      = "bounce"
	KindDelayed     = "delayed"
	KindUnsubscribe = "unsubscribe"
	KindUnmatched   = "unmatched" // matched no send of ours, could not be read, or could not be classified
	KindOwn         = "own"       // sent from one of our own addresses
	KindDeferred    = "deferred"  // an out-of-office with a return date deferred the enrollment (R5b)
	KindLeft        = "left"      // an auto-reply said the person left the company
)

// Kinds lists every kind label in a stable order.
var Kinds = []string{KindReply, KindAutoReply, KindBounce, KindDelayed, KindUnsubscribe, KindUnmatched, KindOwn, KindDeferred, KindLeft}

// Metrics are the watchers' Prometheus series, registered once on the
// Registerer passed in and shared by the watchers of every sender.
type Metrics struct {
	inbound   *prometheus.CounterVec
	connected *prometheus.GaugeVec
}

// NewMetrics registers the watchers' metrics on reg. Call it once per
// registry; it panics, like prometheus.MustRegister, on a second call.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drip_inbound_messages_total",
			Help: "Messages handled in watched mailboxes, by kind: reply, auto_reply, bounce, delayed, unsubscribe, unmatched, own, deferred, left.",
		}, []string{"kind"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "drip_imap_connected",
			Help: "1 on the instance that is connected to the sender's mailbox and watching it, 0 otherwise.",
		}, []string{"sender"}),
	}
	reg.MustRegister(m.inbound, m.connected)
	for _, k := range Kinds {
		m.inbound.WithLabelValues(k)
	}
	return m
}

func (m *Metrics) count(kind string) {
	if m != nil {
		m.inbound.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) setConnected(sender string, on bool) {
	if m == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.connected.WithLabelValues(sender).Set(v)
}
