package daemon

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
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

// UnsubscribeSecretName is the store's secret that keys unsubscribe links.
const UnsubscribeSecretName = "unsubscribe"

// Unsubscriber keys unsubscribe links with http.unsubscribe_secret when it
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
func Unsubscriber(ctx context.Context, cfg *configs.Config, st store.Store) (*mailer.Unsubscriber, error) {
	secret := cfg.HTTP.UnsubscribeSecret
	if secret == "" {
		secret = rand.Text() + rand.Text() // 256 bits
		if st != nil {
			var err error
			if secret, err = st.SecretEnsure(ctx, UnsubscribeSecretName, secret); err != nil {
				return nil, fmt.Errorf("unsubscribe links' key: %w", err)
			}
		}
	}
	u, err := mailer.NewUnsubscriber(secret)
	if err != nil {
		return nil, err
	}
	if cfg.HTTP.UnsubscribeSecret == "" && configs.WeakSecret(cfg.HTTP.APIToken) == "" {
		u.AlsoAccept(LegacyUnsubscribeSecret(cfg.HTTP.APIToken))
	}
	return u, nil
}

// LegacyUnsubscribeSecret is the key of links sent by drip before it kept
// its own key: derived from the API token.
func LegacyUnsubscribeSecret(apiToken string) string {
	mac := hmac.New(sha256.New, []byte(apiToken))
	mac.Write([]byte("drip unsubscribe links"))
	return hex.EncodeToString(mac.Sum(nil))
}

// UnsubscribeURL makes the link for a prospect.
func UnsubscribeURL(cfg *configs.Config, u *mailer.Unsubscriber) func(int64) string {
	base := strings.TrimRight(cfg.HTTP.PublicURL, "/")
	return func(id int64) string { return u.URL(base, id) }
}
