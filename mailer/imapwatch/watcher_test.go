package imapwatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// TestEachClassDoesWhatItSays: one mailbox receives a reply, an
// out-of-office, a 5.1.1 and a 4.4.7 report, a two-recipient report, a stop
// request, a copy of our own message, a reply matched by address only and
// a stranger's mail; each changes exactly what the contract says, the
// counters say the same, and no message is marked read.
func TestEachClassDoesWhatItSays(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			ctx := context.Background()
			srv := newMemIMAP(t, false)

			replier := seed(t, st, "luca.verdi@acciaierie.example", "trade-fair")
			// The same person's other enrollment, paused by hand: a reply
			// stops every sequence from writing to them.
			other := seed(t, st, "luca.verdi@acciaierie.example", "fiera")
			if _, err := st.EnrollmentTransition(ctx, store.Transition{EnrollmentID: other.enrollment.ID,
				From: []store.State{store.StateActive}, To: store.StatePaused, At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			away := seed(t, st, "k.lewandowska@budmax.example", "trade-fair")
			gone := seed(t, st, "old.buyer@nordstahl.example", "trade-fair")
			slow := seed(t, st, "f.galli@galli-impianti.example", "trade-fair")
			both1 := seed(t, st, "a.nowak@stal.example", "trade-fair")
			both2 := seed(t, st, "einkauf@stal.example", "trade-fair")
			stopper := seed(t, st, "g.bianchi@bianchi.example", "trade-fair")
			byAddr := seed(t, st, "j.kowalski@kowal.example", "trade-fair")
			untouched := seed(t, st, "m.rossi@rossi.example", "trade-fair")

			r := start(t, testConfig(srv.host(), srv.port(), "instance-a"), handler(st), nil)
			srv.waitIdles(t, r, 1)

			type delivery struct {
				raw  []byte
				kind string
			}
			deliveries := []delivery{
				{humanReply("Luca Verdi <luca.verdi@acciaierie.example>", replier.messageID), KindReply},
				{outOfOffice("k.lewandowska@budmax.example", away.messageID), KindAutoReply},
				{dsn(gone.messageID, [3]string{"old.buyer@nordstahl.example", "5.1.1", "failed"}), KindBounce},
				{dsn(slow.messageID, [3]string{"f.galli@galli-impianti.example", "4.4.7", "delayed"}), KindDelayed},
				{dsn(both1.messageID, [3]string{"a.nowak@stal.example", "5.1.1", "failed"}, [3]string{"einkauf@stal.example", "4.2.2", "delayed"}), KindBounce},
				{stopRequest("g.bianchi@bianchi.example", stopper.messageID), KindUnsubscribe},
				// A copy of our own message to untouched (the Sent folder, a Bcc):
				// it references our send, and still is no reply.
				{reply(ourFrom, untouched.messageID, "Re: Valvole a sfera", "Gentile Mario, le riscrivo.\n"), KindOwn},
				{humanReply("j.kowalski@kowal.example", ""), KindReply},
				{humanReply("stranger@elsewhere.example", ""), KindUnmatched},
			}
			var uids []uint32
			for _, d := range deliveries {
				uids = append(uids, srv.deliver(d.raw))
			}
			testrig.WaitFor(t, "every message handled", func() bool { return len(r.handledList()) >= len(deliveries) })
			for i, h := range r.handledList() {
				if h.UID != uids[i] || h.Kind != deliveries[i].kind || h.Duplicate {
					t.Errorf("message %d: handled UID %d as %s (duplicate %v), want UID %d as %s", i, h.UID, h.Kind, h.Duplicate, uids[i], deliveries[i].kind)
				}
			}

			state := func(s seeded) store.State { return enrollment(t, st, s.enrollment.ID).State }
			check := func(who string, s seeded, wantState store.State, wantSuppressed bool, wantKind store.EventKind) {
				t.Helper()
				if got := state(s); got != wantState {
					t.Errorf("%s: enrollment %s, want %s", who, got, wantState)
				}
				if got := suppressed(t, st, s.prospect.Email); got != wantSuppressed {
					t.Errorf("%s: suppressed = %v, want %v", who, got, wantSuppressed)
				}
				if wantKind == "" {
					return
				}
				// The message's own event: at the step it answered, with its
				// Message-ID (a state change may add a step-less one).
				n := 0
				for _, ev := range timeline(t, st, s.prospect.ID) {
					if ev.Kind == wantKind && ev.EnrollmentID == s.enrollment.ID && ev.Step == 1 &&
						ev.MessageID != "" && ev.MessageID != s.messageID && ev.Detail != "" {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%s: %d %s events of the inbound message on the timeline, want 1: %+v", who, n, wantKind, timeline(t, st, s.prospect.ID))
				}
			}
			check("reply", replier, store.StateReplied, false, store.EventReply)
			if got := state(other); got != store.StateReplied {
				t.Errorf("reply: the prospect's other (paused) enrollment is %s, want replied", got)
			}
			if e := enrollment(t, st, replier.enrollment.ID); e.NextSendAt != nil || e.PausedAt == nil {
				t.Errorf("replied enrollment still plans a send (%v) or has no pause time", e.NextSendAt)
			}
			check("auto-reply", away, store.StateActive, false, store.EventAutoReply)
			if e := enrollment(t, st, away.enrollment.ID); e.NextSendAt == nil || !e.NextSendAt.Equal(*away.enrollment.NextSendAt) {
				t.Errorf("auto-reply changed the plan: next send %v, was %v", e.NextSendAt, away.enrollment.NextSendAt)
			}
			check("5.1.1", gone, store.StateBounced, true, store.EventBounce)
			check("4.4.7", slow, store.StateActive, false, store.EventDelayed)
			check("two recipients, 5.1.1", both1, store.StateBounced, true, store.EventBounce)
			// The report returns both1's message: both2 is not its recipient,
			// so what it says of both2 is flagged, not recorded as a delay.
			check("two recipients, 4.2.2", both2, store.StateActive, false, store.EventFlagged)
			check("stop request", stopper, store.StateUnsubscribed, true, store.EventUnsubscribe)
			check("matched by address", byAddr, store.StateReplied, false, store.EventReply)
			check("own message", untouched, store.StateActive, false, "")
			k := kinds(timeline(t, st, untouched.prospect.ID))
			for _, kind := range []store.EventKind{store.EventReply, store.EventAutoReply, store.EventBounce,
				store.EventDelayed, store.EventUnsubscribe, store.EventPaused} {
				if k[kind] != 0 {
					t.Errorf("own message left a %s event on the prospect's timeline: %v", kind, k)
				}
			}

			for kind, want := range map[string]float64{KindReply: 2, KindAutoReply: 1, KindBounce: 2, KindDelayed: 1,
				KindUnsubscribe: 1, KindOwn: 1, KindUnmatched: 1} {
				if got := testutil.ToFloat64(r.w.cfg.Metrics.inbound.WithLabelValues(kind)); got != want {
					t.Errorf("drip_inbound_messages_total{kind=%q} = %v, want %v", kind, got, want)
				}
			}
			if got := testutil.ToFloat64(r.w.cfg.Metrics.connected.WithLabelValues(senderName)); got != 1 {
				t.Errorf("drip_imap_connected{sender=%q} = %v, want 1", senderName, got)
			}

			// The rep's mail stays unread.
			for uid, fl := range flags(t, srv.proxy.ln.Addr().String(), testUser, testPassword, "INBOX") {
				if slices.Contains(fl, imap.FlagSeen) {
					t.Errorf("message UID %d has \\Seen after handling", uid)
				}
			}
		})
	}
}

// TestRestartReHandlesNothing: a new watcher on the same store (a restart)
// handles only the message that arrived while none was running.
func TestRestartReHandlesNothing(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			srv := newMemIMAP(t, false)
			a := seed(t, st, "a@prospect.example", "trade-fair")
			b := seed(t, st, "b@prospect.example", "trade-fair")
			c := seed(t, st, "c@prospect.example", "trade-fair")
			cfg := testConfig(srv.host(), srv.port(), "instance-a")

			first := start(t, cfg, handler(st), nil)
			srv.waitIdles(t, first, 1)
			srv.deliver(outOfOffice("a@prospect.example", a.messageID))
			srv.deliver(humanReply("b@prospect.example", b.messageID))
			testrig.WaitFor(t, "two messages handled", func() bool { return len(first.handledList()) == 2 })
			first.stop(t)
			before := map[int64]map[store.EventKind]int{}
			for _, s := range []seeded{a, b, c} {
				before[s.prospect.ID] = kinds(timeline(t, st, s.prospect.ID))
			}

			down := srv.deliver(humanReply("c@prospect.example", c.messageID)) // while no watcher runs

			second := start(t, cfg, handler(st), nil)
			testrig.WaitFor(t, "the message that came while down handled", func() bool { return second.sawUID(down) })
			testrig.WaitFor(t, "replied", func() bool { return enrollment(t, st, c.enrollment.ID).State == store.StateReplied })
			if got := second.handledList(); len(got) != 1 {
				t.Errorf("after the restart the watcher handled %+v, want only UID %d", got, down)
			}
			for _, s := range []seeded{a, b} {
				if got := kinds(timeline(t, st, s.prospect.ID)); !mapsEqual(got, before[s.prospect.ID]) {
					t.Errorf("%s: timeline changed by the restart: %v, was %v", s.prospect.Email, got, before[s.prospect.ID])
				}
			}
			if got := kinds(timeline(t, st, c.prospect.ID))[store.EventReply]; got != 1 {
				t.Errorf("reply events of %s = %d, want 1", c.prospect.Email, got)
			}
		})
	}
}

// TestUIDValidityChangeAddsNoDuplicates: the mailbox is recreated (new
// UIDVALIDITY) with the same messages and one new one; the watcher reads it
// again from the start, records the known ones as duplicates without
// events, and handles the new one.
func TestUIDValidityChangeAddsNoDuplicates(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			srv := newMemIMAP(t, false)
			a := seed(t, st, "a@prospect.example", "trade-fair")
			b := seed(t, st, "b@prospect.example", "trade-fair")
			cfg := testConfig(srv.host(), srv.port(), "instance-a")

			old := [][]byte{
				outOfOffice("a@prospect.example", a.messageID),
				dsn(a.messageID, [3]string{"a@prospect.example", "4.4.7", "delayed"}),
			}
			first := start(t, cfg, handler(st), nil)
			srv.waitIdles(t, first, 1)
			for _, raw := range old {
				srv.deliver(raw)
			}
			testrig.WaitFor(t, "handled", func() bool { return len(first.handledList()) == len(old) })
			first.stop(t)
			before := kinds(timeline(t, st, a.prospect.ID))

			fresh := humanReply("b@prospect.example", b.messageID)
			srv.recreateInbox(append(old, fresh)...)

			second := start(t, cfg, handler(st), nil)
			testrig.WaitFor(t, "all three read again", func() bool { return len(second.handledList()) == 3 })
			got := second.handledList()
			if !got[0].Duplicate || !got[1].Duplicate || got[2].Duplicate || got[2].Kind != KindReply {
				t.Errorf("after the UIDVALIDITY change: %+v, want two duplicates then a new reply", got)
			}
			if after := kinds(timeline(t, st, a.prospect.ID)); !mapsEqual(after, before) {
				t.Errorf("events of %s changed: %v, was %v", a.prospect.Email, after, before)
			}
			if s := enrollment(t, st, b.enrollment.ID).State; s != store.StateReplied {
				t.Errorf("new reply after the UIDVALIDITY change: enrollment %s, want replied", s)
			}
			if n := testutil.ToFloat64(second.w.cfg.Metrics.inbound.WithLabelValues(KindAutoReply)); n != 0 {
				t.Errorf("duplicates were counted again: auto_reply = %v", n)
			}
		})
	}
}

// TestReconnectsAfterDroppedConnection: the server drops the connection;
// the watcher connects again and a later reply is handled.
func TestReconnectsAfterDroppedConnection(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	srv := newMemIMAP(t, false)
	a := seed(t, st, "a@prospect.example", "trade-fair")
	r := start(t, testConfig(srv.host(), srv.port(), "instance-a"), handler(st), nil)
	srv.waitIdles(t, r, 1)

	srv.proxy.drop()
	testrig.WaitFor(t, "a second connection", func() bool { n, _ := srv.proxy.stats(); return n >= 2 })
	srv.waitIdles(t, r, 2)
	uid := srv.deliver(humanReply("a@prospect.example", a.messageID))
	testrig.WaitFor(t, "reply handled", func() bool { return r.sawUID(uid) })
	if s := enrollment(t, st, a.enrollment.ID).State; s != store.StateReplied {
		t.Errorf("enrollment %s, want replied", s)
	}
}

// TestPollsWithoutIdle: a server that does not announce IDLE is polled,
// and never sent IDLE.
func TestPollsWithoutIdle(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	srv := newMemIMAP(t, true)
	a := seed(t, st, "a@prospect.example", "trade-fair")
	cfg := testConfig(srv.host(), srv.port(), "instance-a")
	cfg.Poll = 50 * time.Millisecond
	r := start(t, cfg, handler(st), nil)
	testrig.WaitFor(t, "watcher connected", r.w.Connected)
	uid := srv.deliver(humanReply("a@prospect.example", a.messageID))
	testrig.WaitFor(t, "reply handled by polling", func() bool { return r.sawUID(uid) })
	if s := enrollment(t, st, a.enrollment.ID).State; s != store.StateReplied {
		t.Errorf("enrollment %s, want replied", s)
	}
	if _, idles := srv.proxy.stats(); idles != 0 {
		t.Errorf("the watcher sent IDLE %d times to a server without it", idles)
	}
}

// TestIdleIsUsedWhenAnnounced: with polling set to an hour, only IDLE can
// bring a reply in within the test's deadline.
func TestIdleIsUsedWhenAnnounced(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	srv := newMemIMAP(t, false)
	a := seed(t, st, "a@prospect.example", "trade-fair")
	r := start(t, testConfig(srv.host(), srv.port(), "instance-a"), handler(st), nil)
	srv.waitIdles(t, r, 1)
	uid := srv.deliver(humanReply("a@prospect.example", a.messageID))
	testrig.WaitFor(t, "reply handled", func() bool { return r.sawUID(uid) })
}

// TestFirstStartMatchesOldMailByMessageIDOnly: on the first start for a
// mailbox, an old message from a person who is a prospect today does not
// pause them; an old answer to one of our messages does.
func TestFirstStartMatchesOldMailByMessageIDOnly(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	srv := newMemIMAP(t, false)
	oldFriend := seed(t, st, "friend@prospect.example", "trade-fair")
	answered := seed(t, st, "answered@prospect.example", "trade-fair")
	oldUID := srv.deliver(humanReply("friend@prospect.example", ""))
	srv.deliver(humanReply("answered@prospect.example", answered.messageID))

	r := start(t, testConfig(srv.host(), srv.port(), "instance-a"), handler(st), nil)
	testrig.WaitFor(t, "old mail read", func() bool { return len(r.handledList()) == 2 })
	if h := r.handledList()[0]; h.UID != oldUID || h.Kind != KindUnmatched {
		t.Errorf("old mail without references: %+v, want unmatched", h)
	}
	if s := enrollment(t, st, oldFriend.enrollment.ID).State; s != store.StateActive {
		t.Errorf("old mail paused a prospect: %s", s)
	}
	if s := enrollment(t, st, answered.enrollment.ID).State; s != store.StateReplied {
		t.Errorf("old answer to our message: enrollment %s, want replied", s)
	}
	// New mail from the same person is matched by address as usual.
	uid := srv.deliver(humanReply("friend@prospect.example", ""))
	testrig.WaitFor(t, "new mail handled", func() bool { return r.sawUID(uid) })
	if s := enrollment(t, st, oldFriend.enrollment.ID).State; s != store.StateReplied {
		t.Errorf("new mail from a prospect: enrollment %s, want replied", s)
	}
}

func TestConfigErrors(t *testing.T) {
	good := testConfig("127.0.0.1", 143, "me")
	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no sender", func(c *Config) { c.Sender = "" }, "sender name is empty"},
		{"no host", func(c *Config) { c.Host = "" }, "host is empty"},
		{"bad port", func(c *Config) { c.Port = 70000 }, "port 70000"},
		{"bad tls", func(c *Config) { c.TLS = "ssl" }, `tls "ssl"`},
		{"no owner", func(c *Config) { c.Owner = "" }, "owner"},
		{"negative poll", func(c *Config) { c.Poll = -time.Second }, "poll -1s is negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Password = "hunter2"
			tt.mod(&c)
			_, err := New(c, nopHandler{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("New: %v, want an error with %q and no password", err, tt.want)
			}
		})
	}
	if _, err := New(good, nopHandler{}); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// failingRecord refuses to record the matched message with a given key,
// as a store that keeps failing on one message would.
type failingRecord struct {
	store.Store
	key      string
	mu       sync.Mutex
	attempts int
}

func (f *failingRecord) InboundRecord(ctx context.Context, in store.Inbound) error {
	if in.Key == f.key && len(in.Events) > 0 {
		f.mu.Lock()
		f.attempts++
		f.mu.Unlock()
		return errors.New("disk on fire")
	}
	return f.Store.InboundRecord(ctx, in)
}

// TestPoisonMessagesAreSkipped: a message that cannot be read, and one the
// store keeps refusing, are skipped (the latter after a few attempts), and
// the mail after them is still handled.
func TestPoisonMessagesAreSkipped(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	srv := newMemIMAP(t, false)
	a := seed(t, st, "a@prospect.example", "trade-fair")
	b := seed(t, st, "b@prospect.example", "trade-fair")
	poison := humanReply("a@prospect.example", a.messageID)
	key := inboundKey(t, poison)
	fs := &failingRecord{Store: st, key: key}

	r := start(t, testConfig(srv.host(), srv.port(), "instance-a"), handler(fs), nil)
	srv.waitIdles(t, r, 1)
	empty := srv.deliver([]byte("\r\n\r\n"))
	bad := srv.deliver(poison)
	good := srv.deliver(humanReply("b@prospect.example", b.messageID))
	testrig.WaitFor(t, "the message after the poison handled", func() bool { return r.sawUID(good) })

	kinds := map[uint32]string{}
	for _, h := range r.handledList() {
		kinds[h.UID] = h.Kind
	}
	if kinds[empty] != KindUnmatched || kinds[bad] != KindUnmatched || kinds[good] != KindReply {
		t.Errorf("handled %v; want the empty and the refused message unmatched, the last a reply", kinds)
	}
	fs.mu.Lock()
	attempts := fs.attempts
	fs.mu.Unlock()
	if attempts != maxAttempts+1 {
		t.Errorf("the refused message was tried %d times, want %d", attempts, maxAttempts+1)
	}
	if s := enrollment(t, st, b.enrollment.ID).State; s != store.StateReplied {
		t.Errorf("enrollment after the poison: %s, want replied", s)
	}
}

func inboundKey(t *testing.T, raw []byte) string {
	t.Helper()
	st := testrig.Open(t, testrig.SQLiteURL(t))
	d, err := sequencer.DecideInbound(context.Background(), st, raw, nil, time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	return d.Record.Key
}

// failingUID is a Handler that fails every message with one UID, counting
// the attempts, and hands the others on.
type failingUID struct {
	Handler
	uid      uint32
	attempts atomic.Int32
}

func (f *failingUID) Handle(ctx context.Context, m inbound.Fetched) (inbound.Handled, error) {
	if m.UID == f.uid {
		f.attempts.Add(1)
		return inbound.Handled{}, errors.New("store away for a moment")
	}
	return f.Handler.Handle(ctx, m)
}

// TestFirstStartLineSurvivesARestart: the line between old and new mail
// drawn at the first start is kept with the cursor, so a watcher that
// stops in the middle of reading the old mail, and the one that reads on
// (a restart, another instance), still match that mail by Message-ID only.
func TestFirstStartLineSurvivesARestart(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			srv := newMemIMAP(t, false)
			var old []store.Enrollment
			for i := range 3 {
				addr := fmt.Sprintf("friend%d@prospect.example", i)
				old = append(old, enrollOnly(t, st, addr, "trade-fair"))
				srv.deliver(humanReply(addr, ""))
			}
			cfg := testConfig(srv.host(), srv.port(), "instance-a")
			f := &failingUID{Handler: handler(st), uid: 2}
			first := start(t, cfg, f, nil)
			testrig.WaitFor(t, "the first old message handled and the second tried", func() bool {
				return first.sawUID(1) && f.attempts.Load() >= 1
			})
			first.stop(t)

			cfg.Owner = "instance-b"
			second := start(t, cfg, handler(st), nil)
			testrig.WaitFor(t, "the rest of the old mail read", func() bool { return second.sawUID(3) })
			for _, h := range append(first.handledList(), second.handledList()...) {
				if h.Kind != KindUnmatched {
					t.Errorf("old mail UID %d handled as %s, want unmatched", h.UID, h.Kind)
				}
			}
			for _, e := range old {
				if s := enrollment(t, st, e.ID).State; s != store.StateActive {
					t.Errorf("old mail changed enrollment %d to %s", e.ID, s)
				}
			}
			// New mail from the same person matches by address.
			uid := srv.deliver(humanReply("friend2@prospect.example", ""))
			testrig.WaitFor(t, "new mail handled", func() bool { return second.sawUID(uid) })
			if s := enrollment(t, st, old[2].ID).State; s != store.StateReplied {
				t.Errorf("new mail from an enrolled prospect: %s, want replied", s)
			}
		})
	}
}
