package sequencer_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// TestRescuerReleasesDeadInstancesLeases: instances die holding a claim
// (5-minute lease) or a mailbox lease; a running Rescuer releases them, at
// its start and then as it goes, and its Stop ends its own registration.
func TestRescuerReleasesDeadInstancesLeases(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			ctx := context.Background()
			st := testrig.Open(t, sk.URL(t))
			now := time.Now()
			p := store.Prospect{Email: "lead@example.com", CreatedAt: now}
			if _, err := st.ProspectUpsert(ctx, &p); err != nil {
				t.Fatal(err)
			}
			en := store.Enrollment{ProspectID: p.ID, Sequence: "fair", Sender: "maria", FirstContact: now, NextSendAt: &now}
			if _, err := st.EnrollmentCreate(ctx, &en); err != nil {
				t.Fatal(err)
			}
			claim := func(owner string) int {
				t.Helper()
				got, err := st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: owner, Now: now, LeaseUntil: now.Add(5 * time.Minute), Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				return len(got)
			}
			dead, err := st.InstanceRegister(ctx, "dead-1")
			if err != nil {
				t.Fatal(err)
			}
			if claim("dead-1") != 1 {
				t.Fatal("dead-1 did not claim the due enrollment")
			}
			_ = dead.Close()

			var mu sync.Mutex
			var rescued []string
			r, err := sequencer.StartRescuer(ctx, sequencer.RescuerOptions{Store: st, Owner: "me", Every: 50 * time.Millisecond,
				OnRescued: func(res store.Rescued) { mu.Lock(); rescued = append(rescued, res.Owners...); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			stopped := false
			defer func() {
				if !stopped {
					r.Stop()
				}
			}()
			was := func(owner string) bool { mu.Lock(); defer mu.Unlock(); return slices.Contains(rescued, owner) }
			testrig.WaitFor(t, "dead-1 rescued", func() bool { return was("dead-1") })
			if claim("me") != 1 {
				t.Fatal("dead-1's claim (a 5-minute lease) is not free after the rescue")
			}

			// One that dies while the rescuer runs.
			dead2, err := st.InstanceRegister(ctx, "dead-2")
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := st.MailboxLease(ctx, "maria", "dead-2", now, now.Add(30*time.Second)); err != nil || !ok {
				t.Fatalf("dead-2 did not get the mailbox: %v %v", ok, err)
			}
			_ = dead2.Close()
			testrig.WaitFor(t, "dead-2 rescued", func() bool { return was("dead-2") })
			if ok, err := st.MailboxLease(ctx, "maria", "me", now, now.Add(30*time.Second)); err != nil || !ok {
				t.Fatalf("dead-2's mailbox lease is not free after the rescue: %v %v", ok, err)
			}

			// Stop ends the registration: "me" is dead to the others.
			r.Stop()
			stopped = true
			testrig.WaitFor(t, "me found dead after Stop", func() bool {
				res, err := st.LeasesRescue(ctx)
				return err == nil && slices.Contains(res.Owners, "me") && res.Enrollments == 1 && res.Mailboxes == 1
			})
		})
	}
}

// lostOnce is a store whose instance's registration is found lost once
// (the database restarted); it counts the rescues.
type lostOnce struct {
	mu        sync.Mutex
	renews    int
	rescues   []time.Time
	renewedAt time.Time
}

func (l *lostOnce) InstanceRegister(context.Context, string) (store.Instance, error) { return l, nil }
func (l *lostOnce) LeasesRescue(context.Context) (store.Rescued, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rescues = append(l.rescues, time.Now())
	return store.Rescued{}, nil
}
func (l *lostOnce) Renew(context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.renews++
	if l.renews == 3 {
		l.renewedAt = time.Now()
		return true, nil
	}
	return false, nil
}
func (l *lostOnce) Close() error { return nil }

// TestRescuerWaitsAfterItsOwnRegistrationWasLost: an instance that had to
// register again judges nobody for Grace: the others lost theirs in the
// same moment and are registering again too.
func TestRescuerWaitsAfterItsOwnRegistrationWasLost(t *testing.T) {
	l := &lostOnce{}
	const every, grace = 20 * time.Millisecond, 300 * time.Millisecond
	r, err := sequencer.StartRescuer(context.Background(), sequencer.RescuerOptions{Store: l, Owner: "me", Every: every, Grace: grace})
	if err != nil {
		t.Fatal(err)
	}
	testrig.WaitFor(t, "rescues after the grace", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return !l.renewedAt.IsZero() && len(l.rescues) > 0 && l.rescues[len(l.rescues)-1].After(l.renewedAt.Add(grace))
	})
	r.Stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, at := range l.rescues {
		if at.After(l.renewedAt) && at.Before(l.renewedAt.Add(grace)) {
			t.Fatalf("rescued %v after re-registering, within the %v grace", at.Sub(l.renewedAt), grace)
		}
	}
	if len(l.rescues) < 3 { // at start, and before the loss
		t.Fatalf("%d rescues; want the one at start and some before the loss", len(l.rescues))
	}
}
