package storetest

import (
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// testWebhookOutbox: every recorded event of a webhook kind (and every
// enrollment) is in the outbox of each webhook that wants it, from the
// transaction that recorded it; a prospect's deliveries are handed out one
// at a time in order, a failing one holding back the rest until it is due
// again; a forgotten prospect leaves no delivery behind.
func testWebhookOutbox(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	// Events before any webhook is configured go nowhere.
	enrolled(t, s, "before@example.com", "fair", ptr(t0))
	noErr(t, s.WebhooksSync(ctx, []store.WebhookTarget{
		{URL: "http://127.0.0.1:1/all"},
		{URL: "http://127.0.0.1:1/replies", Kinds: []store.EventKind{store.EventReply}},
	}))
	if n := must(s.WebhookPending(ctx))(t); n != 0 {
		t.Fatalf("pending before any event = %d, want 0", n)
	}
	anna := enrolled(t, s, "anna@example.com", "fair", ptr(t0))
	bob := enrolled(t, s, "bob@example.com", "fair", ptr(t0))
	for _, ev := range []store.Event{
		{EnrollmentID: anna.ID, Kind: store.EventReply, Step: 2, Detail: "interested", At: t0.Add(time.Minute)},
		{EnrollmentID: anna.ID, Kind: store.EventPaused, At: t0.Add(2 * time.Minute)}, // not a webhook kind
		{EnrollmentID: anna.ID, Kind: store.EventCompleted, At: t0.Add(3 * time.Minute)},
		{EnrollmentID: bob.ID, Kind: store.EventBounce, Step: 1, At: t0.Add(time.Minute)},
	} {
		noErr(t, s.EventAdd(ctx, ev))
	}
	// all: anna enrolled, reply, completed; bob enrolled, bounce. replies: anna's reply.
	if n := must(s.WebhookPending(ctx))(t); n != 6 {
		t.Fatalf("pending = %d, want 6", n)
	}
	now := t0.Add(time.Hour)
	type seen struct {
		url, email string
		kind       store.EventKind
	}
	// claim claims until it has want deliveries (or a claim adds none
	// many times over): on PostgreSQL a row waits for the transactions
	// that were running when it was queued, other tests' included.
	claim := func(owner string, want int) []store.WebhookDelivery {
		var got []store.WebhookDelivery
		for try := 0; ; try++ {
			got = append(got, must(s.WebhookClaim(ctx, owner, now, now.Add(time.Minute), 100))(t)...)
			if len(got) >= want || try == 500 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		return got
	}
	got := claim("A", 3)
	want := []seen{
		{"http://127.0.0.1:1/all", "anna@example.com", store.EventEnrolled},
		{"http://127.0.0.1:1/all", "bob@example.com", store.EventEnrolled},
		{"http://127.0.0.1:1/replies", "anna@example.com", store.EventReply},
	}
	if len(got) != len(want) {
		t.Fatalf("first claim: %d deliveries %+v, want %v", len(got), got, want)
	}
	for i, d := range got {
		if w := (seen{d.WebhookURL, d.Prospect.Email, d.Kind}); w != want[i] {
			t.Errorf("first claim [%d] = %v, want %v", i, w, want[i])
		}
	}
	if again := claim("B", 0); len(again) != 0 {
		t.Fatalf("a second instance claimed leased deliveries or their successors: %+v", again)
	}
	annaAll, bobAll, annaReplies := got[0], got[1], got[2]
	if annaAll.Key == annaReplies.Key || annaAll.Key == bobAll.Key || annaAll.Key == "" {
		t.Errorf("keys %q %q %q: want distinct per event", annaAll.Key, bobAll.Key, annaReplies.Key)
	}
	noErr(t, s.WebhookDelivered(ctx, annaAll.ID, "A"))
	noErr(t, s.WebhookDelivered(ctx, annaReplies.ID, "A"))
	wantErr(t, s.WebhookDelivered(ctx, bobAll.ID, "B"), store.ErrLeaseLost)
	noErr(t, s.WebhookRetry(ctx, bobAll.ID, "A", now.Add(10*time.Minute), "503"))

	// Bob's enrolment failed: his bounce waits behind it; Anna's reply is next.
	got = claim("B", 1)
	if len(got) != 1 || got[0].Kind != store.EventReply || got[0].Detail != "interested" || got[0].Step != 2 ||
		got[0].Sequence != "fair" || !got[0].At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second claim = %+v, want only anna's reply (step 2, fair, detail, time)", got)
	}
	if got[0].Key != annaReplies.Key {
		t.Errorf("two webhooks' copies of one reply: keys %q and %q, want the same", got[0].Key, annaReplies.Key)
	}
	noErr(t, s.WebhookDelivered(ctx, got[0].ID, "B"))
	now = now.Add(10 * time.Minute)
	got = claim("B", 2)
	if len(got) != 2 || got[0].Kind != store.EventEnrolled || got[0].Key != bobAll.Key || got[0].Attempts != 1 ||
		got[1].Kind != store.EventCompleted {
		t.Fatalf("third claim = %+v, want bob's enrolment again (same key, 1 attempt) and anna's completion", got)
	}

	// Forget: bob's pending deliveries go, and later events of his write none.
	noErr(t, s.ProspectForget(ctx, "bob@example.com", now))
	noErr(t, s.EventAdd(ctx, store.Event{EnrollmentID: bob.ID, Kind: store.EventReply, Detail: "late", At: now}))
	noErr(t, s.WebhookDelivered(ctx, got[1].ID, "B"))
	if err := s.WebhookDelivered(ctx, got[0].ID, "B"); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("delivering a forgotten prospect's row: %v, want ErrLeaseLost (the row is gone)", err)
	}
	if n := must(s.WebhookPending(ctx))(t); n != 0 {
		t.Fatalf("pending after forget = %d, want 0", n)
	}

	// A webhook dropped from the configuration drops its deliveries.
	enrolled(t, s, "carla@example.com", "fair", ptr(t0))
	noErr(t, s.WebhooksSync(ctx, nil))
	if n := must(s.WebhookPending(ctx))(t); n != 0 {
		t.Fatalf("pending after dropping every webhook = %d, want 0", n)
	}
}
