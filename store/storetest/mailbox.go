package storetest

import (
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

func testInboundDedupAndCursor(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	_, err := s.MailboxCursorGet(ctx, "rep1")
	wantErr(t, err, store.ErrNotFound)

	e := enrolled(t, s, "replier@example.com", "fair", ptr(t0))
	paused := enrolled(t, s, "paused@example.com", "fair", ptr(t0))
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: paused.ID, From: []store.State{store.StateActive}, To: store.StatePaused, At: t0}))(t)
	at := t0.Add(time.Hour)
	reply := store.Inbound{Sender: "rep1", UIDValidity: 42, UID: 5, Key: "<r1@mail.example>",
		Events: []store.Event{{EnrollmentID: e.ID, Kind: store.EventReply, Step: 1, MessageID: "<r1@mail.example>", At: at}},
		Transitions: []store.Transition{
			{EnrollmentID: e.ID, From: []store.State{store.StateActive}, To: store.StateReplied, At: at, Reason: "reply"},
			// Does not match (paused by hand): skipped, the rest applies.
			{EnrollmentID: paused.ID, From: []store.State{store.StateActive}, To: store.StateReplied, At: at},
		}}
	noErr(t, s.InboundRecord(ctx, reply))
	if got := must(s.EnrollmentGet(ctx, e.ID))(t); got.State != store.StateReplied {
		t.Fatalf("replied enrollment is %s", got.State)
	}
	if got := must(s.EnrollmentGet(ctx, paused.ID))(t); got.State != store.StatePaused {
		t.Fatalf("paused enrollment is %s", got.State)
	}
	c := must(s.MailboxCursorGet(ctx, "rep1"))(t)
	if c.UIDValidity != 42 || c.LastUID != 5 || c.Sender != "rep1" {
		t.Fatalf("cursor = %+v", c)
	}

	// The same message again (say, copied into the mailbox under a new
	// UID): nothing happens twice, but the cursor moves on.
	again := reply
	again.UID = 9
	wantErr(t, s.InboundRecord(ctx, again), store.ErrConflict)
	if n := countKind(timelineKinds(t, s, e.ProspectID), store.EventReply); n != 1 {
		t.Fatalf("%d reply events, want 1", n)
	}
	if c := must(s.MailboxCursorGet(ctx, "rep1"))(t); c.LastUID != 9 {
		t.Fatalf("cursor after a duplicate = %+v, want UID 9", c)
	}
	// The same key in another mailbox is another message.
	other := reply
	other.Sender, other.Events, other.Transitions = "rep2", nil, nil
	noErr(t, s.InboundRecord(ctx, other))
	// The cursor never goes back within one UIDVALIDITY ...
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 42, UID: 3, Key: "<late@x>"}))
	if c := must(s.MailboxCursorGet(ctx, "rep1"))(t); c.LastUID != 9 {
		t.Fatalf("cursor went back to %d", c.LastUID)
	}
	// ... and starts over with a new one.
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 43, UID: 1, Key: "<new@x>"}))
	if c := must(s.MailboxCursorGet(ctx, "rep1"))(t); c.UIDValidity != 43 || c.LastUID != 1 {
		t.Fatalf("cursor after a new UIDVALIDITY = %+v", c)
	}

	// An unsubscribe request: suppression and the end of every running
	// enrollment of the address, atomically with the cursor.
	u := enrolled(t, s, "Unsub@Example.com", "fair", ptr(t0))
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 43, UID: 2, Key: "<u@x>",
		Events:   []store.Event{{EnrollmentID: u.ID, Kind: store.EventUnsubscribe, Step: 1, At: at}},
		Suppress: []string{"unsub@example.com"}, SuppressReason: "asked by mail", SuppressState: store.StateUnsubscribed}))
	if !must(s.Suppressed(ctx, "UNSUB@example.com"))(t) {
		t.Fatal("not suppressed")
	}
	if got := must(s.EnrollmentGet(ctx, u.ID))(t); got.State != store.StateUnsubscribed || got.Reason != "asked by mail" {
		t.Fatalf("enrollment after an unsubscribe mail = %+v", got)
	}
	if c := must(s.MailboxCursorGet(ctx, "rep1"))(t); c.LastUID != 2 {
		t.Fatalf("cursor = %+v", c)
	}
}

func testMailboxLease(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	lease := func(owner string, now time.Time) bool {
		t.Helper()
		return must(s.MailboxLease(ctx, "rep1", owner, now, now.Add(time.Minute)))(t)
	}
	if !lease("A", t0) {
		t.Fatal("A did not get a free lease")
	}
	if lease("B", t0.Add(30*time.Second)) {
		t.Fatal("B took A's running lease")
	}
	if !lease("A", t0.Add(50*time.Second)) { // renewal: now runs till t0+110s
		t.Fatal("A could not renew")
	}
	if lease("B", t0.Add(100*time.Second)) {
		t.Fatal("B took A's renewed lease")
	}
	// A stops renewing (its process died): B takes over once it expires.
	if !lease("B", t0.Add(110*time.Second)) {
		t.Fatal("B did not take the expired lease")
	}
	if lease("A", t0.Add(120*time.Second)) {
		t.Fatal("A took back B's lease")
	}
	// Another mailbox is another lease.
	if !must(s.MailboxLease(ctx, "rep2", "A", t0, t0.Add(time.Minute)))(t) {
		t.Fatal("A did not get rep2's free lease")
	}
	noErr(t, s.MailboxLeaseRelease(ctx, "rep1", "A")) // not A's: no effect
	if lease("A", t0.Add(130*time.Second)) {
		t.Fatal("A's release freed B's lease")
	}
	noErr(t, s.MailboxLeaseRelease(ctx, "rep1", "B"))
	if !lease("A", t0.Add(131*time.Second)) {
		t.Fatal("A did not get the released lease")
	}
}

// testMailboxCursorStart: the first start's line between old and new mail
// is kept with the cursor, survives its advances, is not redrawn by a
// second start, and goes with a new UIDVALIDITY.
func testMailboxCursorStart(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	noErr(t, s.MailboxCursorStart(ctx, "rep1", 42, 17))
	c := must(s.MailboxCursorGet(ctx, "rep1"))(t)
	if c.UIDValidity != 42 || c.LastUID != 0 || c.OldBelow != 17 {
		t.Fatalf("cursor after the first start = %+v, want validity 42, last 0, old below 17", c)
	}
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 42, UID: 5, Key: "<a@x>"}))
	// Another instance starting at the same moment draws no new line.
	noErr(t, s.MailboxCursorStart(ctx, "rep1", 42, 30))
	if c := must(s.MailboxCursorGet(ctx, "rep1"))(t); c.LastUID != 5 || c.OldBelow != 17 {
		t.Fatalf("cursor after an advance and a second start = %+v, want last 5, old below 17", c)
	}
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 43, UID: 2, Key: "<b@x>"}))
	if c := must(s.MailboxCursorGet(ctx, "rep1"))(t); c.UIDValidity != 43 || c.LastUID != 2 || c.OldBelow != 0 {
		t.Fatalf("cursor after a new UIDVALIDITY = %+v, want validity 43, last 2, no line", c)
	}
}
