package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// R9 in the store: a paced sender's start takes its turn, and no other
// start of it goes ahead before the gap has passed, whoever asks; a claim
// passes over it until then; an instance that holds an earlier due step
// of the sender goes first; a start long after the turn begins a new run.
func testSenderPace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var es []store.Enrollment
	for i := range 4 {
		// Planned one minute apart: es[0] is the longest due.
		es = append(es, enrolled(t, s, fmt.Sprintf("paced%d@example.com", i), "fair", ptr(t0.Add(time.Duration(i-10)*time.Minute))))
	}
	other := store.Enrollment{ProspectID: prospect(t, s, "relay@example.com").ID, Sequence: "fair", Sender: "rep2",
		FirstContact: t0, NextSendAt: ptr(t0.Add(-time.Hour)), CreatedAt: t0}
	if _, err := s.EnrollmentCreate(ctx, &other); err != nil {
		t.Fatal(err)
	}
	paced := func(e store.Enrollment, owner string, at time.Time) store.SendStart {
		st := start(e, owner, 1, at)
		st.PaceGap, st.PaceSlack = 90*time.Second, 3*time.Minute
		return st
	}

	// B leases the longest-due step; A, holding the next one, must let it
	// go first.
	b := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "B", Now: t0, LeaseUntil: t0.Add(time.Hour), Limit: 1, SkipSenders: []string{"rep2"}}))(t)
	if len(b) != 1 || b[0].ID != es[0].ID {
		t.Fatalf("B claimed %v, want the longest-due %d", ids(b), es[0].ID)
	}
	a := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Hour), Limit: 2,
		SkipSenders: []string{"rep2"}}))(t)
	if len(a) != 2 || a[0].ID != es[1].ID || a[1].ID != es[2].ID {
		t.Fatalf("A claimed %v (rep2 skipped), want %d and %d", ids(a), es[1].ID, es[2].ID)
	}
	// Both of A's in one batch: refused, the first for B's earlier step.
	errs := must(s.SendsStart(ctx, []store.SendStart{paced(a[0], "A", t0), paced(a[1], "A", t0)}))(t)
	wantErr(t, errs[0], store.ErrPaced)
	wantErr(t, errs[1], store.ErrPaced)
	// B gives it back: still the earlier one, it goes first.
	noErr(t, s.EnrollmentRelease(ctx, "B", ids(b)))
	wantErr(t, must(s.SendsStart(ctx, []store.SendStart{paced(a[0], "A", t0)}))(t)[0], store.ErrPaced)
	b = must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "B", Now: t0, LeaseUntil: t0.Add(time.Hour), Limit: 1, SkipSenders: []string{"rep2"}}))(t)
	if ps := must(s.SenderPaces(ctx))(t); len(ps) != 0 {
		t.Fatalf("paces after refused starts = %+v, want none", ps)
	}
	// B's goes: the turn is taken for 90 s.
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{paced(b[0], "B", t0)}))(t)[0])
	ps := must(s.SenderPaces(ctx))(t)
	if len(ps) != 1 || ps[0].Sender != "rep1" {
		t.Fatalf("paces = %+v, want rep1's", ps)
	}
	sameTime(t, "NotBefore", &ps[0].NotBefore, ptr(t0.Add(90*time.Second)))
	sameTime(t, "RunSince", &ps[0].RunSince, &t0)

	// Within the gap: A's next start is refused in one batch together
	// with a second, and the claims pass over rep1 (not rep2).
	at := t0.Add(89 * time.Second)
	errs = must(s.SendsStart(ctx, []store.SendStart{paced(a[0], "A", at), paced(a[1], "A", at)}))(t)
	wantErr(t, errs[0], store.ErrPaced)
	wantErr(t, errs[1], store.ErrPaced)
	noErr(t, s.EnrollmentRelease(ctx, "A", ids(a)))
	got := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: at, LeaseUntil: at.Add(time.Hour), Limit: 10}))(t)
	if len(got) != 1 || got[0].ID != other.ID {
		t.Fatalf("claim while rep1 is paced took %v, want only rep2's %d", ids(got), other.ID)
	}
	noErr(t, s.EnrollmentRelease(ctx, "A", ids(got)))
	if held := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: at, LeaseUntil: at.Add(time.Hour), Limit: 10, Held: true}))(t); len(held) != 0 {
		t.Fatalf("the held senders' claim took %v of a paced (not held) sender", ids(held))
	}

	// The turn comes: the longest due of the rest first, one start only.
	at = t0.Add(90 * time.Second)
	got = must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: at, LeaseUntil: at.Add(time.Hour), Limit: 2,
		SkipSenders: []string{"rep2"}}))(t)
	if len(got) != 2 || got[0].ID != es[1].ID {
		t.Fatalf("claim at rep1's turn took %v, want %d first", ids(got), es[1].ID)
	}
	errs = must(s.SendsStart(ctx, []store.SendStart{paced(got[0], "A", at), paced(got[1], "A", at)}))(t)
	noErr(t, errs[0])
	wantErr(t, errs[1], store.ErrPaced)
	ps = must(s.SenderPaces(ctx))(t)
	sameTime(t, "NotBefore", &ps[0].NotBefore, ptr(at.Add(90*time.Second)))
	sameTime(t, "RunSince (same run)", &ps[0].RunSince, &t0)

	// Long after the turn (an outage, a quiet night): a new run.
	late := t0.Add(30 * time.Minute)
	noErr(t, s.EnrollmentRelease(ctx, "A", []int64{got[1].ID}))
	got = must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: late, LeaseUntil: late.Add(time.Hour), Limit: 1,
		SkipSenders: []string{"rep2"}}))(t)
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{paced(got[0], "A", late)}))(t)[0])
	ps = must(s.SenderPaces(ctx))(t)
	sameTime(t, "RunSince (new run)", &ps[0].RunSince, &late)
}

// The breaker's window: the sender's last N finished sends, counted from
// its last reset on.
func testSenderBounces(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	for i := range 6 {
		e := enrolled(t, s, fmt.Sprintf("b%d@example.com", i), "fair", ptr(t0))
		claimOne(t, s, "A", t0, time.Hour)
		at := t0.Add(time.Duration(i) * time.Minute)
		noErr(t, must(s.SendsStart(ctx, []store.SendStart{start(e, "A", 1, at)}))(t)[0])
		status := store.SendSent
		if i == 1 || i == 4 {
			status = store.SendBounced
		}
		noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", State: store.StateActive, LastStep: 1,
			Sends: []store.SendUpdate{{Step: 1, Status: status, FinishedAt: &at}}}}))(t)[0])
	}
	for _, tc := range []struct {
		window int
		want   store.BounceCount
	}{{100, store.BounceCount{Sends: 6, Bounced: 2}}, {2, store.BounceCount{Sends: 2, Bounced: 1}}, {1, store.BounceCount{Sends: 1}}} {
		if got := must(s.SenderBounces(ctx, "rep1", tc.window))(t); got != tc.want {
			t.Errorf("window %d: %+v, want %+v", tc.window, got, tc.want)
		}
	}
	if got := must(s.SenderBounces(ctx, "rep2", 100))(t); got != (store.BounceCount{}) {
		t.Errorf("rep2 (no sends): %+v", got)
	}
	// A bounce report that came back by mail for the send at minute 5
	// (sent, as far as the server said) counts too.
	last := must(s.EnrollmentsByProspect(ctx, prospect(t, s, "b5@example.com").ID))(t)[0]
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 1, UID: 1, Key: "<dsn.1@mx.example>",
		Events: []store.Event{{ProspectID: last.ProspectID, EnrollmentID: last.ID, Sequence: "fair", Step: 1,
			Kind: store.EventBounce, At: t0.Add(time.Hour)}}}))
	if got := must(s.SenderBounces(ctx, "rep1", 100))(t); got != (store.BounceCount{Sends: 6, Bounced: 3}) {
		t.Errorf("with a bounce report: %+v, want 6 sends, 3 bounced", got)
	}
	// Reset after the bounce at minute 4: only minute 5 counts.
	noErr(t, s.SenderBreakerReset(ctx, "rep1", t0.Add(5*time.Minute)))
	if got := must(s.SenderBounces(ctx, "rep1", 100))(t); got != (store.BounceCount{Sends: 1, Bounced: 1}) {
		t.Errorf("after the reset: %+v, want minute 5's send, reported bounced", got)
	}
}
