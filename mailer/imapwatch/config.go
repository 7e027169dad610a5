package imapwatch

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/drip-email/drip/mailer"
)

// Defaults of the Config fields left zero.
const (
	DefaultMailbox      = "INBOX"
	DefaultPoll         = time.Minute
	DefaultReconnectMax = time.Minute
	DefaultLease        = 30 * time.Second
	DefaultTimeout      = 30 * time.Second
	// DefaultIdleRestart is below the 29 minutes after which RFC 2177 lets a
	// server drop an idle client, and below imapclient's own 28.
	DefaultIdleRestart = 25 * time.Minute
)

// Config is one sender mailbox to watch. It mirrors configs.IMAP plus the
// engine settings the watcher needs, so that mailer does not import configs.
type Config struct {
	// Sender is the sender's name: the key of the mailbox cursor and lease,
	// and the label of drip_imap_connected.
	Sender string
	// Own are our own addresses ("a@b" or "Name <a@b>"): the sender's From
	// and its login when that is an address. Mail from them is never a
	// reply. Username is added when it contains "@".
	Own []string

	Host     string
	Port     int
	TLS      string // "tls" | "starttls" | "none"
	Username string
	Password string
	// Token, when set, signs in with OAuth2 (XOAUTH2, else OAUTHBEARER) as
	// Username instead of the password.
	Token mailer.TokenSource
	// OAuthMechanism forces XOAUTH2 or OAUTHBEARER (default XOAUTH2 when offered).
	OAuthMechanism string
	Mailbox        string // default INBOX
	// InsecureSkipVerify accepts any certificate (test servers only).
	InsecureSkipVerify bool
	RootCAs            *x509.CertPool // nil: the system pool

	// Poll is how often the mailbox is checked when the server has no IDLE;
	// with IDLE, how often IDLE is renewed with a check all the same (a
	// net for a lost notification or a silently dead connection). Default 1m.
	Poll         time.Duration
	IdleRestart  time.Duration // IDLE is re-issued at least this often (default 25m)
	ReconnectMax time.Duration // longest reconnect backoff (default 1m)
	Lease        time.Duration // mailbox lease; renewed every Lease/3 (default 30s)
	Timeout      time.Duration // dial, TLS handshake and greeting (default 30s)

	// Owner names this instance as the lease holder (required, unique per
	// running instance).
	Owner string
	// Clock gives the time of events and of the lease; default time.Now.
	// Every instance sharing a store must use the same notion of time.
	Clock func() time.Time
	Log   *slog.Logger // default: discard
	// Metrics, from NewMetrics; may be shared by several watchers. Nil: none.
	Metrics *Metrics
	// OnHandled, when set, is called after each message is recorded (demo
	// log lines, tests, latency measurements). It must not block for long.
	OnHandled func(Handled)
}

// withDefaults validates c and fills its zero fields. Errors name the
// sender and the field, in one line, and never show the password.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("imap watcher of sender %q: "+format, append([]any{c.Sender}, args...)...)
	}
	switch {
	case c.Sender == "":
		return Config{}, fmt.Errorf("imap watcher: sender name is empty")
	case c.Host == "":
		return bad("host is empty")
	case c.Port <= 0 || c.Port > 65535:
		return bad("port %d out of range 1-65535", c.Port)
	case c.Username == "":
		return bad("username is empty")
	case c.Owner == "":
		return bad("owner (instance name) is empty")
	}
	c.TLS = strings.ToLower(c.TLS)
	switch c.TLS {
	case "tls", "starttls", "none":
	case "":
		c.TLS = "tls"
	default:
		return bad("tls %q: want tls, starttls or none", c.TLS)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"poll", &c.Poll, DefaultPoll},
		{"idle restart", &c.IdleRestart, DefaultIdleRestart},
		{"reconnect max", &c.ReconnectMax, DefaultReconnectMax},
		{"lease", &c.Lease, DefaultLease},
		{"timeout", &c.Timeout, DefaultTimeout},
	} {
		if *d.v < 0 {
			return bad("%s %s is negative", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.Mailbox == "" {
		c.Mailbox = DefaultMailbox
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	own := append([]string(nil), c.Own...)
	if strings.Contains(c.Username, "@") {
		own = append(own, c.Username)
	}
	c.Own = own
	return c, nil
}
