package imapwatch

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/mailer/inbound"
)

// Labels of drip_inbound_messages_total{kind} (see inbound.Labels).
const (
	KindReply       = inbound.LabelReply
	KindAutoReply   = inbound.LabelAutoReply
	KindBounce      = inbound.LabelBounce
	KindDelayed     = inbound.LabelDelayed
	KindUnsubscribe = inbound.LabelUnsubscribe
	KindUnmatched   = inbound.LabelUnmatched
	KindOwn         = inbound.LabelOwn
	KindDeferred    = inbound.LabelDeferred
	KindLeft        = inbound.LabelLeft
	KindFlagged     = inbound.LabelFlagged
)

// Kinds lists every kind label in a stable order.
var Kinds = inbound.Labels

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
