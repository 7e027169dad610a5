package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/client_golang/prometheus"
)

// Sender is what SaveSent wraps: the engine's transport (a *Pool).
type Sender interface {
	Send(ctx context.Context, from, to string, msg []byte) error
}

// SaveSentConfig is the IMAP mailbox delivered messages are copied to.
type SaveSentConfig struct {
	Sender             string // the sender's name, for logs and metrics
	Host               string
	Port               int
	TLS                string // tls | starttls | none
	Username, Password string
	Token              TokenSource // OAuth2 instead of the password
	OAuthMechanism     string
	RootCAs            *x509.CertPool
	InsecureSkipVerify bool
	// Folder: "auto" (the one marked \Sent by SPECIAL-USE) or a name.
	Folder  string
	Timeout time.Duration // dial, login and each APPEND; default 30s
	Log     *slog.Logger
	Metrics *SaveSentMetrics
}

// SaveSentMetrics is drip_sent_copies_total{sender,result}.
type SaveSentMetrics struct{ copies *prometheus.CounterVec }

// NewSaveSentMetrics registers the counter on reg.
func NewSaveSentMetrics(reg prometheus.Registerer) *SaveSentMetrics {
	m := &SaveSentMetrics{copies: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "drip_sent_copies_total",
		Help: "Copies of delivered messages appended to the sender's Sent folder (save_sent), by result: saved or failed.",
	}, []string{"sender", "result"})}
	reg.MustRegister(m.copies)
	return m
}

// Init makes sender's series exist at zero.
func (m *SaveSentMetrics) Init(sender string) {
	if m != nil {
		m.copies.WithLabelValues(sender, "saved")
		m.copies.WithLabelValues(sender, "failed")
	}
}

func (m *SaveSentMetrics) count(sender string, ok bool) {
	if m == nil {
		return
	}
	r := "saved"
	if !ok {
		r = "failed"
	}
	m.copies.WithLabelValues(sender, r).Inc()
}

// saveSentQueue bounds the copies waiting for IMAP: past it a copy is
// dropped (and counted), never a send slowed or failed.
const saveSentQueue = 1000

// SaveSent delivers through the wrapped Sender and then, for each message
// the server accepted, appends a copy flagged \Seen to the Sent folder,
// for providers that do not file SMTP submissions themselves. The copy is
// made in the background over one IMAP connection: a failed append is
// logged and counted and changes nothing about the delivery (it is never
// sent again). Copies are From the sender's own address, which the reply
// watcher never takes for a reply.
type SaveSent struct {
	next  Sender
	cfg   SaveSentConfig
	log   *slog.Logger
	queue chan []byte
	done  chan struct{}
	once  sync.Once
}

// NewSaveSent starts the copier; Close stops it.
func NewSaveSent(next Sender, cfg SaveSentConfig) *SaveSent {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &SaveSent{next: next, cfg: cfg, log: log.With("sender", cfg.Sender, "component", "save_sent"),
		queue: make(chan []byte, saveSentQueue), done: make(chan struct{})}
	cfg.Metrics.Init(cfg.Sender)
	go s.run()
	return s
}

// Send delivers msg and queues its copy when the delivery succeeded.
func (s *SaveSent) Send(ctx context.Context, from, to string, msg []byte) error {
	if err := s.next.Send(ctx, from, to, msg); err != nil {
		return err
	}
	select {
	case s.queue <- msg:
	default:
		s.log.Warn("not saving a copy in Sent: too many copies waiting (is the IMAP server slow?)")
		s.cfg.Metrics.count(s.cfg.Sender, false)
	}
	return nil
}

// Close appends what is queued (for at most grace) and stops.
func (s *SaveSent) Close(grace time.Duration) {
	s.once.Do(func() { close(s.queue) })
	select {
	case <-s.done:
	case <-time.After(grace):
		s.log.Warn("stopping with copies for Sent still queued")
	}
}

func (s *SaveSent) run() {
	defer close(s.done)
	var (
		c      *imapclient.Client
		folder string
	)
	defer func() {
		if c != nil {
			_ = c.Logout().Wait()
			_ = c.Close()
		}
	}()
	noFolder := false
	for msg := range s.queue {
		if noFolder {
			continue
		}
		var err error
		for try := 0; try < 2; try++ {
			if c == nil {
				c, folder, err = s.connect()
				if err != nil {
					continue
				}
			}
			if err = s.append(c, folder, msg); err == nil {
				break
			}
			_ = c.Close() // a fresh connection for the retry
			c = nil
		}
		if errors.Is(err, errNoSentFolder) && (s.cfg.Folder == "auto" || s.cfg.Folder == "") {
			// Nothing to save to: said once, not counted per message.
			s.log.Warn("save_sent: auto finds no Sent folder; copies are not saved (set imap.save_sent to the folder's name, or off)")
			noFolder = true
			continue
		}
		if err != nil {
			s.log.Warn("saving a copy in Sent failed; the message was delivered and is not sent again", "err", err)
			s.cfg.Metrics.count(s.cfg.Sender, false)
			continue
		}
		s.cfg.Metrics.count(s.cfg.Sender, true)
	}
}

func (s *SaveSent) append(c *imapclient.Client, folder string, msg []byte) error {
	cmd := c.Append(folder, int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: time.Now()})
	if _, err := cmd.Write(msg); err != nil {
		_ = cmd.Close()
		return fmt.Errorf("appending to %s: %w", folder, err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("appending to %s: %w", folder, err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("appending to %s: %w", folder, err)
	}
	return nil
}

// connect dials, signs in and finds the folder.
func (s *SaveSent) connect() (*imapclient.Client, string, error) {
	cfg := s.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("connecting to %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	tc := &tls.Config{ServerName: cfg.Host, RootCAs: cfg.RootCAs, InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in
	opts := &imapclient.Options{TLSConfig: tc}
	var c *imapclient.Client
	switch cfg.TLS {
	case "none":
		c = imapclient.New(conn, opts)
	case "starttls":
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			_ = conn.Close()
			return nil, "", fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	default:
		t := tls.Client(conn, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, "", fmt.Errorf("TLS with %s: %w", addr, err)
		}
		c = imapclient.New(t, opts)
	}
	fail := func(err error) (*imapclient.Client, string, error) { _ = c.Close(); return nil, "", err }
	if err := c.WaitGreeting(); err != nil {
		return fail(fmt.Errorf("greeting of %s: %w", addr, err))
	}
	if cfg.Token != nil {
		tok, err := cfg.Token.AccessToken(ctx)
		if err != nil {
			return fail(err)
		}
		a, ok := OAuthSASL(c.Caps().AuthMechanisms(), cfg.OAuthMechanism, cfg.Username, tok, cfg.Host, cfg.Port)
		if !ok {
			return fail(errors.New("the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER"))
		}
		if err := c.Authenticate(a); err != nil {
			if inv, ok := cfg.Token.(interface{ Invalidate(string) }); ok {
				inv.Invalidate(tok)
			}
			return fail(fmt.Errorf("signing in as %s: %w", cfg.Username, err))
		}
	} else if err := c.Login(cfg.Username, cfg.Password).Wait(); err != nil {
		return fail(fmt.Errorf("logging in as %s: %w", cfg.Username, err))
	}
	if !stop() {
		return fail(fmt.Errorf("connecting to %s: %w", addr, ctx.Err()))
	}
	folder := cfg.Folder
	if folder == "auto" || folder == "" {
		if folder, err = FindSentFolder(c); err != nil {
			return fail(err)
		}
	}
	return c, folder, nil
}

// FindSentFolder returns the folder marked \Sent (RFC 6154 SPECIAL-USE).
func FindSentFolder(c *imapclient.Client) (string, error) {
	opts := &imap.ListOptions{ReturnSpecialUse: true}
	if c.Caps().Has(imap.CapSpecialUse) {
		opts = &imap.ListOptions{SelectSpecialUse: true}
	}
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		return "", fmt.Errorf("listing folders: %w", err)
	}
	for _, m := range list {
		for _, a := range m.Attrs {
			if a == imap.MailboxAttrSent {
				return m.Mailbox, nil
			}
		}
	}
	return "", errNoSentFolder
}

var errNoSentFolder = errors.New("no folder is marked \\Sent (SPECIAL-USE): set imap.save_sent to the Sent folder's name, or off")
