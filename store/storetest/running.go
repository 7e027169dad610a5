package storetest

import (
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// testEnrollmentsRunningByEmail: a message from an enrolled prospect's
// address matches every running enrollment, whether drip wrote to it yet
// or not; unknown and forgotten addresses match nothing.
func testEnrollmentsRunningByEmail(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	// Enrolled, nothing sent yet.
	fresh := enrolled(t, s, "Fresh@Example.com", "fair", ptr(t0.Add(240*time.Hour)))
	// Enrolled twice: step 1 sent in one sequence, nothing in the other,
	// and a third enrollment already completed.
	sent := enrolled(t, s, "Sent@Example.com", "fair", ptr(t0))
	claimOne(t, s, "A", t0, time.Minute)
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{start(sent, "A", 1, t0)}))(t)[0])
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: sent.ID, Owner: "A", LastStep: 1, NextSendAt: ptr(t0.Add(time.Hour)),
		Sends: []store.SendUpdate{{Step: 1, Status: store.SendSent, FinishedAt: ptr(t0.Add(time.Second))}}}}))(t)[0])
	second := store.Enrollment{ProspectID: sent.ProspectID, Sequence: "webinar", Sender: "rep2", FirstContact: t0,
		NextSendAt: ptr(t0.Add(48 * time.Hour)), CreatedAt: t0}
	must(s.EnrollmentCreate(ctx, &second))(t)
	done := store.Enrollment{ProspectID: sent.ProspectID, Sequence: "old", FirstContact: t0, State: store.StateCompleted, CreatedAt: t0}
	must(s.EnrollmentCreate(ctx, &done))(t)

	refs := must(s.EnrollmentsRunningByEmail(ctx, " FRESH@example.com"))(t)
	if len(refs) != 1 || refs[0].EnrollmentID != fresh.ID || refs[0].ProspectID != fresh.ProspectID ||
		refs[0].Step != 0 || refs[0].MessageID != "" || refs[0].Email != "Fresh@Example.com" ||
		refs[0].Sequence != "fair" || refs[0].Sender != "rep1" || refs[0].State != store.StateActive {
		t.Fatalf("running enrollments of a prospect never written to = %+v", refs)
	}

	refs = must(s.EnrollmentsRunningByEmail(ctx, "sent@example.com"))(t)
	if len(refs) != 2 {
		t.Fatalf("running enrollments = %+v, want fair and webinar (not the completed one)", refs)
	}
	m1 := start(sent, "A", 1, t0).MessageID
	if r := refs[0]; r.EnrollmentID != sent.ID || r.Step != 1 || r.MessageID != m1 {
		t.Fatalf("first running enrollment = %+v, want step 1 sent as %s", r, m1)
	}
	if r := refs[1]; r.EnrollmentID != second.ID || r.Step != 0 || r.MessageID != "" || r.Sender != "rep2" {
		t.Fatalf("second running enrollment = %+v, want webinar with nothing sent", r)
	}

	// Paused and replied enrollments still run; terminal ones do not.
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: second.ID, From: []store.State{store.StateActive},
		To: store.StateReplied, At: t0}))(t)
	if refs := must(s.EnrollmentsRunningByEmail(ctx, "sent@example.com"))(t); len(refs) != 2 || refs[1].State != store.StateReplied {
		t.Fatalf("after a reply: %+v", refs)
	}
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: fresh.ID, From: []store.State{store.StateActive},
		To: store.StateBounced, At: t0}))(t)
	if refs := must(s.EnrollmentsRunningByEmail(ctx, "fresh@example.com"))(t); len(refs) != 0 {
		t.Fatalf("a bounced enrollment still runs: %+v", refs)
	}

	if refs := must(s.EnrollmentsRunningByEmail(ctx, "stranger@example.com"))(t); len(refs) != 0 {
		t.Fatalf("an unknown address matched %+v", refs)
	}
	gone := enrolled(t, s, "gone@example.com", "fair", ptr(t0.Add(time.Hour)))
	noErr(t, s.ProspectForget(ctx, "gone@example.com", t0))
	if refs := must(s.EnrollmentsRunningByEmail(ctx, "gone@example.com"))(t); len(refs) != 0 {
		t.Fatalf("a forgotten prospect (enrollment %d) matched %+v", gone.ID, refs)
	}
}

// testStoreInventsNoEvents: the events on the timeline are those the
// caller gave, one each; ending enrollments through a suppression records
// an event only when the caller names its kind.
func testStoreInventsNoEvents(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	at := t0.Add(time.Hour)

	// An inbound stop request whose transition ends the enrollment with its
	// own event: the suppression that follows finds nothing left to end.
	u := enrolled(t, s, "stop@example.com", "fair", ptr(t0))
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 1, UID: 1, Key: "<stop@x>",
		Transitions: []store.Transition{{EnrollmentID: u.ID, From: store.RunningStates(), To: store.StateUnsubscribed, At: at,
			Reason: "stop request", Event: &store.Event{Kind: store.EventUnsubscribe, Step: 1, Detail: "stop request", At: at}}},
		Suppress: []string{"stop@example.com"}, SuppressReason: "unsubscribe", SuppressState: store.StateUnsubscribed,
		SuppressEvent: store.EventUnsubscribe}))
	if n := countKind(timelineKinds(t, s, u.ProspectID), store.EventUnsubscribe); n != 1 {
		t.Fatalf("%d unsubscribe events after one stop request, want 1", n)
	}

	// A suppression that ends an enrollment nobody gave an event for
	// records the kind the caller named, once, and none without one.
	named := enrolled(t, s, "named@example.com", "fair", ptr(t0))
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 1, UID: 2, Key: "<bounce@x>",
		Suppress: []string{"named@example.com"}, SuppressReason: "bounce", SuppressState: store.StateBounced,
		SuppressEvent: store.EventBounce}))
	if k := timelineKinds(t, s, named.ProspectID); countKind(k, store.EventBounce) != 1 || len(k) != 2 {
		t.Fatalf("timeline after a suppression with a bounce event = %v, want enrolled and one bounce", k)
	}
	silent := enrolled(t, s, "silent@example.com", "fair", ptr(t0))
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 1, UID: 3, Key: "<silent@x>",
		Suppress: []string{"silent@example.com"}, SuppressReason: "bounce", SuppressState: store.StateBounced}))
	if got := must(s.EnrollmentGet(ctx, silent.ID))(t); got.State != store.StateBounced {
		t.Fatalf("suppressed enrollment is %s", got.State)
	}
	if k := timelineKinds(t, s, silent.ProspectID); len(k) != 1 {
		t.Fatalf("timeline after a suppression with no event named = %v, want only enrolled", k)
	}

	// A settle that suppresses: the settled enrollment has the event the
	// engine gave; the prospect's other enrollment gets SuppressEvent.
	e := enrolled(t, s, "rcpt@example.com", "fair", ptr(t0))
	other := store.Enrollment{ProspectID: e.ProspectID, Sequence: "webinar", FirstContact: t0, NextSendAt: ptr(t0.Add(time.Hour)), CreatedAt: t0}
	must(s.EnrollmentCreate(ctx, &other))(t)
	claimOne(t, s, "A", t0, time.Minute)
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 1, State: store.StateBounced,
		Reason: "550 no such user", Suppress: "bounce", SuppressEvent: store.EventBounce,
		Sends:  []store.SendUpdate{{Step: 1, Status: store.SendBounced, Error: "550"}},
		Events: []store.Event{{Kind: store.EventBounce, Step: 1, At: at}}}}))(t)[0])
	evs := must(s.Timeline(ctx, e.ProspectID))(t)
	per := map[int64]int{}
	for _, ev := range evs {
		if ev.Kind == store.EventBounce {
			per[ev.EnrollmentID]++
		}
	}
	if per[e.ID] != 1 || per[other.ID] != 1 || len(per) != 2 {
		t.Fatalf("bounce events per enrollment = %v, want one on %d and one on %d", per, e.ID, other.ID)
	}
}
