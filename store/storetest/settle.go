package storetest

import (
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

func testSettle(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "settle@example.com", "fair", ptr(t0))
	claimOne(t, s, "A", t0, time.Minute)
	// R3: step 2 sent, step 1 skipped, in one settle.
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{start(e, "A", 2, t0)}))(t)[0])
	sentAt := t0.Add(2 * time.Second)
	next := t0.Add(10 * 24 * time.Hour)
	errs := must(s.Settle(ctx, []store.Settle{{
		EnrollmentID: e.ID, Owner: "A",
		Sends: []store.SendUpdate{
			{Step: 1, Status: store.SendSkipped, PlannedAt: ptr(t0.Add(-10 * 24 * time.Hour))},
			{Step: 2, Status: store.SendSent, FinishedAt: &sentAt},
		},
		Events: []store.Event{
			{Kind: store.EventSkipped, Step: 1, At: sentAt},
			{Kind: store.EventSent, Step: 2, MessageID: "<x@drip.test>", At: sentAt},
		},
		LastStep: 2, LastSentAt: &sentAt, ThreadSubject: "Hello", ThreadRefs: "<x@drip.test>",
		NextSendAt: &next, State: store.StateActive,
	}}))(t)
	noErr(t, errs[0])
	got := must(s.EnrollmentGet(ctx, e.ID))(t)
	if got.State != store.StateActive || got.LastStep != 2 || got.ThreadSubject != "Hello" ||
		got.ThreadRefs != "<x@drip.test>" || got.LeaseOwner != "" || got.LeaseUntil != nil || got.Version != e.Version+1 {
		t.Fatalf("settled enrollment = %+v", got)
	}
	sameTime(t, "NextSendAt", got.NextSendAt, &next)
	sameTime(t, "LastSentAt", got.LastSentAt, &sentAt)
	sends := must(s.SendsByEnrollment(ctx, e.ID))(t)
	if len(sends) != 2 || sends[0].Status != store.SendSkipped || sends[1].Status != store.SendSent ||
		sends[1].MessageID != start(e, "A", 2, t0).MessageID || sends[1].Attempts != 1 {
		t.Fatalf("sends = %+v", sends)
	}
	sameTime(t, "FinishedAt", sends[1].FinishedAt, &sentAt)
	kinds := timelineKinds(t, s, e.ProspectID)
	if countKind(kinds, store.EventSent) != 1 || countKind(kinds, store.EventSkipped) != 1 {
		t.Fatalf("timeline = %v", kinds)
	}
	tl := must(s.Timeline(ctx, e.ProspectID))(t)
	if last := tl[len(tl)-1]; last.EnrollmentID != e.ID || last.Sequence != "fair" || last.Step != 2 {
		t.Fatalf("sent event = %+v", last)
	}

	// A sent row is never changed again (a late "unknown" from crash
	// recovery must not hide a delivery) ...
	claimOne(t, s, "A", next, time.Minute)
	errs = must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 2, NextSendAt: &next,
		Sends: []store.SendUpdate{{Step: 2, Status: store.SendUnknown, Error: "crash"}}}}))(t)
	noErr(t, errs[0])
	if st := must(s.SendGet(ctx, e.ID, 2))(t); st.Status != store.SendSent || st.Error != "" {
		t.Fatalf("sent row changed to %+v", st)
	}
	// ... while an unknown one may still turn out sent.
	claimOne(t, s, "A", next, time.Minute)
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 3, NextSendAt: &next,
		Sends: []store.SendUpdate{{Step: 3, Status: store.SendUnknown, MessageID: "<3@drip.test>"}}}}))(t)[0])
	claimOne(t, s, "A", next, time.Minute)
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 3, NextSendAt: &next,
		Sends: []store.SendUpdate{{Step: 3, Status: store.SendSent}}}}))(t)[0])
	if st := must(s.SendGet(ctx, e.ID, 3))(t); st.Status != store.SendSent || st.MessageID != "<3@drip.test>" {
		t.Fatalf("unknown row after a late success = %+v (the Message-ID must stay)", st)
	}
	// LastStep never goes back.
	claimOne(t, s, "A", next, time.Minute)
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 1, NextSendAt: &next}}))(t)[0])
	if got := must(s.EnrollmentGet(ctx, e.ID))(t); got.LastStep != 3 {
		t.Fatalf("LastStep went back to %d", got.LastStep)
	}
	// Completed: nothing more planned.
	claimOne(t, s, "A", next, time.Minute)
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 3, NextSendAt: &next,
		State: store.StateCompleted, Events: []store.Event{{Kind: store.EventCompleted, At: next}}}}))(t)[0])
	if got := must(s.EnrollmentGet(ctx, e.ID))(t); got.State != store.StateCompleted || got.NextSendAt != nil {
		t.Fatalf("completed enrollment = %+v", got)
	}
}

func testSettleLeaseLost(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "lost@example.com", "fair", ptr(t0))
	claimOne(t, s, "A", t0, time.Minute)
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{start(e, "A", 1, t0)}))(t)[0])
	// A stalls past its lease; B takes the enrollment.
	claimOne(t, s, "B", t0.Add(2*time.Minute), time.Hour)
	before := must(s.EnrollmentGet(ctx, e.ID))(t)
	sentAt := t0.Add(3 * time.Minute)
	ok := enrolled(t, s, "fine@example.com", "fair", ptr(t0.Add(3*time.Minute)))
	claimOne(t, s, "A", t0.Add(3*time.Minute), time.Minute)
	errs := must(s.Settle(ctx, []store.Settle{
		{EnrollmentID: e.ID, Owner: "A", LastStep: 1, LastSentAt: &sentAt, NextSendAt: ptr(t0.Add(time.Hour)),
			Sends:  []store.SendUpdate{{Step: 1, Status: store.SendSent, FinishedAt: &sentAt}},
			Events: []store.Event{{Kind: store.EventSent, Step: 1, At: sentAt}}},
		{EnrollmentID: ok.ID, Owner: "A", LastStep: 1, NextSendAt: ptr(t0.Add(time.Hour))},
	}))(t)
	wantErr(t, errs[0], store.ErrLeaseLost)
	noErr(t, errs[1])
	// The facts are kept; the schedule is B's to decide.
	if st := must(s.SendGet(ctx, e.ID, 1))(t); st.Status != store.SendSent {
		t.Fatalf("send after a lease-lost settle = %+v", st)
	}
	if countKind(timelineKinds(t, s, e.ProspectID), store.EventSent) != 1 {
		t.Fatal("sent event of a lease-lost settle not recorded")
	}
	after := must(s.EnrollmentGet(ctx, e.ID))(t)
	if after.LeaseOwner != "B" || after.LastStep != 0 || after.Version != before.Version {
		t.Fatalf("lease-lost settle changed the enrollment: %+v", after)
	}
	if got := must(s.EnrollmentGet(ctx, ok.ID))(t); got.LastStep != 1 {
		t.Fatalf("the other item of the batch was not applied: %+v", got)
	}
}

// testSettlePausedMeanwhile: a reply pauses the enrollment while its send is
// in flight. The send is recorded with its step; nothing more is planned.
func testSettlePausedMeanwhile(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "paused@example.com", "fair", ptr(t0))
	claimOne(t, s, "A", t0, time.Minute)
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{start(e, "A", 1, t0)}))(t)[0])
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: e.ID, From: []store.State{store.StateActive},
		To: store.StateReplied, At: t0.Add(time.Second), Reason: "reply"}))(t)
	sentAt := t0.Add(2 * time.Second)
	errs := must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 1, LastSentAt: &sentAt,
		ThreadSubject: "Hi", ThreadRefs: "<1@drip.test>", NextSendAt: ptr(t0.Add(time.Hour)), State: store.StateActive,
		Sends: []store.SendUpdate{{Step: 1, Status: store.SendSent, FinishedAt: &sentAt}}}}))(t)
	noErr(t, errs[0])
	got := must(s.EnrollmentGet(ctx, e.ID))(t)
	if got.State != store.StateReplied || got.NextSendAt != nil || got.LastStep != 1 || got.ThreadRefs != "<1@drip.test>" || got.LeaseOwner != "" {
		t.Fatalf("enrollment paused during its send = %+v", got)
	}
	sameTime(t, "LastSentAt", got.LastSentAt, &sentAt)
	sameTime(t, "PausedAt", got.PausedAt, ptr(t0.Add(time.Second)))
	if n := must(s.DueBacklog(ctx, t0.Add(2*time.Hour)))(t); n != 0 {
		t.Fatalf("a replied enrollment is due: backlog %d", n)
	}
}

func testSettleTerminalAndSuppress(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "Leaver@example.com", "fair", ptr(t0))
	p := must(s.ProspectGetByEmail(ctx, "leaver@example.com"))(t)
	other := store.Enrollment{ProspectID: p.ID, Sequence: "webinar", FirstContact: t0, NextSendAt: ptr(t0.Add(time.Hour)), CreatedAt: t0}
	must(s.EnrollmentCreate(ctx, &other))(t)
	done := store.Enrollment{ProspectID: p.ID, Sequence: "old", FirstContact: t0, State: store.StateCompleted, CreatedAt: t0}
	must(s.EnrollmentCreate(ctx, &done))(t)
	claimOne(t, s, "A", t0, time.Minute)
	// A permanent refusal at RCPT that asks for suppression.
	errs := must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 1,
		NextSendAt: ptr(t0.Add(time.Hour)), State: store.StateUnsubscribed, Reason: "550 unsubscribed", Suppress: "smtp 550",
		Sends:  []store.SendUpdate{{Step: 1, Status: store.SendFailed, Error: "550"}},
		Events: []store.Event{{Kind: store.EventUnsubscribe, Step: 1, At: t0.Add(time.Second)}}}}))(t)
	noErr(t, errs[0])
	got := must(s.EnrollmentGet(ctx, e.ID))(t)
	if got.State != store.StateUnsubscribed || got.NextSendAt != nil || got.Reason != "550 unsubscribed" {
		t.Fatalf("settled enrollment = %+v", got)
	}
	if !must(s.Suppressed(ctx, "LEAVER@example.com"))(t) {
		t.Fatal("address not suppressed")
	}
	if o := must(s.EnrollmentGet(ctx, other.ID))(t); o.State != store.StateUnsubscribed || o.NextSendAt != nil {
		t.Fatalf("other enrollment of the prospect = %+v, want unsubscribed", o)
	}
	if d := must(s.EnrollmentGet(ctx, done.ID))(t); d.State != store.StateCompleted {
		t.Fatalf("completed enrollment became %s", d.State)
	}
	// A terminal state is final: a later settle cannot revive or change it.
	f := enrolled(t, s, "bounce@example.com", "fair", ptr(t0))
	claimOne(t, s, "A", t0, time.Minute)
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: f.ID, From: []store.State{store.StateActive}, To: store.StateBounced, At: t0}))(t)
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: f.ID, Owner: "A", LastStep: 1, State: store.StateFailed, NextSendAt: ptr(t0.Add(time.Hour))}}))(t)[0])
	if got := must(s.EnrollmentGet(ctx, f.ID))(t); got.State != store.StateBounced || got.NextSendAt != nil {
		t.Fatalf("terminal enrollment after settle = %+v", got)
	}
}
