package main

import (
	"testing"
)

// webhookAlertTests: the backlog alert fires when the outbox stays over
// 100 for 15 minutes (the same store-derived gauge on both instances), and
// not for a burst that drains.
const webhookAlertTests = `rule_files: [ rules.yml ]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'drip_webhook_pending{job="drip",instance="a:8080"}'
        values: '0x10 500x40'
      - series: 'drip_webhook_pending{job="drip",instance="b:8080"}'
        values: '0x10 500x40'
      - series: 'drip_webhook_pending{job="burst",instance="c:8080"}'
        values: '0x10 800x10 0x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: DripWebhookBacklog
        exp_alerts: []
      - eval_time: 30m
        alertname: DripWebhookBacklog
        exp_alerts:
          - exp_labels: { severity: warning, job: drip }
`

func TestWebhookAlertPromtool(t *testing.T) {
	bin := promtool(t)
	promtoolTestRules(t, bin, webhookAlertTests)
}
