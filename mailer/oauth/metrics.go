package oauth

import "github.com/prometheus/client_golang/prometheus"

// Metrics is drip_sender_reauth_needed{sender}: 1 while a sender's OAuth2
// grant is revoked or missing and `drip mailbox connect` must be run.
type Metrics struct{ reauth *prometheus.GaugeVec }

// NewMetrics registers the gauge on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{reauth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "drip_sender_reauth_needed",
		Help: "1 while the sender's OAuth2 sign-in is revoked or missing: its sends wait and its mailbox is not watched until `drip mailbox connect` is run.",
	}, []string{"sender"})}
	reg.MustRegister(m.reauth)
	return m
}

// Set records sender's state; every sender is set once at start so the
// series exists at 0.
func (m *Metrics) Set(sender string, needed bool) {
	if m == nil {
		return
	}
	v := 0.0
	if needed {
		v = 1
	}
	m.reauth.WithLabelValues(sender).Set(v)
}
