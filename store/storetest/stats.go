package storetest

import (
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

func testStats(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	// Five prospects on "fair", step outcomes settled by the engine and
	// answers recorded by the watcher with the step they answered.
	var es []store.Enrollment
	for _, email := range []string{"a@s.example", "b@s.example", "c@s.example", "d@s.example", "e@s.example"} {
		es = append(es, enrolled(t, s, email, "fair", ptr(t0)))
	}
	enrolled(t, s, "x@s.example", "other", ptr(t0.Add(time.Hour)))
	claimed := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Hour), Limit: 10}))(t)
	if len(claimed) != 5 {
		t.Fatalf("claimed %d", len(claimed))
	}
	sent := func(step int) store.SendUpdate { return store.SendUpdate{Step: step, Status: store.SendSent} }
	next := ptr(t0.Add(time.Hour))
	settles := []store.Settle{
		// a: step 1 skipped, step 2 sent, replied to step 2 (twice: counted once).
		{EnrollmentID: es[0].ID, Owner: "A", LastStep: 2, NextSendAt: next, Sends: []store.SendUpdate{{Step: 1, Status: store.SendSkipped}, sent(2)}},
		// b: step 1 sent, auto-reply, then bounced by DSN.
		{EnrollmentID: es[1].ID, Owner: "A", LastStep: 1, NextSendAt: next, Sends: []store.SendUpdate{sent(1)}},
		// c: step 1 bounced at RCPT (also a bounce event: counted once).
		{EnrollmentID: es[2].ID, Owner: "A", LastStep: 1, State: store.StateBounced, Sends: []store.SendUpdate{{Step: 1, Status: store.SendBounced}},
			Events: []store.Event{{Kind: store.EventBounce, Step: 1, At: t0}}},
		// d: step 1 sent then unsubscribed; step 2 failed.
		{EnrollmentID: es[3].ID, Owner: "A", LastStep: 2, NextSendAt: next, Sends: []store.SendUpdate{sent(1), {Step: 2, Status: store.SendFailed}}},
		// e: step 1 unknown (crash), step 2 still in flight (not an outcome).
		{EnrollmentID: es[4].ID, Owner: "A", LastStep: 1, NextSendAt: next, Sends: []store.SendUpdate{{Step: 1, Status: store.SendUnknown}, {Step: 2, Status: store.SendRetry}}},
	}
	for i, err := range must(s.Settle(ctx, settles))(t) {
		if err != nil {
			t.Fatalf("settle %d: %v", i, err)
		}
	}
	ev := func(e store.Enrollment, kind store.EventKind, step int) store.Event {
		return store.Event{EnrollmentID: e.ID, Kind: kind, Step: step, At: t0.Add(time.Minute)}
	}
	for _, e := range []store.Event{
		ev(es[0], store.EventReply, 2), ev(es[0], store.EventReply, 2),
		ev(es[1], store.EventAutoReply, 1), ev(es[1], store.EventBounce, 1),
		ev(es[3], store.EventUnsubscribe, 1),
		ev(es[3], store.EventDelayed, 1),
	} {
		noErr(t, s.EventAdd(ctx, e))
	}
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: es[0].ID, From: []store.State{store.StateActive}, To: store.StateReplied, At: t0}))(t)
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: es[3].ID, From: []store.State{store.StateActive}, To: store.StateUnsubscribed, At: t0}))(t)

	st := must(s.SequenceStats(ctx, "fair"))(t)
	want := []store.StepStats{
		{Step: 1, Sent: 2, AutoReplies: 1, Bounced: 2, Unsubscribed: 1, Skipped: 1, Unknown: 1},
		{Step: 2, Sent: 1, Replied: 1, Failed: 1},
	}
	if st.Sequence != "fair" || len(st.Steps) != len(want) {
		t.Fatalf("stats = %+v", st)
	}
	for i := range want {
		if st.Steps[i] != want[i] {
			t.Fatalf("step %d = %+v, want %+v", want[i].Step, st.Steps[i], want[i])
		}
	}
	wantStates := map[store.State]int{store.StateActive: 2, store.StateReplied: 1, store.StateBounced: 1, store.StateUnsubscribed: 1}
	for _, state := range store.States {
		if st.States[state] != wantStates[state] {
			t.Fatalf("states = %v, want %v", st.States, wantStates)
		}
	}
	// By language: a and b Italian (spelt two ways, folded by the caller),
	// c and d Polish, e none.
	for email, lang := range map[string]string{"a@s.example": "it", "b@s.example": "IT", "c@s.example": "pl", "d@s.example": "pl"} {
		must(s.ProspectUpsert(ctx, &store.Prospect{Email: email, Language: lang}))(t)
	}
	byLang := map[string]store.LanguageStats{}
	for _, l := range must(s.SequenceLanguageStats(ctx, "fair"))(t) {
		byLang[l.Language] = l
	}
	wantLang := map[string]store.StepStats{
		"it": {Sent: 1, Replied: 1, Skipped: 1},
		"IT": {Sent: 1, AutoReplies: 1, Bounced: 1},
		"pl": {Sent: 1, Bounced: 1, Unsubscribed: 1, Failed: 1},
		"":   {Unknown: 1},
	}
	if len(byLang) != len(wantLang) {
		t.Fatalf("by language = %+v", byLang)
	}
	for l, w := range wantLang {
		if byLang[l].StepStats != w {
			t.Errorf("language %q = %+v, want %+v", l, byLang[l].StepStats, w)
		}
	}
	if st := byLang["pl"].States; st[store.StateBounced] != 1 || st[store.StateUnsubscribed] != 1 || byLang[""].States[store.StateActive] != 1 {
		t.Errorf("states by language = %+v", byLang)
	}

	empty := must(s.SequenceStats(ctx, "never-used"))(t)
	if len(empty.Steps) != 0 || empty.States[store.StateActive] != 0 {
		t.Fatalf("stats of an unused sequence = %+v", empty)
	}
}
