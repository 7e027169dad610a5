package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/imapwatch"
	"github.com/drip-email/drip/mailer/oauth"
	"github.com/drip-email/drip/mailer/oauth/oauthtest"
	"github.com/drip-email/drip/mailer/smtptest"
)

// envDovecotOAuth is the line scripts/dovecot-oauth.sh prints.
const envDovecotOAuth = "DRIP_TEST_DOVECOT_OAUTH"

// oauthPeer is the Dovecot of scripts/dovecot-oauth.sh with the two
// servers it expects on fixed ports: the authorization server its oauth2
// passdb introspects tokens at, and the SMTP sink its submission service
// relays to. They are started once for the whole package (Dovecot knows
// only those ports) and live until the test binary ends.
type oauthPeer struct {
	imap, submission string // host:port
	user, password   string
	caFile           string
	auth             *oauthtest.Server
	sink             *smtptest.Server
}

var (
	peerOnce sync.Once
	peer     *oauthPeer
	peerErr  error
)

func dovecotOAuth(t *testing.T) *oauthPeer {
	t.Helper()
	spec := os.Getenv(envDovecotOAuth)
	if spec == "" {
		if os.Getenv("DRIP_REQUIRE_DOVECOT") == "1" {
			t.Fatalf("DRIP_REQUIRE_DOVECOT=1 but %s is not set: start one with scripts/dovecot-oauth.sh", envDovecotOAuth)
		}
		t.Skipf("%s not set: Dovecot OAuth2 test skipped (scripts/dovecot-oauth.sh starts a server)", envDovecotOAuth)
	}
	peerOnce.Do(func() {
		kv := map[string]string{}
		for _, f := range strings.Fields(spec) {
			k, v, _ := strings.Cut(f, "=")
			kv[k] = v
		}
		p := &oauthPeer{imap: kv["IMAP"], submission: kv["SUBMISSION"], user: kv["USER"], password: kv["PASSWORD"], caFile: kv["CA"]}
		if p.imap == "" || p.submission == "" || kv["AUTH"] == "" || kv["RELAY"] == "" || p.caFile == "" {
			peerErr = fmt.Errorf("%s=%q: want the line scripts/dovecot-oauth.sh prints", envDovecotOAuth, spec)
			return
		}
		if p.auth, peerErr = oauthtest.Start(oauthtest.Options{Addr: kv["AUTH"], User: p.user}); peerErr != nil {
			return
		}
		p.sink, peerErr = smtptest.Start(smtptest.Options{Addr: kv["RELAY"]})
		peer = p
	})
	if peerErr != nil {
		t.Fatal(peerErr)
	}
	return peer
}

func hostPort(t *testing.T, addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// login opens an IMAP session with the password, over STARTTLS.
func (p *oauthPeer) login(t *testing.T) *imapclient.Client {
	t.Helper()
	roots, err := mailer.LoadCAFile(p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialStartTLS(p.imap, &imapclient.Options{TLSConfig: tlsFor(roots)})
	if err != nil {
		t.Fatalf("connecting to Dovecot: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(p.user, p.password).Wait(); err != nil {
		t.Fatalf("logging in with the password: %v", err)
	}
	return c
}

// grant connects sender in st as `drip mailbox connect` would and returns
// the Source serve would build.
func (p *oauthPeer) grant(t *testing.T, st oauth.Store, sender string) *oauth.Source {
	t.Helper()
	b, err := oauth.NewBox(testSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	at, rt := p.auth.Issue(p.user)
	if err := oauth.Save(context.Background(), st, b, sender, &oauth2.Token{AccessToken: at, RefreshToken: rt, Expiry: time.Now().Add(time.Hour)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return &oauth.Source{Sender: sender, Store: st, Box: b, Config: &oauth2.Config{ClientID: "drip-test",
		Endpoint: oauth2.Endpoint{TokenURL: p.auth.TokenURL()}}}
}

// TestDovecotWatchesWithXOAUTH2AndOAUTHBEARER is acceptance 1, IMAP side:
// Dovecot checks drip's bearer token with the authorization server, and
// the watcher sees mail arrive.
func TestDovecotWatchesWithXOAUTH2AndOAUTHBEARER(t *testing.T) {
	p := dovecotOAuth(t)
	for _, mech := range []string{mailer.XOAuth2, sasl.OAuthBearer} {
		t.Run(mech, func(t *testing.T) {
			st := testrig.Open(t, testrig.SQLiteURL(t))
			src := p.grant(t, st, "maria")
			c := p.login(t)
			mailbox := fmt.Sprintf("drip-oauth-%d", time.Now().UnixNano())
			if err := c.Create(mailbox, nil).Wait(); err != nil {
				t.Fatal(err)
			}
			roots, _ := mailer.LoadCAFile(p.caFile)
			host, port := hostPort(t, p.imap)
			handled := make(chan imapwatch.Handled, 4)
			_, _, before := p.auth.Counts()
			w, err := imapwatch.New(imapwatch.Config{Sender: "maria", Own: []string{"maria@example.com"},
				Host: host, Port: port, TLS: "starttls", RootCAs: roots, Username: p.user, Token: src, OAuthMechanism: mech,
				Mailbox: mailbox, Owner: "test", Poll: time.Minute,
				OnHandled: func(h imapwatch.Handled) { handled <- h }}, st)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = w.Run(ctx) }()
			defer func() { cancel(); <-done }()
			testrig.WaitFor(t, "the watcher signed in with "+mech, w.Connected)
			if _, _, after := p.auth.Counts(); after == before {
				t.Fatal("Dovecot never asked the authorization server about the token")
			}
			msg := "From: Someone <someone@example.org>\r\nTo: maria@example.com\r\nSubject: hello\r\nMessage-Id: <x" + mech + "@example.org>\r\n\r\nhi\r\n"
			ap := c.Append(mailbox, int64(len(msg)), nil)
			_, _ = ap.Write([]byte(msg))
			_ = ap.Close()
			if _, err := ap.Wait(); err != nil {
				t.Fatal(err)
			}
			select {
			case h := <-handled:
				if h.Kind != imapwatch.KindUnmatched {
					t.Errorf("handled as %s", h.Kind)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the watcher did not see the new message")
			}
		})
	}
}

// TestDovecotSubmissionXOAUTH2AndRevocation is acceptance 1, SMTP side,
// and 2's revocation: drip sends through Dovecot's submission service with
// XOAUTH2; once the grant is revoked the same pool answers a sender fault
// wrapping ErrReauthNeeded (nothing sent, the gauge up); a new connect lets
// it send again, without a new pool.
func TestDovecotSubmissionXOAUTH2AndRevocation(t *testing.T) {
	p := dovecotOAuth(t)
	st := testrig.Open(t, testrig.SQLiteURL(t))
	src := p.grant(t, st, "maria")
	var reauth []bool
	var mu sync.Mutex
	src.OnReauth = func(on bool) { mu.Lock(); reauth = append(reauth, on); mu.Unlock() }
	roots, _ := mailer.LoadCAFile(p.caFile)
	host, port := hostPort(t, p.submission)
	pool := mailer.NewPool(mailer.SMTPConfig{Host: host, Port: port, TLS: "starttls", RootCAs: roots,
		Username: p.user, Token: src, Timeout: 10 * time.Second, IdleTimeout: time.Millisecond}, 1)
	defer pool.Close()
	send := func(to string) error {
		msg := "From: maria@example.com\r\nTo: " + to + "\r\nSubject: t\r\nMessage-Id: <" + to + ">\r\n\r\nhello\r\n"
		return pool.Send(context.Background(), "maria@example.com", to, []byte(msg))
	}
	before := p.sink.Total()
	if err := send("first@example.org"); err != nil {
		t.Fatalf("sending through Dovecot submission with XOAUTH2: %v", err)
	}
	testrig.WaitFor(t, "the relayed message at the sink", func() bool { return p.sink.Count("first@example.org") == 1 })

	p.auth.Revoke(p.user)
	time.Sleep(5 * time.Millisecond) // the idle connection is reaped
	err := send("second@example.org")
	var se *mailer.SendError
	if !errors.As(err, &se) || se.Kind != mailer.SenderFault || se.Stage != mailer.StageAuth || !errors.Is(err, mailer.ErrReauthNeeded) {
		t.Fatalf("after revocation: %v, want a sender fault at auth wrapping ErrReauthNeeded", err)
	}
	if p.sink.Count("second@example.org") != 0 {
		t.Fatal("a message went out with a revoked grant")
	}
	p.grant(t, st, "maria") // drip mailbox connect, while the pool lives on
	if err := send("third@example.org"); err != nil {
		t.Fatalf("after a new connect: %v", err)
	}
	testrig.WaitFor(t, "the message after reconnecting", func() bool { return p.sink.Total() == before+2 })
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(reauth) != "[true false]" {
		t.Errorf("re-authorisation states %v, want [true false]", reauth)
	}
}

var _ = imap.CapIdle

func tlsFor(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
