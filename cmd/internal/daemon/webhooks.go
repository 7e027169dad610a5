package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/webhooks"
)

// newWebhooks records the configured webhooks in the store (whose
// triggers then fill their outbox in each event's transaction) and builds
// the dispatcher that delivers it; nil when none is configured.
func newWebhooks(ctx context.Context, cfg *configs.Config, st store.Store, owner string, clock sequencer.Clock,
	reg prometheus.Registerer, log *slog.Logger) (*webhooks.Dispatcher, error) {
	metrics := webhooks.NewMetrics(reg)
	targets := make([]store.WebhookTarget, len(cfg.Webhooks))
	secrets := make(map[string]string, len(cfg.Webhooks))
	for i, w := range cfg.Webhooks {
		targets[i].URL = w.URL
		for _, k := range w.Events {
			targets[i].Kinds = append(targets[i].Kinds, store.EventKind(k))
		}
		secrets[w.URL] = w.Secret
	}
	if err := st.WebhooksSync(ctx, targets); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	if len(targets) == 0 {
		return nil, nil
	}
	return webhooks.New(webhooks.Options{Store: st, Owner: owner, Secrets: secrets, Clock: clock,
		Metrics: metrics, Log: log}), nil
}
