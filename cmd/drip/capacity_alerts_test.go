package main

import (
	"testing"
)

// capacityAlertTests are promtool unit tests of the capacity alerts: they
// fire on a sender (or domain) over its limit after their `for`, the max
// over instances, and not on one under it.
const capacityAlertTests = `rule_files: [ rules.yml ]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # maria: 700 due against 60 a week (ratio 11.7) on both instances;
      # piotr: 0.8; anna: over only from minute 40.
      - series: 'drip_sender_capacity_ratio{job="drip",instance="a:8080",sender="maria"}'
        values: '11.67x90'
      - series: 'drip_sender_capacity_ratio{job="drip",instance="b:8080",sender="maria"}'
        values: '11.67x90'
      - series: 'drip_sender_capacity_ratio{job="drip",instance="a:8080",sender="piotr"}'
        values: '0.8x90'
      - series: 'drip_sender_capacity_ratio{job="drip",instance="a:8080",sender="anna"}'
        values: '0.5x40 1.2x50'
      - series: 'drip_gmail_daily_planned{job="drip",instance="a:8080",domain="example.com"}'
        values: '4100x90'
      - series: 'drip_gmail_daily_planned{job="drip",instance="a:8080",domain="small.example"}'
        values: '300x90'
    alert_rule_test:
      - eval_time: 20m
        alertname: DripSenderOverCapacity
        exp_alerts: []
      - eval_time: 45m
        alertname: DripSenderOverCapacity
        exp_alerts:
          - exp_labels: { severity: warning, job: drip, sender: maria }
      - eval_time: 85m
        alertname: DripSenderOverCapacity
        exp_alerts:
          - exp_labels: { severity: warning, job: drip, sender: maria }
          - exp_labels: { severity: warning, job: drip, sender: anna }
      - eval_time: 45m
        alertname: DripGmailBulkThreshold
        exp_alerts:
          - exp_labels: { severity: warning, job: drip, domain: example.com }
`

func TestCapacityAlertsPromtool(t *testing.T) {
	bin := promtool(t)
	promtoolTestRules(t, bin, capacityAlertTests)
}
