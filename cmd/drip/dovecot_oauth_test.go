package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/imapwatch"
	"github.com/drip-email/drip/mailer/oauth"
	"github.com/drip-email/drip/mailer/oauth/oauthtest"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
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
func (p *oauthPeer) grant(t *testing.T, st store.Store, sender string) *oauth.Source {
	t.Helper()
	b, err := oauth.NewBox(testSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	at, rt := p.auth.Issue(p.user)
	if err := oauth.Save(context.Background(), daemon.Grants(st), b, sender, &oauth2.Token{AccessToken: at, RefreshToken: rt, Expiry: time.Now().Add(time.Hour)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return &oauth.Source{Sender: sender, Store: daemon.Grants(st), Box: b, Config: &oauth2.Config{ClientID: "drip-test",
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
				OnHandled: func(h imapwatch.Handled) { handled <- h }}, &sequencer.InboundHandler{Store: st})
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

func tlsFor(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// writeSenderConfig writes a configuration whose one sender, maria, is
// senderYAML (indented under "  - name: maria"), and returns its path.
func writeSenderConfig(t *testing.T, dbURL, senderYAML string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"sequences", "templates/booth"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"drip.yaml": fmt.Sprintf(`database_url: %q
http: { listen: "127.0.0.1:0", api_token: "t0ken-t0ken-t0ken-t0ken-t0ken", public_url: "https://drip.example.com" }
sequences_dir: %q
templates_dir: %q
engine: { poll: 100ms, smtp_timeout: 5s, reconnect_limit: 1s, metrics_refresh: 100ms }
senders:
  - name: maria
    from: "Maria Rossi <maria@example.com>"
%s`, dbURL, filepath.Join(dir, "sequences"), filepath.Join(dir, "templates"), senderYAML),
		"sequences/booth.yaml":   "name: booth\nsteps: 2\ninterval: 3s\nfirst_step_after: 0\ntimezone: Europe/Rome\n",
		"templates/booth/01.txt": "Subject: Nice to meet you\n\nHello {{.Prospect.FirstName}}\n",
		"templates/booth/02.txt": "Subject: Following up\n\nHello again {{.Prospect.FirstName}}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "drip.yaml")
}

// passwordSender is maria on the Dovecot peer with a password.
func (p *oauthPeer) passwordSender(smtpPort int, password, caFile, saveSent string) string {
	ca := ""
	if caFile != "" {
		ca = ", ca_file: " + caFile
	}
	_, ip, _ := strings.Cut(p.imap, ":")

	return fmt.Sprintf(`    smtp: { host: 127.0.0.1, port: %d, tls: starttls, username: %s, password: %q%s }
    imap: { host: 127.0.0.1, port: %s, tls: starttls, username: %s, password: %q%s, save_sent: %s }
`, smtpPort, p.user, password, ca, ip, p.user, password, ca, saveSent)
}

func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func runCLI(config string, args ...string) (string, string, int) {
	var out, errOut strings.Builder
	code := run(append([]string{args[0], "-c", config}, args[1:]...), &out, &errOut)
	return out.String(), errOut.String(), code
}

// failLines are the report's FAIL lines.
func failLines(out string) []string {
	var fails []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "FAIL") {
			fails = append(fails, l)
		}
	}
	return fails
}

// TestDovecotMailboxTest is acceptance 5.
func TestDovecotMailboxTest(t *testing.T) {
	p := dovecotOAuth(t)
	_, subPort := hostPort(t, p.submission)

	t.Run("passes", func(t *testing.T) {
		cfg := writeSenderConfig(t, testrig.SQLiteURL(t), p.passwordSender(subPort, p.password, p.caFile, "auto"))
		to := fmt.Sprintf("check-%d@example.org", time.Now().UnixNano())
		out, errOut, code := runCLI(cfg, "mailbox", "test", "maria", "--send-to", to)
		if code != 0 {
			t.Fatalf("exit %d:\n%s%s", code, out, errOut)
		}
		for _, want := range []string{"ok    smtp connect", "ok    smtp tls         STARTTLS, certificate trusted", "ok    smtp auth        PLAIN as drip",
			"ok    smtp send", "ok    imap login", "ok    imap mailbox     INBOX", "ok    imap idle        IDLE works", "ok    imap sent folder copies go to Sent (\\Sent)", "all checks passed"} {
			if !strings.Contains(out, want) {
				t.Errorf("no line %q in:\n%s", want, out)
			}
		}
		testrig.WaitFor(t, "the test message at the relay sink", func() bool { return p.sink.Count(to) == 1 })
		if strings.Contains(out+errOut, p.password) {
			t.Error("the report shows the password")
		}
	})

	cases := []struct {
		name, sender string
		want         []string // the FAIL lines, as prefixes
	}{
		{"wrong password", p.passwordSender(subPort, "wrong-"+p.password, p.caFile, "auto"), []string{
			"FAIL  smtp auth        password refused for drip: ",
			"FAIL  imap login       password refused for drip: ",
		}},
		{"wrong port", p.passwordSender(closedPort(t), p.password, p.caFile, "auto"), []string{
			"FAIL  smtp connect     127.0.0.1:",
		}},
		{"untrusted certificate", p.passwordSender(subPort, p.password, "", "auto"), []string{
			"FAIL  smtp tls         STARTTLS: certificate not trusted (signed by an unknown authority) — if the server uses a private CA, set smtp.ca_file",
			"FAIL  imap tls         STARTTLS: certificate not trusted (signed by an unknown authority) — if the server uses a private CA, set imap.ca_file",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeSenderConfig(t, testrig.SQLiteURL(t), c.sender)
			out, errOut, code := runCLI(cfg, "mailbox", "test", "maria")
			if code != 1 || !strings.Contains(errOut, fmt.Sprintf("%d check(s) failed", len(c.want))) {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			fails := failLines(out)
			if len(fails) != len(c.want) {
				t.Fatalf("FAIL lines:\n%s\nwant %d", strings.Join(fails, "\n"), len(c.want))
			}
			for i, w := range c.want {
				if !strings.HasPrefix(fails[i], w) || !strings.Contains(fails[i], " — ") {
					t.Errorf("line %q\nwant it to start with %q and say what to do", fails[i], w)
				}
			}
			if strings.Contains(out+errOut, p.password) {
				t.Error("the report shows the password")
			}
			t.Logf("%s", strings.Join(fails, "\n"))
		})
	}

	t.Run("oauth2", func(t *testing.T) {
		t.Setenv("DRIP_SECRET_KEY", testSecretKey)
		dbURL := testrig.SQLiteURL(t)
		st := testrig.Open(t, dbURL)
		p.grant(t, st, "maria")
		_, ip, _ := strings.Cut(p.imap, ":")
		cfg := writeSenderConfig(t, dbURL, fmt.Sprintf(`    auth: oauth2
    oauth2: { client_id: drip-test, token_url: %q, auth_url: %q }
    smtp: { host: 127.0.0.1, port: %d, tls: starttls, username: %s, ca_file: %s }
    imap: { host: 127.0.0.1, port: %s, tls: starttls, username: %s, ca_file: %s }
`, p.auth.TokenURL(), p.auth.AuthURL(), subPort, p.user, p.caFile, ip, p.user, p.caFile))
		out, errOut, code := runCLI(cfg, "mailbox", "test", "maria")
		if code != 0 || !strings.Contains(out, "ok    smtp auth        XOAUTH2 as drip") || !strings.Contains(out, "ok    imap login       XOAUTH2 as drip") {
			t.Fatalf("exit %d:\n%s%s", code, out, errOut)
		}
		for _, tok := range p.auth.Issued() {
			if strings.Contains(out+errOut, tok) {
				t.Fatal("the report shows a token")
			}
		}
	})
}

// sentCopies counts, in Dovecot's Sent folder, the copies of each
// Message-ID, and whether every one of them is \Seen.
func (p *oauthPeer) sentCopies(t *testing.T) (count map[string]int, unseen map[string]bool) {
	t.Helper()
	c := p.login(t)
	defer c.Close()
	sel, err := c.Select("Sent", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	count, unseen = map[string]int{}, map[string]bool{}
	if sel.NumMessages == 0 {
		return count, unseen
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		id := "<" + m.Envelope.MessageID + ">"
		count[id]++
		seen := false
		for _, f := range m.Flags {
			seen = seen || f == imap.FlagSeen
		}
		if !seen {
			unseen[id] = true
		}
	}
	return count, unseen
}

// TestDovecotSaveSent is acceptance 6: with save_sent auto every delivered
// step is in Sent once, \Seen, and the watcher (watching Sent itself here,
// the worst case) takes none of the copies for a reply; with off nothing
// is appended.
func TestDovecotSaveSent(t *testing.T) {
	p := dovecotOAuth(t)
	_, subPort := hostPort(t, p.submission)
	_, imapPort, _ := strings.Cut(p.imap, ":")
	for _, mode := range []string{"auto", "off"} {
		t.Run(mode, func(t *testing.T) {
			dbURL := testrig.SQLiteURL(t)
			path := writeSenderConfig(t, dbURL, fmt.Sprintf(`    smtp: { host: 127.0.0.1, port: %d, tls: starttls, username: %s, password: %q, ca_file: %s }
    imap: { host: 127.0.0.1, port: %s, tls: starttls, username: %s, password: %q, ca_file: %s, mailbox: Sent, save_sent: %s, poll: 1s }
`, subPort, p.user, p.password, p.caFile, imapPort, p.user, p.password, p.caFile, mode))
			run := time.Now().UnixNano()
			var emails []string
			for i := range 3 {
				e := fmt.Sprintf("copy-%d-%d@example.org", run, i)
				emails = append(emails, e)
				if out, errOut, code := runCLI(path, "enroll", "--sequence", "booth", "--email", e, "--first-name", "Ann"); code != 0 {
					t.Fatalf("enroll: %s%s", out, errOut)
				}
			}
			cfg, err := configs.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			logs := &syncBuffer{}
			g := &globals{config: path, logFormat: "text", logLevel: "debug", stdout: io.Discard, stderr: logs}
			log, _ := newLogger(g)
			var mu sync.Mutex
			var own, replies int
			ready := make(chan string, 1)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- runDaemon(ctx, cfg, log, func(a string) { ready <- a }, func(h imapwatch.Handled) {
					mu.Lock()
					defer mu.Unlock()
					switch h.Kind {
					case imapwatch.KindOwn:
						own++
					case imapwatch.KindReply, imapwatch.KindAutoReply, imapwatch.KindUnsubscribe, imapwatch.KindBounce:
						replies++
					}
				})
			}()
			var addr string
			select {
			case addr = <-ready:
			case err := <-done:
				t.Fatalf("serve: %v\n%s", err, logs.String())
			}
			defer func() { cancel(); <-done }()

			ids := map[string]bool{}
			testrig.WaitFor(t, "both steps delivered to all three", func() bool {
				for _, m := range p.sink.Messages() {
					for _, e := range emails {
						if len(m.To) == 1 && m.To[0] == e {
							ids[m.MessageID] = true
						}
					}
				}
				return len(ids) == 6
			})
			if mode == "auto" {
				testrig.WaitFor(t, "the six copies in Sent", func() bool {
					count, _ := p.sentCopies(t)
					n := 0
					for id := range ids {
						n += count[id]
					}
					return n >= 6
				})
				testrig.WaitFor(t, "the watcher saw the copies", func() bool { mu.Lock(); defer mu.Unlock(); return own >= 6 })
			} else {
				time.Sleep(2 * time.Second) // room for a copy that should not come
			}
			count, unseen := p.sentCopies(t)
			for id := range ids {
				want := map[string]int{"auto": 1, "off": 0}[mode]
				if count[id] != want {
					t.Errorf("%s is %d times in Sent, want %d", id, count[id], want)
				}
				if unseen[id] {
					t.Errorf("the copy of %s is not \\Seen", id)
				}
			}
			st := testrig.Open(t, dbURL)
			counts, err := st.EnrollmentCounts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			gotReplies := replies
			mu.Unlock()
			if counts["booth"][store.StateReplied] != 0 || counts["booth"][store.StatePaused] != 0 || gotReplies != 0 {
				t.Errorf("copies paused someone: states %v, %d replies", counts["booth"], gotReplies)
			}
			resp, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantSaved := map[string]string{"auto": "6", "off": ""}[mode]
			line := `drip_sent_copies_total{result="saved",sender="maria"} ` + wantSaved
			if wantSaved != "" && !strings.Contains(string(body), line) {
				t.Errorf("/metrics has no %q", line)
			}
			if wantSaved == "" && strings.Contains(string(body), "drip_sent_copies_total{") {
				t.Errorf("save_sent off, yet /metrics counts copies")
			}
			if strings.Contains(logs.String(), p.password) || strings.Contains(string(body), p.password) {
				t.Error("the password is in the log or /metrics")
			}
		})
	}
}

// metricValue reads one sample of /metrics, "" when absent.
func metricValue(t *testing.T, addr, series string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestDovecotRevokedGrantHoldsThenConnectResumes is acceptance 2 on a
// running engine, and 4's grep: a grant revoked at the provider holds the
// sender (its prospect's step waits, nobody fails), the gauge and the log
// say what to run, and `drip mailbox connect` (device flow) lets the same
// process send again. No token, client secret or DRIP_SECRET_KEY appears
// in the log, /metrics or any command's output.
func TestDovecotRevokedGrantHoldsThenConnectResumes(t *testing.T) {
	p := dovecotOAuth(t)
	t.Setenv("DRIP_SECRET_KEY", testSecretKey)
	const clientSecret = "cs-do-not-print-me-0123456789"
	_, subPort := hostPort(t, p.submission)
	_, imapPort, _ := strings.Cut(p.imap, ":")
	dbURL := testrig.SQLiteURL(t)
	st := testrig.Open(t, dbURL)
	p.grant(t, st, "maria")
	p.auth.Revoke(p.user) // revoked before the engine ever used it

	path := writeSenderConfig(t, dbURL, fmt.Sprintf(`    auth: oauth2
    oauth2: { client_id: drip-test, client_secret: %q, token_url: %q, device_url: %q }
    smtp: { host: 127.0.0.1, port: %d, tls: starttls, username: %s, ca_file: %s }
    imap: { host: 127.0.0.1, port: %s, tls: starttls, username: %s, ca_file: %s, save_sent: off, poll: 1s }
`, clientSecret, p.auth.TokenURL(), p.auth.DeviceURL(), subPort, p.user, p.caFile, imapPort, p.user, p.caFile))
	// Short holds, so the test sees the engine try again soon.
	raw, _ := os.ReadFile(path)
	raw = []byte(strings.Replace(string(raw), "engine: { poll: 100ms,", "engine: { poll: 100ms, retry_base: 500ms, retry_max_delay: 1s,", 1))
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	email := fmt.Sprintf("held-%d@example.org", time.Now().UnixNano())
	var outputs []string
	o, e, code := runCLI(path, "enroll", "--sequence", "booth", "--email", email, "--first-name", "Ann")
	outputs = append(outputs, o, e)
	if code != 0 {
		t.Fatalf("enroll: %s%s", o, e)
	}
	cfg, err := configs.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	g := &globals{config: path, logFormat: "text", logLevel: "debug", stdout: io.Discard, stderr: logs}
	log, _ := newLogger(g)
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, cfg, log, func(a string) { ready <- a }, nil) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	defer func() { cancel(); <-done }()

	testrig.WaitFor(t, "drip_sender_reauth_needed 1", func() bool {
		return metricValue(t, addr, `drip_sender_reauth_needed{sender="maria"}`) == "1"
	})
	testrig.WaitFor(t, "the log line saying what to run", func() bool {
		return strings.Contains(logs.String(), "run `drip mailbox connect maria`")
	})
	time.Sleep(2 * time.Second) // the step is tried again (and held again) meanwhile
	if n := p.sink.Count(email); n != 0 {
		t.Fatalf("%d message(s) went out with a revoked grant", n)
	}
	counts, err := st.EnrollmentCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts["booth"][store.StateActive] != 1 {
		t.Fatalf("while held: %v, want the enrollment still active", counts["booth"])
	}
	if o, e, _ := runCLI(path, "status"); !strings.Contains(o, "sender maria needs re-authorisation") {
		t.Errorf("drip status while held:\n%s%s", o, e)
	}
	if v := metricValue(t, addr, `drip_imap_connected{sender="maria"}`); v != "0" {
		t.Errorf("drip_imap_connected = %q while re-authorisation is needed", v)
	}

	// drip mailbox connect, by device code, while serve runs.
	env := &oauthEnv{t: t, config: path}
	out, errOut, wait := env.start("mailbox", "connect", "maria")
	code2 := out.waitMatch(t, regexp.MustCompile(`enter the code ([0-9A-F]{4}-[0-9A-F]{4})`))
	if !p.auth.ApproveDevice(code2) {
		t.Fatal("unknown device code")
	}
	if status := wait(); status != 0 {
		t.Fatalf("connect: exit %d\n%s%s", status, out.String(), errOut.String())
	}
	outputs = append(outputs, out.String(), errOut.String())

	testrig.WaitFor(t, "step 1 delivered after the new connect", func() bool { return p.sink.Count(email) >= 1 })
	testrig.WaitFor(t, "drip_sender_reauth_needed back to 0", func() bool {
		return metricValue(t, addr, `drip_sender_reauth_needed{sender="maria"}`) == "0"
	})
	testrig.WaitFor(t, "the watcher signed in again", func() bool {
		return metricValue(t, addr, `drip_imap_connected{sender="maria"}`) == "1"
	})
	counts, _ = st.EnrollmentCounts(context.Background())
	if counts["booth"][store.StateFailed] != 0 || counts["booth"][store.StateBounced] != 0 {
		t.Fatalf("after resuming: %v", counts["booth"])
	}

	// Acceptance 4: no secret anywhere a user or a scraper sees.
	o, e, _ = runCLI(path, "status", email)
	outputs = append(outputs, o, e, scrape(t, addr), logs.String())
	all := strings.Join(outputs, "\n")
	secrets := append([]string{clientSecret, testSecretKey}, p.auth.Issued()...)
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("a secret (%.6s…) is in the log, /metrics or a command's output", s)
		}
	}
	db, err := os.ReadFile(strings.TrimPrefix(dbURL, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(strings.TrimPrefix(dbURL, "sqlite:") + "-wal")
	for _, s := range secrets {
		if bytes.Contains(db, []byte(s)) || bytes.Contains(wal, []byte(s)) {
			t.Errorf("a secret (%.6s…) is readable in the database file", s)
		}
	}
}

// runDaemon is drip serve in-process: the shared constructor, run until
// ctx ends; ready gets the HTTP address once it listens.
func runDaemon(ctx context.Context, cfg *configs.Config, log *slog.Logger, ready func(string), onInbound func(imapwatch.Handled)) error {
	var d *daemon.Daemon
	var err error
	d, err = daemon.New(ctx, daemon.Options{Config: cfg, Log: log, OnInbound: onInbound,
		OnReady: func() { ready(d.Addr()) }})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}
