package mailer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/mailer/smtptest"
)

const sender = "maria@example.com"

func testConfig(srv *smtptest.Server) SMTPConfig {
	return SMTPConfig{
		Host:         srv.Host(),
		Port:         srv.Port(),
		TLS:          "none",
		Timeout:      5 * time.Second,
		FinalTimeout: 5 * time.Second,
		RootCAs:      srv.RootCAs(),
	}
}

func newTestPool(t testing.TB, cfg SMTPConfig, maxConns int) *Pool {
	t.Helper()
	p := NewPool(cfg, maxConns)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// testMessage is a built message of roughly size bytes to one recipient.
func testMessage(t testing.TB, to string, size int) []byte {
	t.Helper()
	text := "Hello,\n\nthis is a test message.\n"
	if size > len(text) {
		line := strings.Repeat("x", 70) + "\n"
		text += strings.Repeat(line, (size-len(text))/len(line)+1)
	}
	raw, err := Build(Message{
		FromName: "Maria Rossi", FromEmail: sender,
		ToEmail: to, Subject: "Test", Text: text,
		MessageID: NewMessageID("example.com"), Date: time.Now(),
		UnsubscribeURL: "https://drip.example.com/u/x",
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustSend(t *testing.T, p *Pool, to string) {
	t.Helper()
	if err := p.Send(context.Background(), sender, to, testMessage(t, to, 0)); err != nil {
		t.Fatalf("Send to %s: %v", to, err)
	}
}

func sendErr(t *testing.T, err error) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SendError", err, err)
	}
	return se
}

// 200 messages from 8 goroutines over a pool of 4: at most 4 connections,
// each message exactly once.
func TestPoolDeliversOverReusedConnections(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{})
	p := newTestPool(t, testConfig(srv), 4)

	const n = 200
	ids := make(chan string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				to := fmt.Sprintf("p%d@example.net", i)
				msg := testMessage(t, to, 2000)
				ids <- messageIDOf(msg)
				if err := p.Send(context.Background(), sender, to, msg); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Error(err)
	}

	if c := srv.Connections(); c > 4 {
		t.Errorf("server saw %d connections, want at most 4", c)
	}
	if d := p.Stats().Dials; d > 4 {
		t.Errorf("pool dialled %d times, want at most 4", d)
	}
	got := map[string]int{}
	for _, m := range srv.Messages() {
		got[m.MessageID]++
	}
	for id := range ids {
		if got[id] != 1 {
			t.Errorf("message %s arrived %d times", id, got[id])
		}
	}
	for i := range n {
		if c := srv.Count(fmt.Sprintf("p%d@example.net", i)); c != 1 {
			t.Errorf("p%d got %d messages", i, c)
		}
	}
	if srv.Total() != n {
		t.Errorf("server accepted %d messages, want %d", srv.Total(), n)
	}
}

func messageIDOf(msg []byte) string {
	for _, line := range strings.Split(string(msg), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Message-Id: "); ok {
			return v
		}
	}
	return ""
}

// Each fault is classified as the engine needs it, the connection is
// dropped, and once the fault is cleared the next Send succeeds on a
// fresh connection.
func TestPoolFaults(t *testing.T) {
	const to = "john@acme.example"
	for _, tc := range []struct {
		name     string
		fault    smtptest.Fault
		warm     bool // a connection is idle in the pool when the fault strikes
		size     int  // message size
		kind     FailKind
		stage    string
		code     int
		enhanced string
		received int // messages the server has after the failure
	}{
		{name: "421 at connect", fault: smtptest.RejectConnect(), kind: SenderUnreachable, stage: StageConnect, code: 421, enhanced: "4.3.2"},
		{name: "stall at connect", fault: smtptest.StallAt(smtptest.AtConnect, 0), kind: SenderUnreachable, stage: StageConnect},
		{name: "553 at MAIL", fault: smtptest.RejectMail(), warm: true, kind: SenderFault, stage: StageMail, code: 553, enhanced: "5.7.1"},
		{name: "stall at MAIL", fault: smtptest.StallAt(smtptest.AtMail, 0), warm: true, kind: Temporary, stage: StageMail},
		{name: "451 at RCPT", fault: smtptest.TempFailRcpt(), warm: true, kind: Temporary, stage: StageRcpt, code: 451, enhanced: "4.3.0"},
		{name: "550 5.1.1 at RCPT", fault: smtptest.UnknownUser(to), warm: true, kind: RecipientRejected, stage: StageRcpt, code: 550, enhanced: "5.1.1"},
		{name: "relay denied at RCPT", fault: smtptest.Fault{Stage: smtptest.AtRcpt, Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "<john@acme.example>: Relay access denied"}, warm: true, kind: SenderFault, stage: StageRcpt, code: 554},
		{name: "stall at RCPT", fault: smtptest.StallAt(smtptest.AtRcpt, 0), warm: true, kind: Temporary, stage: StageRcpt},
		{name: "drop at the DATA command", fault: smtptest.DropBeforeData(), warm: true, kind: Temporary, stage: StageData},
		{name: "stall at the DATA command", fault: smtptest.StallAt(smtptest.BeforeData, 0), warm: true, kind: Temporary, stage: StageData},
		// Only a message bigger than the socket buffers lets the client see
		// the drop before its final "." is out.
		{name: "drop in DATA", fault: smtptest.DropInData(64 << 10), warm: true, size: 8 << 20, kind: Temporary, stage: StageData},
		{name: "554 after DATA", fault: smtptest.RejectContent(), warm: true, kind: Permanent, stage: StageData, code: 554, enhanced: "5.6.0"},
		{name: "451 after DATA", fault: smtptest.Fault{Stage: smtptest.AtDot, Code: 451, Text: "Try later"}, warm: true, kind: Temporary, stage: StageData, code: 451},
		{name: "drop after final dot", fault: smtptest.DropAfterDot(), warm: true, kind: Ambiguous, stage: StageData, received: 1},
		// A small message is all written before the drop is noticed: the
		// client cannot know whether the server got it.
		{name: "drop in DATA, small message", fault: smtptest.DropInData(10), warm: true, kind: Ambiguous, stage: StageData},
		{name: "stall after final dot", fault: smtptest.StallAt(smtptest.AtDot, 0), warm: true, kind: Ambiguous, stage: StageData, received: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.New(t, smtptest.Options{})
			cfg := testConfig(srv)
			cfg.Timeout = 300 * time.Millisecond
			cfg.FinalTimeout = 300 * time.Millisecond
			p := newTestPool(t, cfg, 1)
			if tc.warm {
				mustSend(t, p, "warmup@example.net")
			}

			srv.SetFault(tc.fault)
			err := p.Send(context.Background(), sender, to, testMessage(t, to, tc.size))
			se := sendErr(t, err)
			if se.Kind != tc.kind || se.Stage != tc.stage || se.Code != tc.code {
				t.Errorf("got kind=%s stage=%s code=%d (%v); want kind=%s stage=%s code=%d",
					se.Kind, se.Stage, se.Code, err, tc.kind, tc.stage, tc.code)
			}
			if tc.enhanced != "" && se.Enhanced != tc.enhanced {
				t.Errorf("enhanced code %q, want %q", se.Enhanced, tc.enhanced)
			}
			if Classify(err) != tc.kind {
				t.Errorf("Classify = %s, want %s", Classify(err), tc.kind)
			}
			if got := srv.Count(to); got != tc.received {
				t.Errorf("server has %d messages for %s after the failure, want %d", got, to, tc.received)
			}
			if s := p.Stats(); s.Idle != 0 {
				t.Errorf("a connection that failed is idle in the pool: %+v", s)
			}

			srv.SetFault()
			mustSend(t, p, to)
			// The failed connection (the warm one, or the one dialled for
			// the failing send) is never reused: recovery is connection 2.
			if got := srv.Connections(); got != 2 {
				t.Errorf("server saw %d connections, want 2", got)
			}
			msgs := srv.Messages()
			if last := msgs[len(msgs)-1]; last.Conn != 2 || last.To[0] != to {
				t.Errorf("recovery message arrived on connection %d, want a fresh one (2)", last.Conn)
			}
			if got := srv.Count(to); got != tc.received+1 {
				t.Errorf("server has %d messages for %s, want %d", got, to, tc.received+1)
			}
		})
	}
}

// A server that closed an idle connection (its own timeout, a restart) is
// not a failure: nothing was sent yet, so the pool redials once.
func TestPoolRedialsStaleIdleConnection(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{})
	p := newTestPool(t, testConfig(srv), 2)
	mustSend(t, p, "a@example.net")
	srv.DropConnections()
	mustSend(t, p, "b@example.net")
	if got := srv.Connections(); got != 2 {
		t.Errorf("server saw %d connections, want 2", got)
	}
	if srv.Count("b@example.net") != 1 {
		t.Error("message after the drop did not arrive")
	}
}

func TestPoolAuth(t *testing.T) {
	users := map[string]string{"maria": "correct horse"}
	for _, tc := range []struct {
		name  string
		opts  smtptest.Options
		tls   string
		user  string
		pass  string
		fault *smtptest.Fault
		kind  FailKind // 0: success
		stage string
		code  int
	}{
		{name: "PLAIN", opts: smtptest.Options{Users: users, AuthMechanisms: []string{"PLAIN"}}, user: "maria", pass: "correct horse"},
		{name: "LOGIN", opts: smtptest.Options{Users: users, AuthMechanisms: []string{"LOGIN"}}, user: "maria", pass: "correct horse"},
		{name: "PLAIN preferred", opts: smtptest.Options{Users: users, AuthMechanisms: []string{"LOGIN", "PLAIN"}}, user: "maria", pass: "correct horse"},
		{name: "STARTTLS then PLAIN", opts: smtptest.Options{Users: users, TLS: smtptest.StartTLS}, tls: "starttls", user: "maria", pass: "correct horse"},
		{name: "wrong password", opts: smtptest.Options{Users: users}, user: "maria", pass: "wrong", kind: SenderFault, stage: StageAuth, code: 535},
		{name: "wrong password LOGIN", opts: smtptest.Options{Users: users, AuthMechanisms: []string{"LOGIN"}}, user: "maria", pass: "wrong", kind: SenderFault, stage: StageAuth, code: 535},
		{name: "535 injected", opts: smtptest.Options{Users: users}, user: "maria", pass: "correct horse", fault: ptr(smtptest.FailAuth()), kind: SenderFault, stage: StageAuth, code: 535},
		{name: "no credentials but required", opts: smtptest.Options{Users: users}, kind: SenderFault, stage: StageMail, code: 502},
		{name: "credentials but no AUTH offered", opts: smtptest.Options{}, user: "maria", pass: "x", kind: SenderFault, stage: StageAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.New(t, tc.opts)
			if tc.fault != nil {
				srv.SetFault(*tc.fault)
			}
			cfg := testConfig(srv)
			cfg.Username, cfg.Password = tc.user, tc.pass
			if tc.tls != "" {
				cfg.TLS = tc.tls
			}
			p := newTestPool(t, cfg, 1)
			err := p.Send(context.Background(), sender, "john@acme.example", testMessage(t, "john@acme.example", 0))
			if tc.kind == 0 {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if m := srv.Messages(); len(m) != 1 || m[0].AuthUser != "maria" {
					t.Errorf("messages %+v, want one sent as maria", m)
				}
				return
			}
			se := sendErr(t, err)
			if se.Kind != tc.kind || se.Stage != tc.stage || se.Code != tc.code {
				t.Errorf("got %v (kind=%s stage=%s code=%d); want kind=%s stage=%s code=%d", err, se.Kind, se.Stage, se.Code, tc.kind, tc.stage, tc.code)
			}
			if strings.Contains(err.Error(), tc.pass) && tc.pass != "" {
				t.Errorf("error %q contains the password", err)
			}
			if srv.Total() != 0 {
				t.Error("a message was accepted")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestPoolTLS(t *testing.T) {
	for _, tc := range []struct {
		name     string
		server   smtptest.TLSMode
		tls      string
		noRoots  bool
		insecure bool
		kind     FailKind // 0: success over TLS
	}{
		{name: "STARTTLS", server: smtptest.StartTLS, tls: "starttls"},
		{name: "implicit TLS", server: smtptest.ImplicitTLS, tls: "tls"},
		{name: "STARTTLS untrusted certificate", server: smtptest.StartTLS, tls: "starttls", noRoots: true, kind: SenderFault},
		{name: "implicit TLS untrusted certificate", server: smtptest.ImplicitTLS, tls: "tls", noRoots: true, kind: SenderFault},
		{name: "untrusted but insecure_skip_verify", server: smtptest.ImplicitTLS, tls: "tls", noRoots: true, insecure: true},
		{name: "STARTTLS not offered", server: smtptest.NoTLS, tls: "starttls", kind: SenderFault},
		{name: "implicit TLS to a plaintext server", server: smtptest.NoTLS, tls: "tls", kind: SenderFault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.New(t, smtptest.Options{TLS: tc.server})
			cfg := testConfig(srv)
			cfg.TLS = tc.tls
			cfg.InsecureSkipVerify = tc.insecure
			if tc.noRoots {
				cfg.RootCAs = nil
			}
			p := newTestPool(t, cfg, 1)
			err := p.Send(context.Background(), sender, "john@acme.example", testMessage(t, "john@acme.example", 0))
			if tc.kind == 0 {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if m := srv.Messages(); len(m) != 1 || !m[0].TLS {
					t.Errorf("messages %+v, want one over TLS", m)
				}
				// And the connection is reused over TLS.
				mustSend(t, p, "second@acme.example")
				if srv.Connections() != 1 {
					t.Errorf("server saw %d connections, want 1", srv.Connections())
				}
				return
			}
			se := sendErr(t, err)
			if se.Kind != tc.kind || se.Stage != StageConnect {
				t.Errorf("got %v (kind=%s stage=%s), want kind=%s stage=connect", err, se.Kind, se.Stage, tc.kind)
			}
		})
	}
}

func TestPoolClosesIdleConnections(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{})
	cfg := testConfig(srv)
	cfg.IdleTimeout = 50 * time.Millisecond
	p := newTestPool(t, cfg, 2)
	mustSend(t, p, "a@example.net")
	waitFor(t, "the idle connection to close", func() bool { return srv.Active() == 0 && p.Stats().Open == 0 })
	mustSend(t, p, "b@example.net")
	if srv.Connections() != 2 {
		t.Errorf("server saw %d connections, want 2", srv.Connections())
	}
}

func TestPoolClose(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{})
	p := NewPool(testConfig(srv), 2)
	mustSend(t, p, "a@example.net")
	if srv.Active() != 1 {
		t.Fatalf("server has %d open connections, want 1", srv.Active())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the connection to close", func() bool { return srv.Active() == 0 })
	err := p.Send(context.Background(), sender, "b@example.net", testMessage(t, "b@example.net", 0))
	if !errors.Is(err, ErrPoolClosed) || Classify(err) != Temporary {
		t.Errorf("Send after Close: %v, want ErrPoolClosed", err)
	}
}

// A cancelled context cuts a stalled command although go-smtp takes none.
func TestPoolHonoursContext(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{})
	cfg := testConfig(srv)
	cfg.Timeout = time.Minute
	p := newTestPool(t, cfg, 1)
	mustSend(t, p, "warm@example.net")
	srv.SetFault(smtptest.StallAt(smtptest.AtRcpt, 0))

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Send(ctx, sender, "john@acme.example", testMessage(t, "john@acme.example", 0))
	if time.Since(start) > 30*time.Second {
		t.Errorf("Send took %v: the context did not cut it", time.Since(start))
	}
	se := sendErr(t, err)
	if se.Kind != Temporary || se.Stage != StageRcpt || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v (kind=%s stage=%s), want temporary at rcpt wrapping context.DeadlineExceeded", err, se.Kind, se.Stage)
	}
	srv.SetFault()
	mustSend(t, p, "john@acme.example")
}

// With every connection busy, Send waits for one; its context bounds the
// wait.
func TestPoolWaitsForAConnection(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{})
	p := newTestPool(t, testConfig(srv), 1)
	srv.SetFault(smtptest.StallAt(smtptest.AtRcpt, 0))
	done := make(chan error, 1)
	go func() {
		done <- p.Send(context.Background(), sender, "slow@example.net", testMessage(t, "slow@example.net", 0))
	}()
	waitFor(t, "the first send to hold the connection", func() bool { return srv.Active() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.Send(ctx, sender, "fast@example.net", testMessage(t, "fast@example.net", 0))
	if se := sendErr(t, err); se.Kind != Temporary || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want temporary wrapping context.DeadlineExceeded", err)
	}
	if srv.Connections() != 1 {
		t.Errorf("server saw %d connections, want 1 (the pool holds at most 1)", srv.Connections())
	}
	srv.SetFault()
	if err := <-done; err != nil {
		t.Errorf("stalled send: %v", err)
	}
}

func TestPoolRefusesBadEnvelope(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{})
	p := newTestPool(t, testConfig(srv), 1)
	msg := testMessage(t, "john@acme.example", 0)
	for _, tc := range []struct {
		from, to string
		kind     FailKind
	}{
		{sender, "not an address", RecipientRejected},
		{sender, "john@acme.example\r\nRCPT TO:<evil@x.com>", RecipientRejected},
		{sender, "John <john@acme.example>", RecipientRejected},
		{"maria@example.com>\r\nRCPT TO:<evil@x.com", "john@acme.example", SenderFault},
	} {
		if err := p.Send(context.Background(), tc.from, tc.to, msg); Classify(err) != tc.kind {
			t.Errorf("Send(%q, %q) = %v, want %s", tc.from, tc.to, err, tc.kind)
		}
	}
	if srv.Connections() != 0 {
		t.Errorf("server saw %d connections for invalid envelopes", srv.Connections())
	}
	bad := NewPool(SMTPConfig{Host: "127.0.0.1", Port: srv.Port(), TLS: "ssl"}, 1)
	defer bad.Close()
	if err := bad.Send(context.Background(), sender, "john@acme.example", msg); Classify(err) != SenderFault {
		t.Errorf("Send with tls: ssl = %v, want sender_fault", err)
	}
}

func TestClassify(t *testing.T) {
	if Classify(nil) != 0 {
		t.Error("Classify(nil) != 0")
	}
	if Classify(errors.New("boom")) != Temporary {
		t.Error("a plain error is not temporary")
	}
	wrapped := fmt.Errorf("sending step 3: %w", &SendError{Kind: RecipientRejected, Stage: StageRcpt, Code: 550})
	if Classify(wrapped) != RecipientRejected {
		t.Error("a wrapped SendError lost its kind")
	}
	for _, k := range []FailKind{Temporary, RecipientRejected, SenderFault, Permanent, Ambiguous, SenderUnreachable} {
		if k.String() == "none" || strings.Contains(k.String(), " ") {
			t.Errorf("kind %d has name %q", k, k)
		}
	}
}

// waitFor polls cond until it holds; the limit only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A server that cannot be reached at all is the sender's problem, never
// the prospect's. (A name that does not resolve fails the same way, as a
// *net.DNSError; not tried here, so that tests send nothing off loopback.)
func TestPoolUnreachableServerIsTheSenders(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // nothing listens there now: connections are refused

	for _, tc := range []struct {
		name string
		host string
		port int
	}{
		{"connection refused", "127.0.0.1", closedPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := SMTPConfig{Host: tc.host, Port: tc.port, TLS: "none", Timeout: 2 * time.Second, FinalTimeout: 2 * time.Second}
			p := newTestPool(t, cfg, 1)
			err := p.Send(context.Background(), sender, "john@acme.example", testMessage(t, "john@acme.example", 0))
			se := sendErr(t, err)
			if se.Kind != SenderUnreachable || se.Stage != StageConnect {
				t.Fatalf("got kind=%s stage=%s (%v), want sender_unreachable at connect", se.Kind, se.Stage, err)
			}
		})
	}
}
