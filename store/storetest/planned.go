package storetest

import (
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// EnrollmentsPlanned returns the active enrollments planned before until,
// past-due ones included, by sender then time; not the paused, the ended,
// the unplanned or the later ones.
func testEnrollmentsPlanned(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	late := enrolled(t, s, "late@example.com", "fair", ptr(t0.Add(-48*time.Hour)))
	soon := enrolled(t, s, "soon@example.com", "fair", ptr(t0.Add(time.Hour)))
	enrolled(t, s, "after@example.com", "fair", ptr(t0.Add(8*24*time.Hour)))
	enrolled(t, s, "edge@example.com", "fair", ptr(t0.Add(7*24*time.Hour))) // until is exclusive
	enrolled(t, s, "unplanned@example.com", "fair", nil)
	paused := enrolled(t, s, "paused@example.com", "fair", ptr(t0.Add(time.Hour)))
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: paused.ID,
		From: []store.State{store.StateActive}, To: store.StatePaused, At: t0}))(t)
	other := store.Enrollment{ProspectID: prospect(t, s, "Other@GMail.com").ID, Sequence: "webinar", Sender: "rep0",
		FirstContact: t0, NextSendAt: ptr(t0.Add(2 * time.Hour)), CreatedAt: t0, LastStep: 4}
	if _, err := s.EnrollmentCreate(ctx, &other); err != nil {
		t.Fatal(err)
	}

	got := must(s.EnrollmentsPlanned(ctx, t0.Add(7*24*time.Hour)))(t)
	want := []store.Planned{
		{Sender: "rep0", Sequence: "webinar", LastStep: 4, At: t0.Add(2 * time.Hour), RecipientDomain: "gmail.com"},
		{Sender: "rep1", Sequence: "fair", At: *late.NextSendAt, RecipientDomain: "example.com"},
		{Sender: "rep1", Sequence: "fair", At: *soon.NextSendAt, RecipientDomain: "example.com"},
	}
	if len(got) != len(want) {
		t.Fatalf("planned = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Sender != w.Sender || g.Sequence != w.Sequence || g.LastStep != w.LastStep || !g.At.Equal(w.At) || g.RecipientDomain != w.RecipientDomain {
			t.Errorf("planned[%d] = %+v, want %+v", i, g, w)
		}
	}
}
