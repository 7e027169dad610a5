package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPConfig is one sender's outbound server. It mirrors configs.SMTP
// plus the engine's timeouts, so mailer does not depend on configs.
type SMTPConfig struct {
	Host               string
	Port               int
	TLS                string // "starttls" (also when empty), "tls" (implicit) or "none"
	Username, Password string // no Username: no AUTH
	// Token, when set, signs in with OAuth2 (XOAUTH2, else OAUTHBEARER)
	// as Username instead of the password.
	Token TokenSource
	// OAuthMechanism forces XOAUTH2 or OAUTHBEARER; default XOAUTH2 when
	// the server offers it.
	OAuthMechanism     string
	InsecureSkipVerify bool
	// Timeout bounds the dial and every command; default 30s.
	Timeout time.Duration
	// FinalTimeout bounds the wait for the reply to the final "." of DATA;
	// default 10m (RFC 5321 4.5.3.2.6). It is long on purpose: a message
	// whose reply never came is ambiguous and is never sent again.
	FinalTimeout time.Duration
	// IdleTimeout is how long an unused connection stays open; default 1m.
	IdleTimeout time.Duration
	LocalName   string         // EHLO name; default "localhost"
	RootCAs     *x509.CertPool // nil: the system pool (tests set their own)
}

// Validate reports a configuration no Send could succeed with.
func (c SMTPConfig) Validate() error {
	switch {
	case c.Host == "":
		return errors.New("smtp: host is empty")
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("smtp: port %d out of range", c.Port)
	}
	switch c.TLS {
	case "", "starttls", "tls", "none":
	default:
		return fmt.Errorf("smtp: tls %q is not one of starttls, tls, none", c.TLS)
	}
	if strings.ContainsAny(c.LocalName, " \r\n") {
		return fmt.Errorf("smtp: local name %q contains spaces or line breaks", c.LocalName)
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (c SMTPConfig) timeout() time.Duration      { return orDefault(c.Timeout, 30*time.Second) }
func (c SMTPConfig) finalTimeout() time.Duration { return orDefault(c.FinalTimeout, 10*time.Minute) }
func (c SMTPConfig) idleTimeout() time.Duration  { return orDefault(c.IdleTimeout, time.Minute) }

// ErrPoolClosed is returned by Send after Close.
var ErrPoolClosed = errors.New("smtp pool closed")

// Pool delivers one sender's mail over at most maxConns connections,
// reusing them across messages: after a successful DATA the next MAIL goes
// straight on the same connection. A connection that saw any error is
// closed, never reused.
type Pool struct {
	cfg   SMTPConfig
	slots chan struct{} // one token per Send in progress
	done  chan struct{}

	mu     sync.Mutex
	idle   []*smtpConn // most recently used last
	closed bool
	reaper *time.Timer

	open  atomic.Int64
	dials atomic.Int64
}

// PoolStats is a snapshot of a Pool.
type PoolStats struct {
	Open  int   // connections open now (busy or idle)
	Idle  int   // of which idle
	Dials int64 // connections opened so far
}

type smtpConn struct {
	c         *smtp.Client
	dc        *deadlineConn
	idleSince time.Time
}

// NewPool returns a pool for one sender; maxConns < 1 means 1.
func NewPool(cfg SMTPConfig, maxConns int) *Pool {
	return &Pool{
		cfg:   cfg,
		slots: make(chan struct{}, max(maxConns, 1)),
		done:  make(chan struct{}),
	}
}

// Stats returns the pool's current counts.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	return PoolStats{Open: int(p.open.Load()), Idle: idle, Dials: p.dials.Load()}
}

// Send delivers msg (a complete RFC 5322 message) from the envelope
// address from to the envelope address to. Any error is a *SendError.
func (p *Pool) Send(ctx context.Context, from, to string, msg []byte) error {
	if err := p.cfg.Validate(); err != nil {
		return &SendError{Kind: SenderFault, Stage: StageConnect, Msg: err.Error(), Err: err}
	}
	if err := envelopeAddress(from); err != nil {
		return &SendError{Kind: SenderFault, Stage: StageMail, Msg: "sender " + err.Error(), Err: err}
	}
	if err := envelopeAddress(to); err != nil {
		return &SendError{Kind: RecipientRejected, Stage: StageRcpt, Msg: "recipient " + err.Error(), Err: err}
	}

	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return &SendError{Kind: Temporary, Stage: StageConnect, Msg: "waiting for a free connection: " + ctx.Err().Error(), Err: ctx.Err()}
	case <-p.done:
		return &SendError{Kind: Temporary, Stage: StageConnect, Msg: ErrPoolClosed.Error(), Err: ErrPoolClosed}
	}
	defer func() { <-p.slots }()
	select {
	case <-p.done:
		return &SendError{Kind: Temporary, Stage: StageConnect, Msg: ErrPoolClosed.Error(), Err: ErrPoolClosed}
	default:
	}

	for attempt := 0; ; attempt++ {
		var sc *smtpConn
		if attempt == 0 {
			sc = p.takeIdle()
		}
		reused := sc != nil
		if sc == nil {
			var derr *SendError
			if sc, derr = p.dial(ctx); derr != nil {
				return withContext(ctx, derr)
			}
		}
		release := sc.dc.bind(ctx)
		var err *SendError
		if !reused {
			err = p.setup(sc)
		}
		if err == nil {
			err = p.deliver(sc, from, to, msg)
		}
		clean := release()
		if err == nil {
			if clean {
				p.put(sc)
			} else {
				p.closeConn(sc, false)
			}
			return nil
		}
		p.closeConn(sc, false)
		// A server may drop an idle connection at any time (its own idle
		// timeout, a restart). Nothing of the message was sent yet, so one
		// more try on a fresh connection is safe.
		if reused && attempt == 0 && err.Stage == StageMail && staleConn(err) {
			continue
		}
		return withContext(ctx, err)
	}
}

// withContext lets errors.Is(err, context.Canceled) see why a temporary
// failure happened when the caller gave up. The I/O deadline clamped to
// ctx's deadline can fire a moment before ctx itself reports it.
func withContext(ctx context.Context, err *SendError) *SendError {
	cause := ctx.Err()
	if dl, ok := ctx.Deadline(); cause == nil && ok && !time.Now().Before(dl) {
		cause = context.DeadlineExceeded
	}
	if cause != nil && err.Kind == Temporary && !errors.Is(err.Err, cause) {
		err.Err = errors.Join(err.Err, cause)
	}
	return err
}

// Close closes idle connections (with QUIT) and makes later Sends fail;
// a Send in progress finishes and then closes its connection.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	idle := p.idle
	p.idle = nil
	if p.reaper != nil {
		p.reaper.Stop()
		p.reaper = nil
	}
	p.mu.Unlock()

	var wg sync.WaitGroup
	for _, sc := range idle {
		wg.Go(func() { p.closeConn(sc, true) })
	}
	wg.Wait()
	return nil
}

func envelopeAddress(addr string) error {
	a, err := netmail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return fmt.Errorf("address %q is not a plain address", addr)
	}
	return nil
}

func (p *Pool) takeIdle() *smtpConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	cutoff := time.Now().Add(-p.cfg.idleTimeout())
	for len(p.idle) > 0 {
		sc := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if sc.idleSince.After(cutoff) {
			return sc
		}
		// Past its idle time and the reaper has not run yet.
		go p.closeConn(sc, true)
	}
	return nil
}

func (p *Pool) put(sc *smtpConn) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.closeConn(sc, true)
		return
	}
	sc.idleSince = time.Now()
	p.idle = append(p.idle, sc)
	if p.reaper == nil {
		p.reaper = time.AfterFunc(p.cfg.idleTimeout(), p.reap)
	}
	p.mu.Unlock()
}

// reap closes connections idle for longer than IdleTimeout, and schedules
// itself again while any connection is idle.
func (p *Pool) reap() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	now := time.Now()
	var stale, keep []*smtpConn
	for _, sc := range p.idle {
		if now.Sub(sc.idleSince) >= p.cfg.idleTimeout() {
			stale = append(stale, sc)
		} else {
			keep = append(keep, sc)
		}
	}
	p.idle = keep
	p.reaper = nil
	if len(keep) > 0 {
		next := keep[0].idleSince.Add(p.cfg.idleTimeout()).Sub(now)
		p.reaper = time.AfterFunc(next, p.reap)
	}
	p.mu.Unlock()
	for _, sc := range stale {
		p.closeConn(sc, true)
	}
}

// closeConn closes a connection, saying QUIT first when it is idle and in
// a known state.
func (p *Pool) closeConn(sc *smtpConn, quit bool) {
	if quit {
		sc.c.CommandTimeout = min(p.cfg.timeout(), 5*time.Second)
		if sc.c.Quit() == nil {
			p.open.Add(-1)
			return
		}
	}
	_ = sc.c.Close()
	p.open.Add(-1)
}

func (p *Pool) dial(ctx context.Context) (*smtpConn, *SendError) {
	d := net.Dialer{Timeout: p.cfg.timeout()}
	addr := net.JoinHostPort(p.cfg.Host, strconv.Itoa(p.cfg.Port))
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, classify(StageConnect, fmt.Errorf("dialing %s: %w", addr, err))
	}
	p.dials.Add(1)
	p.open.Add(1)
	return &smtpConn{dc: &deadlineConn{Conn: conn}}, nil
}

// setup runs greeting, TLS, EHLO and AUTH on a fresh connection. go-smtp
// uses a 5-minute command timeout until we can set ours; dc.maxWait caps
// every deadline to Timeout meanwhile.
func (p *Pool) setup(sc *smtpConn) *SendError {
	cfg := p.cfg
	sc.dc.setMaxWait(cfg.timeout())
	defer sc.dc.setMaxWait(0)
	_ = sc.dc.SetDeadline(time.Now().Add(cfg.timeout()))

	tlsConfig := &tls.Config{
		ServerName:         cfg.Host,
		RootCAs:            cfg.RootCAs,
		InsecureSkipVerify: cfg.InsecureSkipVerify,
		MinVersion:         tls.VersionTLS12,
	}
	switch cfg.TLS {
	case "tls":
		tc := tls.Client(sc.dc, tlsConfig)
		if err := tc.Handshake(); err != nil {
			sc.c = smtp.NewClient(sc.dc) // so that closeConn can close it
			return classify(StageConnect, fmt.Errorf("TLS handshake: %w", err))
		}
		sc.c = smtp.NewClient(tc)
	case "none":
		sc.c = smtp.NewClient(sc.dc)
	default:
		c, err := smtp.NewClientStartTLS(sc.dc, tlsConfig)
		if err != nil {
			sc.c = smtp.NewClient(sc.dc)
			return classify(StageConnect, fmt.Errorf("STARTTLS: %w", err))
		}
		sc.c = c
	}
	sc.c.CommandTimeout = cfg.timeout()
	sc.c.SubmissionTimeout = cfg.finalTimeout()

	localName := cfg.LocalName
	if localName == "" {
		localName = "localhost"
	}
	if err := sc.c.Hello(localName); err != nil {
		return classify(StageConnect, fmt.Errorf("EHLO: %w", err))
	}
	if cfg.Username == "" {
		return nil
	}
	if ok, _ := sc.c.Extension("AUTH"); !ok {
		return &SendError{Kind: SenderFault, Stage: StageAuth, Msg: "server offers no AUTH but a username is configured"}
	}
	if cfg.Token != nil {
		return p.authOAuth(sc)
	}
	var a sasl.Client
	switch {
	case sc.c.SupportsAuth(sasl.Plain):
		a = sasl.NewPlainClient("", cfg.Username, cfg.Password)
	case sc.c.SupportsAuth(sasl.Login):
		a = sasl.NewLoginClient(cfg.Username, cfg.Password)
	default:
		_, mechs := sc.c.Extension("AUTH")
		return &SendError{Kind: SenderFault, Stage: StageAuth, Msg: "server offers neither AUTH PLAIN nor LOGIN (offers " + mechs + ")"}
	}
	if err := sc.c.Auth(a); err != nil {
		return classify(StageAuth, err)
	}
	return nil
}

// authOAuth signs in with an access token. A grant that is gone (revoked,
// expired) is ErrReauthNeeded: the sender is held until it is connected
// again. A token the server refuses is dropped and a fresh one tried once:
// a token revoked before its expiry then shows as ErrReauthNeeded at once
// (the refresh says invalid_grant), not as a plain AUTH refusal.
func (p *Pool) authOAuth(sc *smtpConn) *SendError {
	cfg := p.cfg
	ctx, cancel := context.WithTimeout(context.Background(), 2*cfg.timeout())
	defer cancel()
	_, list := sc.c.Extension("AUTH")
	var refused *SendError
	for try := 0; try < 2; try++ {
		token, err := cfg.Token.AccessToken(ctx)
		if err != nil {
			msg := "getting an OAuth2 access token: " + err.Error()
			if errors.Is(err, ErrReauthNeeded) {
				msg = "the mailbox's OAuth2 sign-in was revoked or has expired: run `drip mailbox connect`"
			}
			return &SendError{Kind: SenderFault, Stage: StageAuth, Msg: msg, Err: err}
		}
		a, ok := OAuthSASL(strings.Fields(list), cfg.OAuthMechanism, cfg.Username, token, cfg.Host, cfg.Port)
		if !ok {
			return &SendError{Kind: SenderFault, Stage: StageAuth, Msg: "server offers neither AUTH XOAUTH2 nor OAUTHBEARER (offers " + list + ")"}
		}
		err = sc.c.Auth(a)
		if err == nil {
			return nil
		}
		refused = classify(StageAuth, err)
		inv, ok := cfg.Token.(interface{ Invalidate(token string) })
		if !ok || refused.Code/100 != 5 {
			break
		}
		inv.Invalidate(token)
	}
	return refused
}

// dataChunk is how much of a message is written per deadline, so a large
// message on a slow link gets Timeout per chunk rather than in total.
const dataChunk = 64 << 10

func (p *Pool) deliver(sc *smtpConn, from, to string, msg []byte) *SendError {
	c := sc.c
	var opts *smtp.MailOptions
	if !isASCII(from) || !isASCII(to) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			if !isASCII(from) {
				return &SendError{Kind: SenderFault, Stage: StageMail, Msg: "sender address is not ASCII and the server lacks SMTPUTF8"}
			}
			return &SendError{Kind: RecipientRejected, Stage: StageRcpt, Msg: "recipient address is not ASCII and the server lacks SMTPUTF8"}
		}
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(from, opts); err != nil {
		return classify(StageMail, err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return classify(StageRcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(StageData, err)
	}
	for rest := msg; len(rest) > 0; {
		n := min(len(rest), dataChunk)
		_ = sc.dc.SetDeadline(time.Now().Add(p.cfg.timeout()))
		if _, err := w.Write(rest[:n]); err != nil {
			return classify(StageData, fmt.Errorf("sending the message: %w", err))
		}
		rest = rest[n:]
	}
	_ = sc.dc.SetDeadline(time.Now().Add(p.cfg.timeout()))
	failedWrites := sc.dc.writeErrs.Load()
	if _, err := w.CloseWithResponse(); err != nil {
		if sc.dc.writeErrs.Load() != failedWrites {
			// The final "." never left: the server cannot have accepted it.
			return classify(StageData, fmt.Errorf("sending the end of the message: %w", err))
		}
		var smtpErr *smtp.SMTPError
		if errors.As(err, &smtpErr) && (smtpErr.Code/100 == 4 || smtpErr.Code/100 == 5) {
			return classify(StageData, err)
		}
		se := classify(StageData, err)
		se.Kind = Ambiguous
		se.Msg = "no reply after the end of the message, delivery unknown: " + se.Msg
		return se
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
