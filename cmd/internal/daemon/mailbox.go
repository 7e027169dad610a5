package daemon

import (
	"fmt"
	"log/slog"

	"golang.org/x/oauth2"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/oauth"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// How a sender signs in (OAuth2) and where its sent copies go.

// OAuthConfig is the sender's OAuth2 client, from its preset or config.
func OAuthConfig(s *configs.Sender) *oauth2.Config {
	o := s.OAuth2
	ep := oauth2.Endpoint{AuthURL: o.AuthURL, TokenURL: o.TokenURL, DeviceAuthURL: o.DeviceURL}
	if o.ClientSecret == "" {
		// A public client (Microsoft's device flow): client_id in the
		// form, no Basic header with an empty secret.
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: o.Scopes, Endpoint: ep}
}

// GrantBox is the key that seals OAuth2 grants.
func GrantBox(cfg *configs.Config) (*oauth.Box, error) {
	key, err := cfg.GrantKey()
	if err != nil {
		return nil, err
	}
	return oauth.NewBox(key)
}

// TokenSource is the sender's access tokens, from the store; nil for a
// password sender.
func TokenSource(cfg *configs.Config, s *configs.Sender, st store.Store, log *slog.Logger, onReauth func(bool)) (*oauth.Source, error) {
	if !s.OAuth2Enabled() {
		return nil, nil
	}
	b, err := GrantBox(cfg)
	if err != nil {
		return nil, err
	}
	return &oauth.Source{Sender: s.Name, Config: OAuthConfig(s), Store: Grants(st), Box: b,
		Log: log.With("component", "oauth2"), OnReauth: onReauth}, nil
}

// saveSent wraps the sender's pool so each delivered message is copied to
// its Sent folder (imap.save_sent), or returns the pool as it is.
func saveSent(cfg *configs.Config, sc *configs.Sender, pool *mailer.Pool, token mailer.TokenSource,
	m *mailer.SaveSentMetrics, log *slog.Logger) (sequencer.Transport, error) {
	folder := sc.SaveSentFolder()
	if folder == "" {
		return pool, nil
	}
	ic := sc.IMAP
	roots, err := mailer.LoadCAFile(ic.CAFile)
	if err != nil {
		return nil, fmt.Errorf("sender %s: imap.%w", sc.Name, err)
	}
	return mailer.NewSaveSent(pool, mailer.SaveSentConfig{Sender: sc.Name, Host: ic.Host, Port: ic.Port, TLS: ic.TLS,
		Username: ic.Username, Password: ic.Password, Token: token, RootCAs: roots,
		InsecureSkipVerify: ic.InsecureSkipVerify, Folder: folder, Timeout: cfg.Engine.SMTPTimeout.Approx(),
		Log: log, Metrics: m}), nil
}
