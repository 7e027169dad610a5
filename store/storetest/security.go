package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// testSecretEnsure: the first value stored wins, for every later caller,
// and concurrent first callers (instances starting together) all get the
// same one.
func testSecretEnsure(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const n = 8
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.SecretEnsure(ctx, "unsubscribe", fmt.Sprintf("key-of-instance-%d", i))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] == "" || got[i] != got[0] {
			t.Fatalf("concurrent first starts got different keys: %q", got)
		}
	}
	if v := must(s.SecretEnsure(ctx, "unsubscribe", "a later instance's key"))(t); v != got[0] {
		t.Fatalf("a later start got %q, want the stored %q", v, got[0])
	}
	if v := must(s.SecretEnsure(ctx, "other", "x"))(t); v != "x" {
		t.Fatalf("another secret = %q, want x", v)
	}
}

// testSessionRevoke: a revoked session stays revoked for every reader of
// the store until it expires; expired records are dropped.
func testSessionRevoke(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	if must(s.SessionRevoked(ctx, "a"))(t) {
		t.Fatal("a session nobody revoked is revoked")
	}
	noErr(t, s.SessionRevoke(ctx, "a", t0.Add(time.Hour), t0))
	noErr(t, s.SessionRevoke(ctx, "a", t0.Add(time.Hour), t0)) // twice: same
	if !must(s.SessionRevoked(ctx, "a"))(t) {
		t.Fatal("revoked session is not revoked")
	}
	noErr(t, s.SessionRevoke(ctx, "b", t0.Add(3*time.Hour), t0.Add(2*time.Hour)))
	if must(s.SessionRevoked(ctx, "a"))(t) {
		t.Fatal("the record of an expired session was kept")
	}
	if !must(s.SessionRevoked(ctx, "b"))(t) {
		t.Fatal("revoked session b is not revoked")
	}
}

// testUnsuppress: lifting a suppression makes the address sendable again
// and reopens, paused, the enrollments it ended, with the reason in the
// timeline; a forgotten address stays suppressed.
func testUnsuppress(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	e := enrolled(t, s, "wrongly@example.com", "fair", ptr(t0))
	noErr(t, s.SuppressionAdd(ctx, "Wrongly@example.com", "forged bounce", store.StateBounced, store.EventBounce, t0))
	if !must(s.Suppressed(ctx, "wrongly@example.com"))(t) {
		t.Fatal("not suppressed")
	}
	later := t0.Add(48 * time.Hour)
	reopened := must(s.SuppressionRemove(ctx, store.Unsuppress{Email: "WRONGLY@example.com", Reason: "bounce was forged", At: later}))(t)
	if len(reopened) != 1 || reopened[0].ID != e.ID || reopened[0].State != store.StatePaused || reopened[0].PausedAt == nil || reopened[0].PausedAt.After(later) {
		t.Fatalf("reopened = %+v; want enrollment %d paused since it ended", reopened, e.ID)
	}
	if must(s.Suppressed(ctx, "wrongly@example.com"))(t) {
		t.Fatal("still suppressed after SuppressionRemove")
	}
	var found bool
	for _, ev := range must(s.Timeline(ctx, e.ProspectID))(t) {
		if ev.Kind == store.EventUnsuppressed && ev.Detail == "bounce was forged" && ev.EnrollmentID == e.ID {
			found = true
		}
	}
	if !found {
		t.Fatal("no unsuppressed event with the reason in the timeline")
	}
	_, err := s.SuppressionRemove(ctx, store.Unsuppress{Email: "wrongly@example.com", Reason: "again", At: later})
	wantErr(t, err, store.ErrNotFound)

	// An address that never was a prospect.
	noErr(t, s.SuppressionAdd(ctx, "stranger@example.com", "asked", "", "", t0))
	if got := must(s.SuppressionRemove(ctx, store.Unsuppress{Email: "stranger@example.com", Reason: "typo", At: later}))(t); len(got) != 0 {
		t.Fatalf("reopened %d enrollments of a non-prospect", len(got))
	}
	// A forgotten address stays suppressed.
	prospect(t, s, "erased@example.com")
	noErr(t, s.ProspectForget(ctx, "erased@example.com", t0))
	_, err = s.SuppressionRemove(ctx, store.Unsuppress{Email: "erased@example.com", Reason: "oops", At: later})
	wantErr(t, err, store.ErrConflict)
	if !must(s.Suppressed(ctx, "erased@example.com"))(t) {
		t.Fatal("a forgotten address was unsuppressed")
	}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u := store.User{Name: "giulia", PasswordHash: "$2a$12$hash", Role: store.RoleRep, Senders: []string{"maria", "piotr"}, CreatedAt: t0}
	noErr(t, s.UserCreate(ctx, u))
	wantErr(t, s.UserCreate(ctx, u), store.ErrConflict)
	got := must(s.UserGet(ctx, "giulia"))(t)
	if got.Role != store.RoleRep || len(got.Senders) != 2 || got.Senders[1] != "piotr" || got.PasswordHash != u.PasswordHash || !got.UpdatedAt.Equal(t0) {
		t.Fatalf("user = %+v", got)
	}
	noErr(t, s.UserSetPassword(ctx, "giulia", "$2a$12$other", t0.Add(time.Hour)))
	if got := must(s.UserGet(ctx, "giulia"))(t); got.PasswordHash != "$2a$12$other" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after a password change: %+v", got)
	}
	wantErr(t, s.UserSetPassword(ctx, "nobody", "x", t0), store.ErrNotFound)
	noErr(t, s.UserDelete(ctx, "giulia"))
	wantErr(t, s.UserDelete(ctx, "giulia"), store.ErrNotFound)
	_, err := s.UserGet(ctx, "giulia")
	wantErr(t, err, store.ErrNotFound)
}

// testProspectListBySenders: a rep's list holds only the prospects with an
// enrollment by its senders, shown with such an enrollment.
func testProspectListBySenders(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	mine := enrolled(t, s, "b-mine@example.com", "fair", ptr(t0))
	other := enrolled(t, s, "a-other@example.com", "fair", ptr(t0))
	both := enrolled(t, s, "c-both@example.com", "fair", ptr(t0))
	// enrolled() uses sender rep1; give mine and both a rep2 enrollment.
	for _, pid := range []int64{mine.ProspectID, both.ProspectID} {
		e := store.Enrollment{ProspectID: pid, Sequence: "webinar", Sender: "rep2", FirstContact: t0, CreatedAt: t0}
		must(s.EnrollmentCreate(ctx, &e))(t)
	}
	_ = other
	rows, total := must2(s.ProspectList(ctx, store.ProspectFilter{Senders: []string{"rep2"}, Limit: 10}))(t)
	if total != 2 || len(rows) != 2 || rows[0].Prospect.Email != "b-mine@example.com" || rows[1].Prospect.Email != "c-both@example.com" {
		t.Fatalf("rep2's list: total %d, rows %+v", total, rows)
	}
	for _, r := range rows {
		if r.Enrollment == nil || r.Enrollment.Sender != "rep2" {
			t.Fatalf("%s shown with enrollment %+v, want rep2's", r.Prospect.Email, r.Enrollment)
		}
	}
	rows, total = must2(s.ProspectList(ctx, store.ProspectFilter{Senders: []string{"rep2"}, Search: "both", Limit: 10}))(t)
	if total != 1 || rows[0].Prospect.Email != "c-both@example.com" {
		t.Fatalf("rep2's search: total %d", total)
	}
	if _, total = must2(s.ProspectList(ctx, store.ProspectFilter{Senders: []string{"rep2"}, Sequence: "fair", Limit: 10}))(t); total != 0 {
		t.Fatalf("rep2 has no enrollment in fair, listed %d", total)
	}
}
