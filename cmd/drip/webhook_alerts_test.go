package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
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
	rules := loadAlertRules(t)
	for gi := range rules.Groups {
		for ri := range rules.Groups[gi].Rules {
			rules.Groups[gi].Rules[ri].Annotations = nil
		}
	}
	stripped, err := yaml.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, body := range map[string][]byte{"rules.yml": stripped, "rules_test.yml": []byte(webhookAlertTests)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "test", "rules", "rules_test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
