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
	"github.com/drip-email/drip/sequencer"
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

// dovecotMailbox signs in to the test Dovecot and creates a mailbox of the
// test's own, so runs never see each other's mail; both go with the test.
func dovecotMailbox(t *testing.T, addr, user, password string) (*imapclient.Client, string) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("connecting to Dovecot at %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("logging in to Dovecot: %v", err)
	}
	mailbox := fmt.Sprintf("drip-test-%d", time.Now().UnixNano())
	if err := c.Create(mailbox, nil).Wait(); err != nil {
		t.Fatalf("creating %s: %v", mailbox, err)
	}
	t.Cleanup(func() { _ = c.Delete(mailbox).Wait() })
	return c, mailbox
}

// TestDovecotIdleReplyStaysUnread: against a real Dovecot, a reply APPENDed
// while the watcher idles turns the enrollment replied, and the message
// keeps its unread state.
func TestDovecotIdleReplyStaysUnread(t *testing.T) {
	addr, user, password := dovecot(t)

	c, mailbox := dovecotMailbox(t, addr, user, password)

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

// TestDovecotNothingSentYet: against a real Dovecot, a reply, an
// auto-reply, a stop request and a 5.x.x report naming the address, each
// from (or about) an enrolled prospect drip has sent nothing to yet, do
// what they do for a prospect who received step 1 (issue 16.2); a message
// from an unknown address stays unmatched.
func TestDovecotNothingSentYet(t *testing.T) {
	addr, user, password := dovecot(t)
	c, mailbox := dovecotMailbox(t, addr, user, password)

	st := testrig.Open(t, testrig.SQLiteURL(t))
	host, port := splitHostPort(t, addr)
	cfg := testConfig(host, port, "instance-a")
	cfg.Username, cfg.Password, cfg.Mailbox = user, password, mailbox
	cfg.Poll = 200 * time.Millisecond
	r := start(t, cfg, handler(st), nil)
	// Started on an empty mailbox: everything below arrives after the
	// first start, so it may match by address.
	testrig.WaitFor(t, "watcher connected to Dovecot", r.w.Connected)

	type pair struct {
		class      string
		sent       seeded
		fresh      store.Enrollment
		wantState  store.State
		suppressed bool
	}
	pairs := []*pair{
		{class: "reply", wantState: store.StateReplied},
		{class: "auto-reply", wantState: store.StateActive},
		{class: "stop request", wantState: store.StateUnsubscribed, suppressed: true},
		{class: "5.x.x report", wantState: store.StateBounced, suppressed: true},
	}
	var raws [][]byte
	for i, p := range pairs {
		sentAddr := fmt.Sprintf("sent%d@prospect.example", i)
		freshAddr := fmt.Sprintf("fresh%d@prospect.example", i)
		p.sent = seed(t, st, sentAddr, "trade-fair")
		p.fresh = enrollOnly(t, st, freshAddr, "trade-fair")
		switch p.class {
		case "reply":
			raws = append(raws, humanReply(sentAddr, p.sent.messageID), humanReply(freshAddr, ""))
		case "auto-reply":
			raws = append(raws, outOfOffice(sentAddr, p.sent.messageID), outOfOffice(freshAddr, ""))
		case "stop request":
			raws = append(raws, stopRequest(sentAddr, p.sent.messageID), stopRequest(freshAddr, ""))
		case "5.x.x report":
			raws = append(raws, dsn(p.sent.messageID, [3]string{sentAddr, "5.1.1", "failed"}),
				dsn("<not-ours@mx.elsewhere.example>", [3]string{freshAddr, "5.1.1", "failed"}))
		}
	}
	raws = append(raws, humanReply("stranger@elsewhere.example", ""), stopRequest("nobody@elsewhere.example", ""))
	for _, raw := range raws {
		appendTo(t, c, mailbox, raw)
	}
	testrig.WaitFor(t, "every message handled", func() bool { return len(r.handledList()) >= len(raws) })

	// What the timeline says happened, without the send itself.
	effect := func(prospectID int64) map[store.EventKind]int {
		k := kinds(timeline(t, st, prospectID))
		delete(k, store.EventSent)
		return k
	}
	for _, p := range pairs {
		sent := enrollment(t, st, p.sent.enrollment.ID)
		fresh := enrollment(t, st, p.fresh.ID)
		if sent.State != p.wantState || fresh.State != p.wantState {
			t.Errorf("%s: enrollment of the prospect who got step 1 is %s, of the one who got nothing %s; want both %s",
				p.class, sent.State, fresh.State, p.wantState)
		}
		sentEmail, freshEmail := p.sent.prospect.Email, "fresh"+strings.TrimPrefix(p.sent.prospect.Email, "sent")
		if s, f := suppressed(t, st, sentEmail), suppressed(t, st, freshEmail); s != p.suppressed || f != p.suppressed {
			t.Errorf("%s: suppressed: after step 1 %v, with nothing sent %v; want %v", p.class, s, f, p.suppressed)
		}
		if s, f := effect(p.sent.prospect.ID), effect(p.fresh.ProspectID); !mapsEqual(s, f) {
			t.Errorf("%s: timeline after step 1 %v, with nothing sent %v; want the same", p.class, s, f)
		}
	}
	byKind := map[string]int{}
	for _, h := range r.handledList() {
		byKind[h.Kind]++
	}
	want := map[string]int{KindReply: 2, KindAutoReply: 2, KindUnsubscribe: 2, KindBounce: 2, KindUnmatched: 2}
	if !mapsEqual(byKind, want) {
		t.Errorf("handled %v, want %v", byKind, want)
	}
	for _, a := range []string{"stranger@elsewhere.example", "nobody@elsewhere.example"} {
		if suppressed(t, st, a) {
			t.Errorf("%s, unknown to drip, was suppressed", a)
		}
	}
}

// appendTo APPENDs raw to mailbox.
func appendTo(t *testing.T, c *imapclient.Client, mailbox string, raw []byte) {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("APPEND: %v", err)
	}
}

// TestDovecotForgedStopIsFlagged: against a real Dovecot, a stop request
// in the prospect's name that the provider's Authentication-Results say
// failed DMARC is flagged (the enrollment paused for review, the address
// not suppressed), while a genuine one from another prospect still
// unsubscribes (issue 18).
func TestDovecotForgedStopIsFlagged(t *testing.T) {
	addr, user, password := dovecot(t)
	c, mailbox := dovecotMailbox(t, addr, user, password)

	st := testrig.Open(t, testrig.SQLiteURL(t))
	forged := seed(t, st, "luca.verdi@acciaierie.example", "trade-fair")
	genuine := seed(t, st, "anna@ferramenta.example", "trade-fair")
	host, port := splitHostPort(t, addr)
	cfg := testConfig(host, port, "instance-a")
	cfg.Username, cfg.Password, cfg.Mailbox = user, password, mailbox
	cfg.Poll = 200 * time.Millisecond
	r := start(t, cfg, &sequencer.InboundHandler{Store: st, Trust: sequencer.Trust{AuthservID: "mx.google.com"}}, nil)
	testrig.WaitFor(t, "watcher connected to Dovecot", r.w.Connected)

	appendTo(t, c, mailbox, append([]byte("Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=x@evil.example;\r\n"+
		"\tdmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=acciaierie.example\r\n"),
		stopRequest("luca.verdi@acciaierie.example", "")...))
	appendTo(t, c, mailbox, append([]byte("Authentication-Results: mx.google.com; dkim=pass header.i=@ferramenta.example;\r\n"+
		"\tspf=pass smtp.mailfrom=ferramenta.example; dmarc=pass header.from=ferramenta.example\r\n"),
		stopRequest("anna@ferramenta.example", genuine.messageID)...))
	testrig.WaitFor(t, "both messages handled", func() bool { return len(r.handledList()) >= 2 })

	if e := enrollment(t, st, forged.enrollment.ID); e.State != store.StatePaused || e.Reason != sequencer.FlaggedReason {
		t.Errorf("forged stop request: enrollment %s (%q), want paused (%q)", e.State, e.Reason, sequencer.FlaggedReason)
	}
	if suppressed(t, st, "luca.verdi@acciaierie.example") {
		t.Error("a stop request failing DMARC suppressed the prospect")
	}
	if k := kinds(timeline(t, st, forged.prospect.ID)); k[store.EventFlagged] != 1 || k[store.EventUnsubscribe] != 0 {
		t.Errorf("forged stop request: timeline %v, want one flagged entry and no unsubscribe", k)
	}
	if e := enrollment(t, st, genuine.enrollment.ID); e.State != store.StateUnsubscribed || !suppressed(t, st, "anna@ferramenta.example") {
		t.Errorf("genuine stop request: enrollment %s, want unsubscribed and suppressed", e.State)
	}
	byKind := map[string]int{}
	for _, h := range r.handledList() {
		byKind[h.Kind]++
	}
	if want := map[string]int{KindFlagged: 1, KindUnsubscribe: 1}; !mapsEqual(byKind, want) {
		t.Errorf("handled %v, want %v", byKind, want)
	}
}
