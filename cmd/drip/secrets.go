package main

import (
	"context"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
)

// refuseExposure stops `drip serve` (exit status 2, one line) when the API
// would listen beyond this machine behind a secret anybody can guess.
func refuseExposure(cfg *configs.Config) error {
	if ps := cfg.ExposureProblems(); len(ps) > 0 {
		return exitError{code: 2, msg: ps[0]}
	}
	return nil
}

// previewUnsubscriber keys a preview's link: for a stored prospect, as the
// real message would be (the store's key); for the sample prospect, which
// does not exist, with a fixed key, so that a preview reads the same every
// time and its link unsubscribes nobody.
func previewUnsubscriber(ctx context.Context, g *globals, cfg *configs.Config, stored bool) (*mailer.Unsubscriber, error) {
	if !stored {
		if cfg.HTTP.UnsubscribeSecret != "" {
			return mailer.NewUnsubscriber(cfg.HTTP.UnsubscribeSecret)
		}
		return mailer.NewUnsubscriber("drip preview: the sample prospect's link")
	}
	st, err := openStore(ctx, g, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return daemon.Unsubscriber(ctx, cfg, st)
}
