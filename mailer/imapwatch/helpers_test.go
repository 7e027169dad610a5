package imapwatch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/internal/memimap"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

const (
	testUser     = "maria"
	testPassword = "s3cret"
	ourAddress   = "maria.rossi@ferrovalvole.example"
	ourFrom      = "Maria Rossi <" + ourAddress + ">"
	senderName   = "maria"
)

// ---------------------------------------------------------------- stores

// seeded is a prospect we wrote to: its enrollment and the Message-ID of
// the step-1 message we "sent".
type seeded struct {
	prospect   store.Prospect
	enrollment store.Enrollment
	messageID  string
}

var seedSerial atomic.Int64

// seed creates a prospect enrolled in sequence and records step 1 as sent
// to it, through the store API as the engine would (claim, then settle).
func seed(t testing.TB, st store.Store, email, sequence string) seeded {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := store.Prospect{Email: email, FirstName: "Test"}
	if _, err := st.ProspectUpsert(ctx, &p); err != nil {
		t.Fatal(err)
	}
	due := now.Add(-time.Second)
	e := store.Enrollment{ProspectID: p.ID, Sequence: sequence, Sender: senderName, State: store.StateActive,
		FirstContact: now.Add(-24 * time.Hour), NextSendAt: &due, CreatedAt: now.Add(-24 * time.Hour)}
	if _, err := st.EnrollmentCreate(ctx, &e); err != nil {
		t.Fatal(err)
	}
	owner := fmt.Sprintf("seed-%d", seedSerial.Add(1))
	claimed, err := st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute),
		Limit: 10, Sequences: []string{sequence}})
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 || claimed[0].ID != e.ID {
		t.Fatalf("seeding %s: claimed %d enrollments, want exactly the new one", email, len(claimed))
	}
	msgID := fmt.Sprintf("<drip.s1.%d.%d@ferrovalvole.example>", e.ID, seedSerial.Add(1))
	next := now.Add(time.Hour)
	errs, err := st.Settle(ctx, []store.Settle{{
		EnrollmentID: e.ID, Owner: owner, State: store.StateActive,
		Sends:    []store.SendUpdate{{Step: 1, Status: store.SendSent, MessageID: msgID, PlannedAt: &due, FinishedAt: &now}},
		Events:   []store.Event{{Kind: store.EventSent, Step: 1, MessageID: msgID, At: now}},
		LastStep: 1, LastSentAt: &now, NextSendAt: &next,
		ThreadSubject: "Valvole a sfera", ThreadRefs: msgID,
	}})
	if err != nil || errs[0] != nil {
		t.Fatalf("seeding %s: settle: %v %v", email, err, errs)
	}
	got, err := st.EnrollmentGet(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	return seeded{prospect: p, enrollment: got, messageID: msgID}
}

// enrollOnly creates a prospect enrolled in sequence with nothing sent yet
// (its first step is days away).
func enrollOnly(t testing.TB, st store.Store, email, sequence string) store.Enrollment {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := store.Prospect{Email: email, FirstName: "Test"}
	if _, err := st.ProspectUpsert(ctx, &p); err != nil {
		t.Fatal(err)
	}
	next := now.Add(10 * 24 * time.Hour)
	e := store.Enrollment{ProspectID: p.ID, Sequence: sequence, Sender: senderName, State: store.StateActive,
		FirstContact: now, Anchor: now, NextSendAt: &next, CreatedAt: now}
	if _, err := st.EnrollmentCreate(ctx, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func enrollment(t testing.TB, st store.Store, id int64) store.Enrollment {
	t.Helper()
	e, err := st.EnrollmentGet(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func timeline(t testing.TB, st store.Store, prospectID int64) []store.Event {
	t.Helper()
	evs, err := st.Timeline(context.Background(), prospectID)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// kinds counts a timeline's events by kind.
func kinds(evs []store.Event) map[store.EventKind]int {
	m := map[store.EventKind]int{}
	for _, e := range evs {
		m[e.Kind]++
	}
	return m
}

func suppressed(t testing.TB, st store.Store, email string) bool {
	t.Helper()
	ok, err := st.Suppressed(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// ---------------------------------------------------------------- messages

func reply(from, inReplyTo, subject, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nDate: %s\r\nSubject: %s\r\n", from, ourFrom, time.Now().Format(time.RFC1123Z), subject)
	fmt.Fprintf(&b, "Message-ID: <reply.%d@prospect.example>\r\n", seedSerial.Add(1))
	if inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", inReplyTo, inReplyTo)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

func humanReply(from, inReplyTo string) []byte {
	return reply(from, inReplyTo, "Re: Valvole a sfera",
		"Buongiorno Maria,\nsì, ci interessa: possiamo sentirci giovedì alle 10?\nCordiali saluti\nLuca\n\n> Gentile Luca,\n> le scrivo dopo la fiera.\n")
}

func outOfOffice(from, inReplyTo string) []byte {
	raw := reply(from, inReplyTo, "Automatic reply: Valvole a sfera",
		"I am out of the office until Monday with limited access to email.\n")
	return append([]byte("Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n"), raw...)
}

func stopRequest(from, inReplyTo string) []byte {
	return reply(from, inReplyTo, "Re: Valvole a sfera", "Please remove me from your mailing list.\n")
}

// dsn is an RFC 3464 report about our message msgID, one group per
// recipient (address, status, action).
func dsn(msgID string, recipients ...[3]string) []byte {
	var b strings.Builder
	boundary := fmt.Sprintf("dsn-%d", seedSerial.Add(1))
	fmt.Fprintf(&b, "Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.ferrovalvole.example>\r\nTo: %s\r\n", ourFrom)
	fmt.Fprintf(&b, "Date: %s\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <dsn.%s@mx.ferrovalvole.example>\r\nMIME-Version: 1.0\r\n", boundary)
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status; boundary=%q\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.ferrovalvole.example.\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.ferrovalvole.example\r\n", boundary)
	for _, r := range recipients {
		fmt.Fprintf(&b, "\r\nFinal-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n", r[0], r[2], r[1])
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: Valvole a sfera\r\nMessage-ID: %s\r\n", ourFrom, recipients[0][0], msgID)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return []byte(b.String())
}

// ---------------------------------------------------------------- IMAP peers

// memIMAP is an in-process IMAP server (imapmemserver) behind a proxy that
// can drop connections and hide IDLE.
type memIMAP struct {
	t     testing.TB
	mem   *imapmemserver.Server
	user  *imapmemserver.User
	srv   *imapserver.Server
	proxy *proxy
}

func newMemIMAP(t testing.TB, hideIdle bool) *memIMAP {
	t.Helper()
	m := &memIMAP{t: t, mem: imapmemserver.New(), user: imapmemserver.NewUser(testUser, testPassword)}
	if err := m.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	m.mem.AddUser(m.user)
	m.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return memimap.PromptIdle{Session: m.mem.NewSession()}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.srv.Serve(ln) }()
	m.proxy = newProxy(t, ln.Addr().String(), hideIdle)
	t.Cleanup(func() { _ = m.srv.Close() })
	return m
}

func (m *memIMAP) host() string { return "127.0.0.1" }
func (m *memIMAP) port() int    { return m.proxy.ln.Addr().(*net.TCPAddr).Port }

// deliver appends raw to INBOX as an MTA would, and returns its UID.
func (m *memIMAP) deliver(raw []byte) uint32 {
	m.t.Helper()
	data, err := m.user.Append("INBOX", literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{})
	if err != nil {
		m.t.Fatal(err)
	}
	return uint32(data.UID)
}

// recreateInbox deletes and recreates INBOX (a new UIDVALIDITY) holding raws.
func (m *memIMAP) recreateInbox(raws ...[]byte) {
	m.t.Helper()
	if err := m.user.Delete("INBOX"); err != nil {
		m.t.Fatal(err)
	}
	if err := m.user.Create("INBOX", nil); err != nil {
		m.t.Fatal(err)
	}
	for _, raw := range raws {
		m.deliver(raw)
	}
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// proxy forwards TCP connections to an IMAP server. It can drop every
// connection at once, and hide IDLE from the capabilities the server
// announces (rewriting its CAPABILITY lines; test messages never start a
// line with them).
type proxy struct {
	t        testing.TB
	ln       net.Listener
	backend  string
	hideIdle bool

	mu       sync.Mutex
	conns    []net.Conn
	accepted int
	idleCmds int // IDLE commands clients sent
}

func newProxy(t testing.TB, backend string, hideIdle bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, backend: backend, hideIdle: hideIdle}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.drop() })
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, b)
		p.accepted++
		p.mu.Unlock()
		go p.clientToServer(c, b)
		go p.serverToClient(b, c)
	}
}

func (p *proxy) clientToServer(c, b net.Conn) {
	defer b.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if f := bytes.Fields(line); len(f) == 2 && bytes.EqualFold(f[1], []byte("IDLE")) {
				p.mu.Lock()
				p.idleCmds++
				p.mu.Unlock()
			}
			if _, werr := b.Write(line); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) serverToClient(b, c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(b)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if p.hideIdle && bytes.Contains(line, []byte("CAPABILITY")) && (bytes.HasPrefix(line, []byte("* ")) || bytes.Contains(line, []byte("[CAPABILITY"))) {
				line = bytes.ReplaceAll(line, []byte(" IDLE"), nil)
			}
			if _, werr := c.Write(line); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// drop closes every connection, as a server restart or a network failure would.
func (p *proxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) stats() (accepted, idleCmds int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.idleCmds
}

// waitIdles waits until r is connected and IDLE was sent n times in all:
// the watcher has caught up and waits for news.
func (m *memIMAP) waitIdles(t testing.TB, r *running, n int) {
	t.Helper()
	testrig.WaitFor(t, "watcher idling", func() bool {
		_, idles := m.proxy.stats()
		return r.w.Connected() && idles >= n
	})
}

// flags returns the flags of every message in the mailbox, by UID, read
// over a connection of its own.
func flags(t testing.TB, addr, user, password, mailbox string) map[uint32][]imap.Flag {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	var all imap.UIDSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32][]imap.Flag{}
	for _, m := range msgs {
		out[uint32(m.UID)] = m.Flags
	}
	return out
}

// ---------------------------------------------------------------- watchers

// running is a Watcher running in the background.
type running struct {
	w       *Watcher
	cancel  context.CancelFunc
	done    chan struct{} // closed when Run returned
	err     error         // what Run returned
	reg     *prometheus.Registry
	mu      sync.Mutex
	handled []Handled
}

// handledUIDs lists the UIDs the watcher reported, in order.
func (r *running) handledList() []Handled {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Handled(nil), r.handled...)
}

func (r *running) sawUID(uid uint32) bool {
	for _, h := range r.handledList() {
		if h.UID == uid {
			return true
		}
	}
	return false
}

// stop ends Run and waits for it.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("Run returned %v", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// testConfig is a watcher of m's INBOX for the test sender.
func testConfig(host string, port int, owner string) Config {
	return Config{
		Sender: senderName, Own: []string{ourFrom},
		Host: host, Port: port, TLS: "none", Username: testUser, Password: testPassword,
		Poll: time.Hour, ReconnectMax: 200 * time.Millisecond, Lease: 3 * time.Second, Timeout: 5 * time.Second,
		Owner: owner,
	}
}

// handler is the sequencer's handler of inbound mail on st: what decides
// and records each message in production.
func handler(st sequencer.InboundStore) Handler { return &sequencer.InboundHandler{Store: st} }

// nopHandler is a Handler for tests that never get as far as a message.
type nopHandler struct{}

func (nopHandler) Handle(context.Context, inbound.Fetched) (inbound.Handled, error) {
	return inbound.Handled{}, errors.New("nopHandler handles nothing")
}
func (nopHandler) Skip(context.Context, inbound.Fetched) error { return nil }
func (nopHandler) Cursor(context.Context, string) (inbound.Cursor, bool, error) {
	return inbound.Cursor{}, false, nil
}
func (nopHandler) CursorStart(context.Context, string, uint32, uint32) error { return nil }
func (nopHandler) Lease(context.Context, string, string, time.Time, time.Time) (bool, error) {
	return false, nil
}
func (nopHandler) LeaseRelease(context.Context, string, string) error { return nil }

// start runs a watcher with cfg on h; it is stopped at cleanup.
func start(t testing.TB, cfg Config, h Handler, mod func(*Watcher)) *running {
	t.Helper()
	r := &running{done: make(chan struct{}), reg: prometheus.NewRegistry()}
	cfg.Metrics = NewMetrics(r.reg)
	cfg.Log = testLogger(t)
	cfg.OnHandled = func(h Handled) {
		r.mu.Lock()
		r.handled = append(r.handled, h)
		r.mu.Unlock()
	}
	w, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(w)
	}
	r.w = w
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.err = w.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
		}
	})
	return r
}

// testLogger logs to t.Log until the test is over.
func testLogger(t testing.TB) *slog.Logger {
	var over atomic.Bool
	t.Cleanup(func() { over.Store(true) })
	return slog.New(slog.NewTextHandler(tlogWriter{t: t, over: &over}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct {
	t    testing.TB
	over *atomic.Bool
}

func (w tlogWriter) Write(b []byte) (int, error) {
	if !w.over.Load() {
		w.t.Log(strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}
