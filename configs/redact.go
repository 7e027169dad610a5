package configs

import (
	"fmt"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// hidden replaces a secret wherever configuration is printed.
const hidden = "xxxxx"

// Redacted returns a copy of c with every secret (passwords, the API token,
// the unsubscribe secret, a database password) replaced by "xxxxx", for
// printing. Sequences are shared with c, not copied: they hold no secret.
func (c *Config) Redacted() *Config {
	r := *c
	r.DatabaseURL = RedactURL(c.DatabaseURL)
	r.HTTP.APIToken = hide(c.HTTP.APIToken)
	r.HTTP.UnsubscribeSecret = hide(c.HTTP.UnsubscribeSecret)
	r.HTTP.MetricsToken = hide(c.HTTP.MetricsToken)
	r.SecretKey = hide(c.SecretKey)
	r.Senders = make([]Sender, len(c.Senders))
	for i, s := range c.Senders {
		s.SMTP.Password = hide(s.SMTP.Password)
		if s.IMAP != nil {
			m := *s.IMAP
			m.Password = hide(m.Password)
			s.IMAP = &m
		}
		if s.OAuth2 != nil {
			o := *s.OAuth2
			o.ClientSecret = hide(o.ClientSecret)
			s.OAuth2 = &o
		}
		r.Senders[i] = s
	}
	r.Webhooks = make([]Webhook, len(c.Webhooks))
	for i, w := range c.Webhooks {
		w.Secret = hide(w.Secret)
		w.URL = RedactURL(w.URL)
		r.Webhooks[i] = w
	}
	return &r
}

// String is the configuration as YAML with its secrets hidden, so printing
// a Config by accident leaks nothing.
func (c *Config) String() string {
	b, err := yaml.Marshal(c.Redacted())
	if err != nil {
		return fmt.Sprintf("configs.Config(%s)", c.File)
	}
	return string(b)
}

// String hides the password, so a logged SMTP block leaks nothing.
func (s SMTP) String() string {
	return fmt.Sprintf("smtp %s:%d tls=%s user=%q password=%s", s.Host, s.Port, s.TLS, s.Username, hide(s.Password))
}

// String hides the password, so a logged IMAP block leaks nothing.
func (m IMAP) String() string {
	return fmt.Sprintf("imap %s:%d tls=%s user=%q password=%s mailbox=%q", m.Host, m.Port, m.TLS, m.Username, hide(m.Password), m.Mailbox)
}

// String hides the client secret.
func (o OAuth2) String() string {
	return fmt.Sprintf("oauth2 client_id=%s client_secret=%s tenant=%s token_url=%s", o.ClientID, hide(o.ClientSecret), o.Tenant, o.TokenURL)
}

// String hides the token and the secret.
func (h HTTP) String() string {
	return fmt.Sprintf("http listen=%s public_listen=%s public_url=%s api_token=%s unsubscribe_secret=%s metrics_token=%s",
		h.Listen, h.PublicListen, h.PublicURL, hide(h.APIToken), hide(h.UnsubscribeSecret), hide(h.MetricsToken))
}

func hide(s string) string {
	if s == "" {
		return ""
	}
	return hidden
}

// RedactURL hides the password of a database URL (in its user part or a
// password= parameter). A URL that does not parse is hidden whole: its
// password cannot be told apart.
func RedactURL(dsn string) string {
	if dsn == "" || strings.HasPrefix(dsn, "sqlite:") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return hidden
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", hidden)
		u.RawQuery = q.Encode()
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), hidden)
	}
	return u.String()
}
