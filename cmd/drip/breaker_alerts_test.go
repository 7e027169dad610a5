package main

import (
	"testing"
)

// breakerAlertTests: the breaker's alert fires at the first evaluation
// that sees a sender held for its breaker (on any instance), names it, and
// stops once the sender is resumed; other hold reasons do not fire it.
const breakerAlertTests = `rule_files: [ rules.yml ]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # maria trips at minute 10 and is resumed at minute 30; piotr is
      # held for his daily limit all along.
      - series: 'drip_sender_held{job="drip",instance="a:8080",sender="maria",reason="breaker"}'
        values: '0x9 1x20 0x20'
      - series: 'drip_sender_held{job="drip",instance="b:8080",sender="maria",reason="breaker"}'
        values: '0x9 1x20 0x20'
      - series: 'drip_sender_held{job="drip",instance="a:8080",sender="piotr",reason="daily_limit"}'
        values: '1x50'
      - series: 'drip_sender_held{job="drip",instance="a:8080",sender="piotr",reason="breaker"}'
        values: '0x50'
    alert_rule_test:
      - eval_time: 5m
        alertname: DripSenderBreakerTripped
        exp_alerts: []
      - eval_time: 10m
        alertname: DripSenderBreakerTripped
        exp_alerts:
          - exp_labels: { severity: critical, job: drip, sender: maria }
      - eval_time: 40m
        alertname: DripSenderBreakerTripped
        exp_alerts: []
`

func TestBreakerAlertPromtool(t *testing.T) {
	bin := promtool(t)
	promtoolTestRules(t, bin, breakerAlertTests)
}
