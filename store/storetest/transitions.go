package storetest

import (
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

func testTransitions(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "t@example.com", "fair", ptr(t0.Add(time.Hour)))
	active := []store.State{store.StateActive}
	paused := []store.State{store.StatePaused, store.StateReplied}

	t1 := t0.Add(10 * time.Minute)
	got := must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: e.ID, From: active, To: store.StatePaused,
		At: t1, Reason: "by hand", Event: &store.Event{Kind: store.EventPaused, Detail: "by hand"}}))(t)
	if got.State != store.StatePaused || got.NextSendAt != nil || got.Reason != "by hand" || got.Version != e.Version+1 {
		t.Fatalf("paused = %+v", got)
	}
	sameTime(t, "PausedAt", got.PausedAt, &t1)
	if stored := must(s.EnrollmentGet(ctx, e.ID))(t); stored.Version != got.Version || stored.State != store.StatePaused {
		t.Fatalf("returned %+v, stored %+v", got, stored)
	}
	// Not active any more: pausing again is a conflict.
	_, err := s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: e.ID, From: active, To: store.StatePaused, At: t1})
	wantErr(t, err, store.ErrConflict)
	// A reply while paused by hand: still paused since t1.
	got = must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: e.ID, From: []store.State{store.StateActive, store.StatePaused},
		To: store.StateReplied, At: t1.Add(time.Hour)}))(t)
	sameTime(t, "PausedAt after reply", got.PausedAt, &t1)
	// Optimistic concurrency: a stale version loses.
	_, err = s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: e.ID, From: paused, To: store.StateActive,
		At: t1, ExpectVersion: e.Version})
	wantErr(t, err, store.ErrConflict)
	// Resume: the anchor shifts by the pause, a new plan, paused no more.
	anchor := t0.Add(2 * time.Hour)
	next := t1.Add(3 * time.Hour)
	got = must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: e.ID, From: paused, To: store.StateActive,
		At: t1.Add(2 * time.Hour), Anchor: &anchor, NextSendAt: &next, ClearPaused: true, ExpectVersion: got.Version,
		Event: &store.Event{Kind: store.EventResumed}}))(t)
	if got.State != store.StateActive || got.PausedAt != nil || !got.Anchor.Equal(anchor) || got.Reason != "" {
		t.Fatalf("resumed = %+v", got)
	}
	if !got.FirstContact.Equal(t0) {
		t.Fatalf("FirstContact changed to %v", got.FirstContact)
	}
	sameTime(t, "NextSendAt", got.NextSendAt, &next)
	if claimed := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: next, LeaseUntil: next.Add(time.Minute), Limit: 5}))(t); len(claimed) != 1 {
		t.Fatalf("resumed enrollment not claimable: %d claimed", len(claimed))
	}
	tl := must(s.Timeline(ctx, e.ProspectID))(t)
	kinds := timelineKinds(t, s, e.ProspectID)
	if countKind(kinds, store.EventPaused) != 1 || countKind(kinds, store.EventResumed) != 1 {
		t.Fatalf("timeline = %v", kinds)
	}
	for _, ev := range tl {
		if ev.Kind == store.EventResumed && (!ev.At.Equal(t1.Add(2*time.Hour)) || ev.EnrollmentID != e.ID || ev.Sequence != "fair") {
			t.Fatalf("resumed event = %+v", ev)
		}
	}
	_, err = s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: 999999, From: active, To: store.StatePaused, At: t1})
	wantErr(t, err, store.ErrNotFound)
}

func testCompletePastEndAndCounts(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var ids []int64
	for i, last := range []int{3, 5, 7} {
		e := enrolled(t, s, []string{"a@x.example", "b@x.example", "c@x.example"}[i], "fair", ptr(t0))
		claimOne(t, s, "A", t0, time.Minute)
		noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: last, NextSendAt: ptr(t0.Add(time.Hour))}}))(t)[0])
		ids = append(ids, e.ID)
	}
	p := must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: ids[2], From: []store.State{store.StateActive}, To: store.StatePaused, At: t0}))(t)
	enrolled(t, s, "d@x.example", "other", ptr(t0))

	n := must(s.EnrollmentsCompletePastEnd(ctx, "fair", 5, t0.Add(time.Hour)))(t)
	if n != 2 {
		t.Fatalf("completed %d, want 2 (last steps 5 and 7)", n)
	}
	if e := must(s.EnrollmentGet(ctx, ids[0]))(t); e.State != store.StateActive {
		t.Fatalf("enrollment before the new end became %s", e.State)
	}
	for _, id := range ids[1:] {
		e := must(s.EnrollmentGet(ctx, id))(t)
		if e.State != store.StateCompleted || e.NextSendAt != nil {
			t.Fatalf("enrollment past the end = %+v", e)
		}
	}
	if countKind(timelineKinds(t, s, p.ProspectID), store.EventCompleted) != 1 {
		t.Fatal("no completed event")
	}
	counts := must(s.EnrollmentCounts(ctx))(t)
	if counts["fair"][store.StateActive] != 1 || counts["fair"][store.StateCompleted] != 2 || counts["other"][store.StateActive] != 1 || len(counts) != 2 {
		t.Fatalf("EnrollmentCounts = %v", counts)
	}
}

func testSentRefs(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "Ref@Example.com", "fair", ptr(t0))
	claimOne(t, s, "A", t0, time.Minute)
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{start(e, "A", 1, t0)}))(t)[0])
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 1, NextSendAt: ptr(t0.Add(time.Hour)),
		Sends: []store.SendUpdate{{Step: 1, Status: store.SendSent, FinishedAt: ptr(t0.Add(time.Second))}}}}))(t)[0])
	claimOne(t, s, "A", t0.Add(time.Hour), time.Minute)
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{start(e, "A", 2, t0.Add(time.Hour))}))(t)[0])
	m1, m2 := start(e, "A", 1, t0).MessageID, start(e, "A", 2, t0).MessageID

	// The first id of the list that is ours wins (In-Reply-To before References).
	ref := must(s.SentByMessageIDs(ctx, []string{"<theirs@mail.example>", m2, m1}))(t)
	if ref.Step != 2 || ref.EnrollmentID != e.ID || ref.ProspectID != e.ProspectID || ref.Sequence != "fair" ||
		ref.Email != "Ref@Example.com" || ref.Sender != "rep1" || ref.State != store.StateActive || ref.MessageID != m2 {
		t.Fatalf("SentByMessageIDs = %+v", ref)
	}
	if ref := must(s.SentByMessageIDs(ctx, []string{m1, m2}))(t); ref.Step != 1 {
		t.Fatalf("SentByMessageIDs(m1, m2) gave step %d", ref.Step)
	}
	_, err := s.SentByMessageIDs(ctx, []string{"<unknown@x>"})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.SentByMessageIDs(ctx, nil)
	wantErr(t, err, store.ErrNotFound)

	// The latest send to the address: step 2, in flight.
	ref = must(s.SentLatestToEmail(ctx, "ref@example.com"))(t)
	if ref.Step != 2 || ref.EnrollmentID != e.ID {
		t.Fatalf("SentLatestToEmail = %+v", ref)
	}
	_, err = s.SentLatestToEmail(ctx, "stranger@example.com")
	wantErr(t, err, store.ErrNotFound)
}

func testSuppression(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "Stop@Example.com", "fair", ptr(t0))
	p := must(s.ProspectGetByEmail(ctx, "stop@example.com"))(t)
	done := store.Enrollment{ProspectID: p.ID, Sequence: "old", FirstContact: t0, State: store.StateCompleted, CreatedAt: t0}
	must(s.EnrollmentCreate(ctx, &done))(t)
	if must(s.Suppressed(ctx, "stop@example.com"))(t) {
		t.Fatal("suppressed before anyone asked")
	}
	noErr(t, s.SuppressionAdd(ctx, " STOP@example.com", "unsubscribe link", store.StateUnsubscribed, store.EventUnsubscribe, t0.Add(time.Minute)))
	if !must(s.Suppressed(ctx, "stop@EXAMPLE.com"))(t) {
		t.Fatal("not suppressed")
	}
	got := must(s.EnrollmentGet(ctx, e.ID))(t)
	if got.State != store.StateUnsubscribed || got.NextSendAt != nil || got.Reason != "unsubscribe link" {
		t.Fatalf("enrollment of a suppressed address = %+v", got)
	}
	if d := must(s.EnrollmentGet(ctx, done.ID))(t); d.State != store.StateCompleted {
		t.Fatalf("completed enrollment became %s", d.State)
	}
	if countKind(timelineKinds(t, s, p.ID), store.EventUnsubscribe) != 1 {
		t.Fatal("no unsubscribe event for the ended enrollment")
	}
	// Twice is fine.
	noErr(t, s.SuppressionAdd(ctx, "stop@example.com", "again", store.StateUnsubscribed, store.EventUnsubscribe, t0.Add(time.Hour)))
	if countKind(timelineKinds(t, s, p.ID), store.EventUnsubscribe) != 1 {
		t.Fatal("a second suppression ended the enrollment again")
	}

	// Never enrolled again, by any sequence.
	_, err := s.EnrollmentCreate(ctx, &store.Enrollment{ProspectID: p.ID, Sequence: "new", FirstContact: t0})
	wantErr(t, err, store.ErrSuppressed)
	// An address suppressed before we ever knew it.
	noErr(t, s.SuppressionAdd(ctx, "never@example.com", "complaint", store.StateUnsubscribed, store.EventUnsubscribe, t0))
	_, err = s.ProspectUpsert(ctx, &store.Prospect{Email: "Never@example.com", FirstName: "N"})
	wantErr(t, err, store.ErrSuppressed)
	// A known prospect's data may still be corrected.
	must(s.ProspectUpsert(ctx, &store.Prospect{Email: "stop@example.com", Company: "Fixed"}))(t)
	if err := s.SuppressionAdd(ctx, "x@example.com", "r", store.StatePaused, store.EventPaused, t0); err == nil {
		t.Fatal("suppression ending enrollments as paused was accepted")
	}
}

// testLeftWithSuccessor: an enrollment that ends `left` keeps who took
// over; it is terminal (nothing planned, not claimable, not running) and
// the address is not suppressed. Forget erases the successor too.
func testLeftWithSuccessor(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "gone@example.com", "fair", ptr(t0.Add(time.Hour)))
	succ := store.Successor{Email: "giulia.verdi@example.com", Name: "Giulia Verdi"}
	got := must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: e.ID, From: store.RunningStates(), To: store.StateLeft,
		At: t0, Reason: "left the company", Successor: &succ,
		Event: &store.Event{Kind: store.EventLeft, Detail: "successor Giulia Verdi <giulia.verdi@example.com>"}}))(t)
	if got.State != store.StateLeft || got.NextSendAt != nil || got.Successor != succ || !got.State.Terminal() {
		t.Fatalf("left = %+v", got)
	}
	if stored := must(s.EnrollmentGet(ctx, e.ID))(t); stored.Successor != succ {
		t.Fatalf("stored successor = %+v", stored.Successor)
	}
	if claimed := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0.Add(48 * time.Hour), LeaseUntil: t0.Add(49 * time.Hour), Limit: 5}))(t); len(claimed) != 0 {
		t.Fatalf("a left enrollment was claimed: %+v", claimed)
	}
	if must(s.Suppressed(ctx, "gone@example.com"))(t) {
		t.Fatal("left suppressed the address")
	}
	if countKind(timelineKinds(t, s, e.ProspectID), store.EventLeft) != 1 {
		t.Fatal("no left event")
	}
	if counts := must(s.EnrollmentCounts(ctx))(t); counts["fair"][store.StateLeft] != 1 {
		t.Fatalf("EnrollmentCounts = %v", counts)
	}
	_, err := s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: e.ID, From: store.RunningStates(), To: store.StatePaused, At: t0})
	wantErr(t, err, store.ErrConflict)
	noErr(t, s.ProspectForget(ctx, "gone@example.com", t0.Add(time.Hour)))
	if stored := must(s.EnrollmentGet(ctx, e.ID))(t); !stored.Successor.IsZero() {
		t.Fatalf("successor kept after forget: %+v", stored.Successor)
	}
}
