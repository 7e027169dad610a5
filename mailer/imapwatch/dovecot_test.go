package imapwatch

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
)

// Environment variables of the Dovecot test (scripts/dovecot.sh).
const (
	envDovecot        = "DRIP_TEST_DOVECOT"    // "127.0.0.1:PORT USER PASSWORD"
	envRequireDovecot = "DRIP_REQUIRE_DOVECOT" // "1": fail instead of skipping
)

// dovecot returns the test server's address and credentials, or skips.
func dovecot(t *testing.T) (addr, user, password string) {
	t.Helper()
	spec := os.Getenv(envDovecot)
	if spec == "" {
		if os.Getenv(envRequireDovecot) == "1" {
			t.Fatalf("%s=1 but %s is not set: start one with scripts/dovecot.sh", envRequireDovecot, envDovecot)
		}
		t.Skipf("%s not set: Dovecot test skipped (scripts/dovecot.sh starts a server)", envDovecot)
	}
	f := strings.Fields(spec)
	if len(f) != 3 {
		t.Fatalf("%s=%q: want \"HOST:PORT USER PASSWORD\"", envDovecot, spec)
	}
	return f[0], f[1], f[2]
}

// TestDovecotIdleReplyStaysUnread: against a real Dovecot, a reply APPENDed
// while the watcher idles turns the enrollment replied, and the message
// keeps its unread state.
func TestDovecotIdleReplyStaysUnread(t *testing.T) {
	addr, user, password := dovecot(t)

	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("connecting to Dovecot at %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("logging in to Dovecot: %v", err)
	}
	// A mailbox of this test's own, so runs never see each other's mail.
	mailbox := fmt.Sprintf("drip-test-%d", time.Now().UnixNano())
	if err := c.Create(mailbox, nil).Wait(); err != nil {
		t.Fatalf("creating %s: %v", mailbox, err)
	}
	t.Cleanup(func() { _ = c.Delete(mailbox).Wait() })

	st := testrig.Open(t, testrig.SQLiteURL(t))
	a := seed(t, st, "luca.verdi@acciaierie.example", "trade-fair")

	// Through a proxy that counts IDLE commands, to know the watcher idles.
	p := newProxy(t, addr, false)
	host, port := splitHostPort(t, p.ln.Addr().String())
	cfg := testConfig(host, port, "instance-a")
	cfg.Username, cfg.Password, cfg.Mailbox = user, password, mailbox
	cfg.Poll = time.Hour // only IDLE can bring the reply in within the deadline
	r := start(t, cfg, handler(st), nil)
	testrig.WaitFor(t, "watcher idling on Dovecot", func() bool { _, n := p.stats(); return r.w.Connected() && n >= 1 })

	raw := humanReply("Luca Verdi <luca.verdi@acciaierie.example>", a.messageID)
	appended := time.Now()
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	testrig.WaitFor(t, "enrollment replied", func() bool { return enrollment(t, st, a.enrollment.ID).State == store.StateReplied })
	t.Logf("Dovecot: APPEND → replied in %v", time.Since(appended).Round(time.Millisecond))

	fl := flags(t, addr, user, password, mailbox)
	got, ok := fl[uint32(data.UID)]
	if !ok {
		t.Fatalf("the appended message (UID %d) is gone: %v", data.UID, fl)
	}
	if slices.Contains(got, imap.FlagSeen) {
		t.Errorf("the reply is marked \\Seen after handling: %v", got)
	}
}

func splitHostPort(t testing.TB, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, n
}
