package storetest

import (
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// A held sender's enrollments are passed over by the claim and left out of
// the backlog while the hold lasts; a claim for held senders takes only
// them; the longer hold wins; a cleared or expired hold lets them through.
func testSenderHolds(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	held := make([]store.Enrollment, 3)
	for i := range held {
		e := enrolled(t, s, "held"+string(rune('a'+i))+"@example.com", "fair", ptr(t0.Add(-time.Hour)))
		held[i] = e
	}
	other := store.Enrollment{ProspectID: prospect(t, s, "other@example.com").ID, Sequence: "fair", Sender: "rep2",
		FirstContact: t0, NextSendAt: ptr(t0), CreatedAt: t0}
	if _, err := s.EnrollmentCreate(ctx, &other); err != nil {
		t.Fatal(err)
	}

	if n := must(s.DueBacklog(ctx, t0))(t); n != 4 {
		t.Fatalf("backlog before any hold = %d, want 4", n)
	}
	until := t0.Add(24 * time.Hour)
	noErr(t, s.SenderHoldSet(ctx, store.SenderHold{Sender: "rep1", Reason: store.HoldDailyLimit, Until: until, Since: t0, Detail: "400 of 400"}))
	// A shorter hold of another reason does not shorten it.
	noErr(t, s.SenderHoldSet(ctx, store.SenderHold{Sender: "rep1", Reason: store.HoldUnreachable, Until: t0.Add(time.Minute), Since: t0}))

	holds := must(s.SenderHolds(ctx, t0))(t)
	if len(holds) != 1 || holds[0].Sender != "rep1" || holds[0].Reason != store.HoldDailyLimit || holds[0].Detail != "400 of 400" {
		t.Fatalf("holds = %+v", holds)
	}
	sameTime(t, "Until", &holds[0].Until, &until)
	sameTime(t, "Since", &holds[0].Since, &t0)
	if n := must(s.DueBacklog(ctx, t0))(t); n != 1 {
		t.Fatalf("backlog with rep1 held = %d, want 1 (rep1's three wait for the hold's end)", n)
	}

	got := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 10}))(t)
	if len(got) != 1 || got[0].ID != other.ID {
		t.Fatalf("claim with rep1 held took %v, want only rep2's enrollment %d", ids(got), other.ID)
	}
	parked := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 10, Held: true}))(t)
	if len(parked) != 3 {
		t.Fatalf("claim of held senders took %v, want rep1's three", ids(parked))
	}
	noErr(t, s.EnrollmentRelease(ctx, "A", ids(parked)))

	// After the hold: claimable again, and no longer listed.
	after := until.Add(time.Second)
	if n := len(must(s.SenderHolds(ctx, after))(t)); n != 0 {
		t.Fatalf("%d holds after their end", n)
	}
	n := 0
	for _, e := range must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "B", Now: after, LeaseUntil: after.Add(time.Minute), Limit: 10}))(t) {
		if e.Sender == "rep1" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("claimed %d of rep1's after the hold, want 3", n)
	}

	// Clearing by reason: only a hold of that reason ends.
	noErr(t, s.SenderHoldSet(ctx, store.SenderHold{Sender: "rep2", Reason: store.HoldBreaker, Until: after.Add(time.Hour), Since: after}))
	noErr(t, s.SenderHoldClear(ctx, "rep2", store.HoldAuth, store.HoldUnreachable))
	if n := len(must(s.SenderHolds(ctx, after))(t)); n != 1 {
		t.Fatalf("a breaker hold ended by clearing auth and unreachable holds (%d left)", n)
	}
	noErr(t, s.SenderHoldClear(ctx, "rep2"))
	if n := len(must(s.SenderHolds(ctx, after))(t)); n != 0 {
		t.Fatalf("%d holds after clearing every reason", n)
	}
}

func ids(es []store.Enrollment) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
