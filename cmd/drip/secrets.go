package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/store"
)

// unsubscribeSecretName is the store's secret that keys unsubscribe links.
const unsubscribeSecretName = "unsubscribe"

// unsubscriber keys unsubscribe links with http.unsubscribe_secret when it
// is set, else with a random key drip generates on first start and keeps in
// the store, shared by every instance (the first to start writes it). The
// key is never derived from the API token: the shipped token is public,
// and a key derived from it would let anybody compute every link.
//
// Links sent before that change were keyed by a derivation of the API
// token; they still verify when that token is strong (not empty, not a
// placeholder, 24+ characters), so that nobody who holds a real link is
// turned away, and never when it is weak, since anybody could then compute
// them. st may be nil (a preview): the key is then a random one of this run.
func unsubscriber(ctx context.Context, cfg *configs.Config, st store.Store) (*mailer.Unsubscriber, error) {
	secret := cfg.HTTP.UnsubscribeSecret
	if secret == "" {
		secret = rand.Text() + rand.Text() // 256 bits
		if st != nil {
			var err error
			if secret, err = st.SecretEnsure(ctx, unsubscribeSecretName, secret); err != nil {
				return nil, fmt.Errorf("unsubscribe links' key: %w", err)
			}
		}
	}
	u, err := mailer.NewUnsubscriber(secret)
	if err != nil {
		return nil, err
	}
	if cfg.HTTP.UnsubscribeSecret == "" && configs.WeakSecret(cfg.HTTP.APIToken) == "" {
		u.AlsoAccept(legacyUnsubscribeSecret(cfg.HTTP.APIToken))
	}
	return u, nil
}

// legacyUnsubscribeSecret is the key of links sent by drip before it kept
// its own key: derived from the API token.
func legacyUnsubscribeSecret(apiToken string) string {
	mac := hmac.New(sha256.New, []byte(apiToken))
	mac.Write([]byte("drip unsubscribe links"))
	return hex.EncodeToString(mac.Sum(nil))
}

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
	return unsubscriber(ctx, cfg, st)
}
