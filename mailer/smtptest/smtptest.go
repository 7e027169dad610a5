// Package smtptest runs a real go-smtp server on 127.0.0.1 for tests: it
// records every accepted message, can require AUTH (PLAIN, LOGIN) and TLS
// (STARTTLS or implicit, with a self-signed certificate), and injects
// faults a test sets and clears while it runs.
package smtptest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode is how the server offers TLS.
type TLSMode int

const (
	NoTLS       TLSMode = iota // plaintext; AUTH allowed without TLS
	StartTLS                   // STARTTLS offered; AUTH only after it
	ImplicitTLS                // TLS from the first byte (port 465 style)
)

// Options configure a Server. The zero value is a plaintext sink that
// accepts everything without AUTH.
type Options struct {
	TLS TLSMode
	// Users enables AUTH: username → password. MAIL is refused before a
	// successful AUTH.
	Users map[string]string
	// AuthMechanisms offered, default PLAIN and LOGIN.
	AuthMechanisms []string
	// Discard keeps counts but not message bytes (benchmarks).
	Discard bool
	// Domain in the greeting, default "smtptest.local".
	Domain string
	// Addr to listen on, default 127.0.0.1:0 (a peer that must find the
	// server at a known port, like Dovecot's submission relay, sets it).
	Addr string
}

// Message is one message the server accepted.
type Message struct {
	From      string
	To        []string
	Data      []byte // nil with Options.Discard
	MessageID string // the Message-Id header as sent, with brackets
	Conn      int    // serial number of the connection it arrived on (1-based)
	TLS       bool   // arrived over TLS
	AuthUser  string // who authenticated, "" without AUTH
}

// Server is a running SMTP server.
type Server struct {
	opts   Options
	srv    *smtp.Server
	ln     *listener
	pool   *x509.CertPool
	done   chan struct{}
	closed sync.Once

	mu       sync.Mutex
	faults   []*Fault
	released chan struct{} // closed when faults change: ends stalls
	msgs     []Message
	total    int
	perRcpt  map[string]int
	changed  chan struct{} // closed and replaced on every new message
	conns    int
	active   map[*trackedConn]struct{}
}

// New starts a server for the duration of test t.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("starting SMTP test server: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Start starts a server on Options.Addr (default 127.0.0.1:0); Close stops it.
func Start(opts Options) (*Server, error) {
	if opts.Domain == "" {
		opts.Domain = "smtptest.local"
	}
	if len(opts.AuthMechanisms) == 0 {
		opts.AuthMechanisms = []string{sasl.Plain, sasl.Login}
	}
	s := &Server{
		opts:     opts,
		done:     make(chan struct{}),
		released: make(chan struct{}),
		perRcpt:  map[string]int{},
		changed:  make(chan struct{}),
		active:   map[*trackedConn]struct{}{},
	}

	var tlsConfig *tls.Config
	if opts.TLS != NoTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			return nil, err
		}
		s.pool = pool
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on loopback: %w", err)
	}
	var implicit *tls.Config
	if opts.TLS == ImplicitTLS {
		implicit = tlsConfig
	}
	s.ln = newListener(s, inner, implicit)

	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = opts.Domain
	s.srv.AllowInsecureAuth = opts.TLS == NoTLS
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // faults make it chatty
	if opts.TLS == StartTLS {
		s.srv.TLSConfig = tlsConfig
	}
	go func() { _ = s.srv.Serve(s.ln) }()
	return s, nil
}

// Addr is "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is "127.0.0.1".
func (s *Server) Host() string { return "127.0.0.1" }

// Port is the listening port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// RootCAs trusts the server's self-signed certificate; nil without TLS.
func (s *Server) RootCAs() *x509.CertPool { return s.pool }

// Messages returns a copy of the accepted messages, in arrival order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is how many accepted messages were addressed to addr
// (case-insensitive).
func (s *Server) Count(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perRcpt[strings.ToLower(addr)]
}

// LastMessageID is the Message-ID of the latest message accepted for
// addr (case-insensitive), "" when there is none.
func (s *Server) LastMessageID(addr string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		for _, to := range s.msgs[i].To {
			if strings.EqualFold(to, addr) {
				return s.msgs[i].MessageID
			}
		}
	}
	return ""
}

// Total is how many messages were accepted.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Connections is how many TCP connections the server has accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Active is how many connections are open now.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

// Wait blocks until at least n messages were accepted or ctx is done.
func (s *Server) Wait(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		total, changed := s.total, s.changed
		s.mu.Unlock()
		if total >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d messages, have %d: %w", n, total, ctx.Err())
		}
	}
}

// DropConnections closes every open connection, as a server restart or
// its idle timeout would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.active))
	for c := range s.active {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Close stops the server, cutting open connections and ending stalls.
func (s *Server) Close() error {
	s.closed.Do(func() {
		close(s.done)
		// Closed here too: go-smtp only closes listeners its Serve has
		// registered, and Serve may not have started yet.
		_ = s.ln.Listener.Close()
		s.DropConnections()
		_ = s.srv.Close()
		s.ln.wg.Wait()
	})
	return nil
}

func (s *Server) record(m Message) {
	if s.opts.Discard {
		m.Data = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opts.Discard {
		s.msgs = append(s.msgs, m)
	}
	s.total++
	for _, to := range m.To {
		s.perRcpt[strings.ToLower(to)]++
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func messageID(data []byte) string {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return ""
	}
	return h.Get("Message-Id")
}

// session is one SMTP session (go-smtp's Session and AuthSession).
type session struct {
	s      *Server
	c      *smtp.Conn
	serial int
	user   string
	from   string
	to     []string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	serial := 0
	if tc, ok := underlying(c.Conn()); ok {
		serial = tc.serial
	}
	return &session{s: s, c: c, serial: serial}, nil
}

// raw is the TCP connection under the session (and under TLS).
func (ss *session) raw() net.Conn {
	if tc, ok := underlying(ss.c.Conn()); ok {
		return tc
	}
	return ss.c.Conn()
}

func underlying(c net.Conn) (*trackedConn, bool) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	t, ok := c.(*trackedConn)
	return t, ok
}

func (ss *session) AuthMechanisms() []string {
	if len(ss.s.opts.Users) == 0 {
		return nil
	}
	return ss.s.opts.AuthMechanisms
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if err := ss.s.fault(ss.raw(), AtAuth, ""); err != nil {
			return err
		}
		want, ok := ss.s.opts.Users[user]
		if !ok || want != pass {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	case "XOAUTH2": // the password is the bearer token
		return &xoauth2Server{check: check}, nil
	case sasl.OAuthBearer:
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if check(o.Username, o.Token) != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token"}
			}
			return nil
		}), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(ss.s.opts.Users) > 0 && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	if err := ss.s.fault(ss.raw(), AtMail, ""); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.fault(ss.raw(), AtRcpt, to); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	if f := ss.s.take(BeforeData, ""); f != nil && f.Action != Reply {
		// go-smtp answers DATA with 354 before the session hears of it;
		// the next read on the connection is that DATA command.
		if tc, ok := underlying(ss.c.Conn()); ok {
			tc.onNextRead.Store(f)
		}
	}
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if f := ss.s.take(AtData, ""); f != nil {
		// Read part of the body, then act while the client is still
		// sending the rest of it.
		if _, err := io.CopyN(io.Discard, r, int64(f.AfterBytes)); err != nil {
			return err
		}
		if err := ss.s.act(ss.raw(), f); err != nil {
			return err
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{
		From:      ss.from,
		To:        append([]string(nil), ss.to...),
		Data:      data,
		MessageID: messageID(data),
		Conn:      ss.serial,
		AuthUser:  ss.user,
	}
	_, m.TLS = ss.c.TLSConnectionState()
	if f := ss.s.take(AtDot, ""); f != nil {
		if f.Action == Reply {
			return f.smtpError()
		}
		// The server has the message; the reply is what goes missing.
		ss.s.record(m)
		return ss.s.act(ss.raw(), f)
	}
	ss.s.record(m)
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// loginServer is the server side of SASL LOGIN, which go-sasl lacks.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if resp == nil {
			l.step = 1
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

// listener counts and tracks connections and applies AtConnect faults
// before go-smtp sees a connection.
type listener struct {
	net.Listener
	s         *Server
	tlsConfig *tls.Config // implicit TLS
	conns     chan net.Conn
	wg        sync.WaitGroup
}

func newListener(s *Server, inner net.Listener, implicitTLS *tls.Config) *listener {
	l := &listener{Listener: inner, s: s, tlsConfig: implicitTLS, conns: make(chan net.Conn)}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *listener) acceptLoop() {
	defer l.wg.Done()
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			return
		}
		l.s.mu.Lock()
		l.s.conns++
		tc := &trackedConn{Conn: raw, s: l.s, serial: l.s.conns}
		l.s.active[tc] = struct{}{}
		l.s.mu.Unlock()

		var c net.Conn = tc
		if l.tlsConfig != nil {
			c = tls.Server(tc, l.tlsConfig)
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if f := l.s.take(AtConnect, ""); f != nil {
				if f.Action == Reply {
					_ = c.SetDeadline(time.Now().Add(5 * time.Second))
					fmt.Fprintf(c, "%s\r\n", f.replyLine())
					_ = c.Close()
					return
				}
				if err := l.s.act(tc, f); err != nil {
					return
				}
			}
			select {
			case l.conns <- c:
			case <-l.s.done:
				_ = c.Close()
			}
		}()
	}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.s.done:
		return nil, net.ErrClosed
	}
}

// trackedConn knows its serial number and leaves Server.active on Close.
type trackedConn struct {
	net.Conn
	s          *Server
	serial     int
	once       sync.Once
	onNextRead atomic.Pointer[Fault] // a BeforeData fault armed by Rcpt
}

func (c *trackedConn) Read(b []byte) (int, error) {
	if f := c.onNextRead.Swap(nil); f != nil {
		if err := c.s.act(c, f); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(b)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.active, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// xoauth2Server checks "user=U ^A auth=Bearer T ^A ^A"; a refused token
// gets the JSON challenge Google sends, then 535 after the empty answer.
type xoauth2Server struct {
	check  func(user, pass string) error
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, smtp.ErrAuthFailed
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, f := range strings.Split(string(resp), "\x01") {
		if v, ok := strings.CutPrefix(f, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(f, "auth=Bearer "); ok {
			token = v
		}
	}
	if err := x.check(user, token); err != nil {
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	return nil, true, nil
}
