package daemon

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/storeopen"
	"github.com/drip-email/drip/templates"
)

// OpenStore opens the store at url and brings its schema up to date
// (idempotent, and safe from several processes at once on PostgreSQL), so
// that every command works on a fresh database.
func OpenStore(ctx context.Context, url string) (store.Store, error) {
	st, dialect, db, err := storeopen.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	if _, err := migrations.Up(ctx, db, dialect); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// Sequences loads every configured sequence's templates.
func Sequences(cfg *configs.Config) (map[string]*sequencer.Sequence, error) {
	sets, err := templates.LoadAll(cfg)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*sequencer.Sequence, len(sets))
	for name, set := range sets {
		out[name] = &sequencer.Sequence{Config: cfg.Sequences[name], Templates: set}
	}
	return out, nil
}

// Unsubscriber keys unsubscribe links with http.unsubscribe_secret, or,
// when it is not set, with a key derived from the API token.
func Unsubscriber(cfg *configs.Config) (*mailer.Unsubscriber, error) {
	secret := cfg.HTTP.UnsubscribeSecret
	if secret == "" {
		if cfg.HTTP.APIToken == "" {
			return nil, errors.New("set http.unsubscribe_secret (or http.api_token) to sign unsubscribe links")
		}
		mac := hmac.New(sha256.New, []byte(cfg.HTTP.APIToken))
		mac.Write([]byte("drip unsubscribe links"))
		secret = hex.EncodeToString(mac.Sum(nil))
	}
	return mailer.NewUnsubscriber(secret)
}

// UnsubscribeURL makes the link for a prospect.
func UnsubscribeURL(cfg *configs.Config, u *mailer.Unsubscriber) func(int64) string {
	base := strings.TrimRight(cfg.HTTP.PublicURL, "/")
	return func(id int64) string { return u.URL(base, id) }
}
