package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/storeopen"
)

// setHTTP rewrites the cliEnv's http line.
func (e *cliEnv) setHTTP(listen, token, extra string) {
	e.t.Helper()
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	line := fmt.Sprintf(`http: { listen: %q, api_token: %q, public_url: "https://drip.example.com"%s }`, listen, token, extra)
	out := regexp.MustCompile(`(?m)^http: .*$`).ReplaceAllLiteralString(string(cfg), line)
	if out == string(cfg) {
		e.t.Fatal("cliEnv's http line not found")
	}
	e.write("drip.yaml", []byte(out))
}

// TestWeakTokenRefusedOffLoopback: check lists, and serve refuses with exit
// status 2 and one line, an empty, placeholder or short token when the API
// listens beyond this machine; on loopback all three are fine.
func TestWeakTokenRefusedOffLoopback(t *testing.T) {
	for _, tok := range []string{"change-me", "", "short-but-not-24-chars"} {
		t.Run(fmt.Sprintf("token %q", tok), func(t *testing.T) {
			e := newCLIEnv(t, testrig.SQLiteURL(t))
			writeBoothTemplates(e)
			e.setHTTP("0.0.0.0:0", tok, "")
			_, errOut, code := e.drip("check")
			if code != 1 || !strings.Contains(errOut, "http.api_token") || !strings.Contains(errOut, "0.0.0.0:0") {
				t.Fatalf("check: exit %d, stderr %q; want 1 naming http.api_token and the listen address", code, errOut)
			}
			_, errOut, code = e.drip("serve")
			if code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "http.api_token") {
				t.Fatalf("serve: exit %d, stderr %q; want 2 with one line naming http.api_token", code, errOut)
			}
			e.setHTTP("127.0.0.1:0", tok, "")
			if out, errOut, code := e.drip("check"); code != 0 {
				t.Fatalf("check on loopback: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	writeBoothTemplates(e)
	e.setHTTP("0.0.0.0:0", "Zq3vN8r1Lk0pW5sT7yB2mX9cQ4", "")
	if out, errOut, code := e.drip("check"); code != 0 {
		t.Fatalf("check with a strong token off loopback: exit %d\n%s%s", code, out, errOut)
	}
	e.setHTTP("0.0.0.0:0", "Zq3vN8r1Lk0pW5sT7yB2mX9cQ4", `, unsubscribe_secret: "change-me"`)
	if _, errOut, code := e.drip("check"); code != 1 || !strings.Contains(errOut, "http.unsubscribe_secret") {
		t.Fatalf("check with a weak unsubscribe_secret off loopback: exit %d, stderr %q", code, errOut)
	}
}

// serveInProcess runs `drip serve` on the cliEnv's config until the test
// ends and returns its base URL and store.
func (e *cliEnv) serveInProcess() (string, store.Store) {
	e.t.Helper()
	cfg, err := configs.Load(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		var d *daemon.Daemon
		d, err := daemon.New(ctx, daemon.Options{Config: cfg, Log: slog.New(slog.DiscardHandler),
			OnReady: func() { addr <- d.Addr() }})
		if err != nil {
			done <- err
			return
		}
		done <- d.Run(ctx)
	}()
	e.t.Cleanup(func() { cancel(); <-done })
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		e.t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		e.t.Fatal("serve did not start")
	}
	st, _, _, err := storeopen.Open(context.Background(), e.dbURL)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return base, st
}

func postOneClick(t *testing.T, base, token string) int {
	t.Helper()
	resp, err := http.Post(base+"/u/"+token, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestUnsubscribeLinksCannotBeComputedFromDefaults is issue 18's first
// acceptance test: with the shipped config (api_token "change-me", no
// unsubscribe_secret), every token anybody can compute from it and from
// public defaults, for prospect ids 1..N, is refused and suppresses
// nobody; the links drip really sends work.
func TestUnsubscribeLinksCannotBeComputedFromDefaults(t *testing.T) {
	const n = 30
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	writeBoothTemplates(e)
	e.setHTTP("127.0.0.1:0", "change-me", "")
	var lines []string
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf("p%02d@example.com", i))
	}
	e.write("list.csv", []byte("email\n"+strings.Join(lines, "\n")+"\n"))
	e.mustDrip("import", "--sequence", "trade-fair", e.dir+"/list.csv")
	base, st := e.serveInProcess()

	var guesses []*mailer.Unsubscriber
	for _, secret := range []string{
		daemon.LegacyUnsubscribeSecret("change-me"), "change-me", daemon.LegacyUnsubscribeSecret(""),
		"drip unsubscribe links", "unsubscribe", "secret",
	} {
		u, err := mailer.NewUnsubscriber(secret)
		if err != nil {
			t.Fatal(err)
		}
		guesses = append(guesses, u)
	}
	for _, u := range guesses {
		for id := int64(1); id <= n+5; id++ {
			if code := postOneClick(t, base, u.Token(id)); code != http.StatusNotFound {
				t.Fatalf("computed token for prospect %d: status %d, want 404", id, code)
			}
		}
	}
	ctx := context.Background()
	for _, email := range lines {
		if sup, err := st.Suppressed(ctx, email); err != nil || sup {
			t.Fatalf("%s suppressed by a computed link (%v)", email, err)
		}
	}

	// The links drip sends are keyed by the store's random key.
	key, err := st.SecretEnsure(ctx, daemon.UnsubscribeSecretName, "not this one")
	if err != nil || len(key) < 32 {
		t.Fatalf("store key %q, %v: want a random key of 32+ characters", key, err)
	}
	real, _ := mailer.NewUnsubscriber(key)
	p, err := st.ProspectGetByEmail(ctx, lines[0])
	if err != nil {
		t.Fatal(err)
	}
	if code := postOneClick(t, base, real.Token(p.ID)); code != http.StatusOK {
		t.Fatalf("a real link: status %d, want 200", code)
	}
	if sup, _ := st.Suppressed(ctx, lines[0]); !sup {
		t.Fatal("a real link did not unsubscribe")
	}
}

// TestLinksSentUnderTheDerivedKeyStillWork: links sent before drip kept
// its own key were keyed by a derivation of the API token; they keep
// working when that token is strong, and new links use the store's key.
func TestLinksSentUnderTheDerivedKeyStillWork(t *testing.T) {
	const strong = "Zq3vN8r1Lk0pW5sT7yB2mX9cQ4"
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	writeBoothTemplates(e)
	e.setHTTP("127.0.0.1:0", strong, "")
	e.write("list.csv", []byte("email\nold@example.com\n"))
	e.mustDrip("import", "--sequence", "trade-fair", e.dir+"/list.csv")
	base, st := e.serveInProcess()
	p, err := st.ProspectGetByEmail(context.Background(), "old@example.com")
	if err != nil {
		t.Fatal(err)
	}
	old, _ := mailer.NewUnsubscriber(daemon.LegacyUnsubscribeSecret(strong))
	if code := postOneClick(t, base, old.Token(p.ID)); code != http.StatusOK {
		t.Fatalf("a link sent under the derived key: status %d, want 200", code)
	}
	if sup, _ := st.Suppressed(context.Background(), "old@example.com"); !sup {
		t.Fatal("an old link did not unsubscribe")
	}
}

// TestCheckEndsOnSignal: a check stuck in slow renders ends as soon as its
// context does (SIGTERM, Ctrl-C), not after every render's budget.
func TestCheckEndsOnSignal(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	writeBoothTemplates(e)
	var fields []string
	for i := range 400 {
		fields = append(fields, fmt.Sprintf("f%03d", i))
	}
	e.write("sequences/slow.yaml", []byte("name: slow\nsteps: 3\ninterval: 7d\nfirst_step_after: 1d\nfields: ["+strings.Join(fields, ", ")+"]\n"))
	if err := os.MkdirAll(e.dir+"/templates/slow", 0o755); err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= 3; k++ {
		e.write(fmt.Sprintf("templates/slow/%02d.txt", k), []byte("Subject: s\n\nx{{range $.Prospect.Fields}}{{range $.Prospect.Fields}}{{range $.Prospect.Fields}}{{end}}{{end}}{{end}}\n"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	err := runCheck(ctx, &globals{config: e.config, stdout: io.Discard, stderr: io.Discard}, false)
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Fatalf("check ended %s after it started, %s after the signal", el, el-300*time.Millisecond)
	}
	if err == nil {
		t.Fatal("an interrupted check succeeded")
	}
}

// TestYear9999Refused by `drip enroll` and `drip import`, with the reason.
func TestYear9999Refused(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	_, errOut, code := e.drip("enroll", "--sequence", "trade-fair", "--email", "far@example.com", "--first-contact", "9999-12-31")
	if code == 0 || !strings.Contains(errOut, "year 9999 is outside 1900..2200") {
		t.Fatalf("enroll 9999-12-31: exit %d, stderr %q", code, errOut)
	}
	e.write("far.csv", []byte("email,first_contact\nfar@example.com,9999-12-31\nnear@example.com,2026-11-20\n"))
	out, errOut, code := e.drip("import", "--sequence", "trade-fair", e.dir+"/far.csv")
	if code != 1 || !strings.Contains(out+errOut, "year 9999 is outside 1900..2200") || !strings.Contains(out, "imported=1") {
		t.Fatalf("import with a 9999 row: exit %d\n%s%s", code, out, errOut)
	}
}

// TestServeReloadOfLoopingTemplateThenTerm: a template edited to loop for
// ever under a running `drip serve` is refused at reload (the previous
// one stays), and SIGTERM then ends the process promptly, exit 0.
func TestServeReloadOfLoopingTemplateThenTerm(t *testing.T) {
	sink := smtptest.New(t, smtptest.Options{})
	e := newProcEnv(t, sink, procSetup{dbURL: "sqlite:" + t.TempDir() + "/drip.db", workers: 2, steps: 2, interval: "1d"})
	c := e.serve("looping")
	looping := filepath.Join(e.dir, "templates", procSequence, "02.txt")
	if err := os.WriteFile(looping, []byte("Subject: s\n\nx{{range 100000000000}}{{end}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	e.waitFor(30*time.Second, "the reload to refuse the looping template", func() (bool, string) {
		return c.log.contains("do not check"), "no refusal in the log"
	})
	if took := e.term(c); took > 5*time.Second {
		t.Fatalf("SIGTERM after the refused reload took %s", took)
	}
}

// TestStatusStripsControlCharacters: data stored with escape sequences (by
// an older drip, or another door) never reaches the terminal raw.
func TestStatusStripsControlCharacters(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "esc@example.com", "--first-name", "Anna")
	st, _, _, err := storeopen.Open(context.Background(), e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.ProspectGetByEmail(context.Background(), "esc@example.com")
	if err != nil {
		t.Fatal(err)
	}
	p.FirstName, p.Company = "\x1b]0;pwned\x07Anna\x1b[2J", "Evil\u202eCorp\x9b31m"
	if _, err := st.ProspectUpsert(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	if err := st.EventAdd(context.Background(), store.Event{ProspectID: p.ID, Kind: store.EventReply, Detail: "hi\x1b[31m red\r fake line", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	out := e.mustDrip("status", "esc@example.com") + e.mustDrip("status")
	for _, bad := range []string{"\x1b", "\x07", "\r", "\u202e", "\x9b"} {
		if strings.Contains(out, bad) {
			t.Fatalf("drip status printed %q raw:\n%q", bad, out)
		}
	}
	if !strings.Contains(out, "Anna") {
		t.Fatalf("the name is gone altogether:\n%s", out)
	}
}

// TestControlCharactersRefusedAtTheDoor: drip enroll and drip import
// refuse ESC like CR/LF.
func TestControlCharactersRefusedAtTheDoor(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	_, errOut, code := e.drip("enroll", "--sequence", "trade-fair", "--email", "esc@example.com", "--first-name", "\x1b[31mAnna")
	if code == 0 || !strings.Contains(errOut, "control character U+001B") {
		t.Fatalf("enroll with ESC in a name: exit %d, stderr %q", code, errOut)
	}
	e.write("esc.csv", []byte("email,company\nesc@example.com,\"Evil\x1b[2JCorp\"\nok@example.com,Fine\n"))
	out, errOut, code := e.drip("import", "--sequence", "trade-fair", e.dir+"/esc.csv")
	if code != 1 || !strings.Contains(errOut, "control character U+001B in field company") || !strings.Contains(out, "imported=1") {
		t.Fatalf("import with ESC in a cell: exit %d\n%s%s", code, out, errOut)
	}
}

// TestUnsuppressCommand: a reason is required; the suppression is lifted
// and the enrollment comes back paused, the timeline says why.
func TestUnsuppressCommand(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "w@example.com")
	e.mustDrip("unsubscribe", "w@example.com")
	if _, errOut, code := e.drip("unsuppress", "w@example.com"); code != 2 || !strings.Contains(errOut, "--reason is required") {
		t.Fatalf("without --reason: exit %d, %q", code, errOut)
	}
	out := e.mustDrip("unsuppress", "w@example.com", "--reason", "forged bounce")
	if !strings.Contains(out, "1 enrollment(s) paused") {
		t.Fatalf("unsuppress output %q", out)
	}
	status := e.mustDrip("status", "w@example.com")
	if !strings.Contains(status, "unsuppressed") || !strings.Contains(status, "forged bounce") || !strings.Contains(status, "paused") {
		t.Fatalf("status after unsuppress:\n%s", status)
	}
	e.mustDrip("resume", "w@example.com")
	if _, errOut, code := e.drip("unsuppress", "w@example.com", "--reason", "again"); code != 1 || !strings.Contains(errOut, "is not suppressed") {
		t.Fatalf("unsuppress of an address not suppressed: exit %d, %q", code, errOut)
	}
}

// TestUserCommands: add (password from stdin, hashed), passwd, remove.
func TestUserCommands(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	withStdin := func(s string) func() {
		old := stdin
		stdin = strings.NewReader(s)
		return func() { stdin = old }
	}
	defer withStdin("a long enough password\n")()
	if _, errOut, code := e.drip("user", "add", "giulia", "--role", "rep"); code != 2 || !strings.Contains(errOut, "at least one --sender") {
		t.Fatalf("rep without sender: exit %d, %q", code, errOut)
	}
	if _, errOut, code := e.drip("user", "add", "giulia", "--role", "rep", "--sender", "nobody"); code != 1 || !strings.Contains(errOut, `no sender "nobody"`) {
		t.Fatalf("unknown sender: exit %d, %q", code, errOut)
	}
	out := e.mustDrip("user", "add", "giulia", "--role", "rep", "--sender", "maria")
	if !strings.Contains(out, "added rep user giulia") {
		t.Fatalf("add: %q", out)
	}
	st, _, _, err := storeopen.Open(context.Background(), e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserGet(context.Background(), "giulia")
	if err != nil || u.Role != store.RoleRep || len(u.Senders) != 1 || !strings.HasPrefix(u.PasswordHash, "$2a$") ||
		strings.Contains(u.PasswordHash, "long enough") {
		t.Fatalf("stored user %+v, %v", u, err)
	}
	stdin = strings.NewReader("a long enough password\n")
	if _, errOut, code := e.drip("user", "add", "giulia", "--role", "ops"); code != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("second add: exit %d, %q", code, errOut)
	}
	stdin = strings.NewReader("short\n")
	if _, errOut, code := e.drip("user", "passwd", "giulia"); code != 1 || !strings.Contains(errOut, "at least 12") {
		t.Fatalf("short password: exit %d, %q", code, errOut)
	}
	stdin = strings.NewReader("another long password\n")
	e.mustDrip("user", "passwd", "giulia")
	if u2, _ := st.UserGet(context.Background(), "giulia"); u2.PasswordHash == u.PasswordHash {
		t.Fatal("passwd did not change the hash")
	}
	e.mustDrip("user", "remove", "giulia")
	if _, errOut, code := e.drip("user", "remove", "giulia"); code != 1 || !strings.Contains(errOut, "no user giulia") {
		t.Fatalf("second remove: exit %d, %q", code, errOut)
	}
}
