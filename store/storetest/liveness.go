package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// testLeasesRescue: an instance dies holding a claim (with a step in
// flight) and a mailbox lease; both are released at once, long before they
// would run out, while the leases of a live instance, and of an owner that
// never registered, stay. The step in flight stays "sending": claimed
// again, it is a conflict (it becomes unknown), never a new send.
func testLeasesRescue(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const lease = 5 * time.Minute
	dead := must(s.InstanceRegister(ctx, "dead-1"))(t)
	t.Cleanup(func() { _ = dead.Close() })
	alive := must(s.InstanceRegister(ctx, "alive-1"))(t)
	t.Cleanup(func() { _ = alive.Close() })

	a := enrolled(t, s, "a@example.com", "fair", ptr(t0))
	claimOne(t, s, "dead-1", t0, lease)
	enrolled(t, s, "b@example.com", "fair", ptr(t0))
	claimOne(t, s, "alive-1", t0, lease)
	enrolled(t, s, "c@example.com", "fair", ptr(t0))
	claimOne(t, s, "unregistered", t0, lease)
	errs := must(s.SendsStart(ctx, []store.SendStart{{EnrollmentID: a.ID, Owner: "dead-1", Step: 1,
		Sender: "rep1", MessageID: "<a1@rep1.example>", PlannedAt: t0, StartedAt: t0}}))(t)
	noErr(t, errs[0])
	for owner, box := range map[string]string{"dead-1": "rep-dead", "alive-1": "rep-alive", "unregistered": "rep-old"} {
		if !must(s.MailboxLease(ctx, box, owner, t0, t0.Add(30*time.Second)))(t) {
			t.Fatalf("%s did not get the free lease of %s", owner, box)
		}
	}

	later := t0.Add(time.Second) // every lease runs for a long while yet
	claim := func() []store.Enrollment {
		t.Helper()
		return must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "rescuer", Now: later, LeaseUntil: later.Add(lease), Limit: 10}))(t)
	}
	if r := must(s.LeasesRescue(ctx))(t); len(r.Owners) != 0 || r.Enrollments != 0 || r.Mailboxes != 0 {
		t.Fatalf("LeasesRescue while every instance lives = %+v, want nothing", r)
	}
	if got := claim(); len(got) != 0 {
		t.Fatalf("claimed %d enrollments leased by live instances", len(got))
	}

	noErr(t, dead.Close()) // as if its process died
	// SQLite sees it at once; PostgreSQL once the server has ended the
	// session, a moment after the client closed it.
	var r store.Rescued
	deadline := time.Now().Add(10 * time.Second)
	for len(r.Owners) == 0 && time.Now().Before(deadline) {
		r = must(s.LeasesRescue(ctx))(t)
		if len(r.Owners) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !slices.Equal(r.Owners, []string{"dead-1"}) || r.Enrollments != 1 || r.Mailboxes != 1 {
		t.Fatalf("LeasesRescue after dead-1 died = %+v, want dead-1's claim and mailbox", r)
	}
	got := claim()
	if len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("after the rescue another instance claimed %+v, want only %d (dead-1's)", got, a.ID)
	}
	// R8: the step dead-1 had in flight is not started again.
	errs = must(s.SendsStart(ctx, []store.SendStart{{EnrollmentID: a.ID, Owner: "rescuer", Step: 1,
		Sender: "rep1", MessageID: "<a1-again@rep1.example>", PlannedAt: t0, StartedAt: later}}))(t)
	wantErr(t, errs[0], store.ErrConflict)
	if sd := must(s.SendGet(ctx, a.ID, 1))(t); sd.Status != store.SendSending || sd.MessageID != "<a1@rep1.example>" {
		t.Fatalf("dead-1's step in flight is now %s %s, want it left sending as <a1@rep1.example>", sd.Status, sd.MessageID)
	}
	for box, want := range map[string]bool{"rep-dead": true, "rep-alive": false, "rep-old": false} {
		if got := must(s.MailboxLease(ctx, box, "rescuer", later, later.Add(30*time.Second)))(t); got != want {
			t.Errorf("rescuer took the lease of %s: %v, want %v", box, got, want)
		}
	}
	// A dead instance is rescued once.
	if r := must(s.LeasesRescue(ctx))(t); len(r.Owners) != 0 {
		t.Fatalf("a second LeasesRescue = %+v, want nothing", r)
	}
	if renewed, err := alive.Renew(ctx); err != nil || renewed {
		t.Fatalf("Renew of a live registration = %v, %v; want it kept", renewed, err)
	}
	noErr(t, alive.Close())
	if _, err := alive.Renew(ctx); err == nil {
		t.Fatal("Renew after Close succeeded")
	}
}
