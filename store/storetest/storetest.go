// Package storetest is the conformance suite of store.Store: every driver
// runs it (store/sqlite against a temporary file, store/postgres against a
// fresh database), so both behave the same in every way a user would see.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// Factory returns a fresh, empty, migrated store for one subtest; it
// registers its own cleanup.
type Factory func(t *testing.T) store.Store

// t0 is the suite's "now": all times are injected, none read from a clock.
var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// Run runs the whole suite against the stores newStore makes.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ProspectUpsert", testProspectUpsert},
		{"ProspectList", testProspectList},
		{"ProspectListPlans", testProspectListPlans},
		{"EnrollmentCreate", testEnrollmentCreate},
		{"TimesRoundTrip", testTimesRoundTrip},
		{"Suppression", testSuppression},
		{"ClaimAndLeaseExpiry", testClaimAndLeaseExpiry},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"DueIndexUsed", testDueIndexUsed},
		{"SendsStartGate", testSendsStartGate},
		{"SendsStartRetry", testSendsStartRetry},
		{"DailyLimitConcurrent", testDailyLimitConcurrent},
		{"Settle", testSettle},
		{"SettleLeaseLost", testSettleLeaseLost},
		{"SettlePausedMeanwhile", testSettlePausedMeanwhile},
		{"SettleTerminalAndSuppress", testSettleTerminalAndSuppress},
		{"Transitions", testTransitions},
		{"LeftWithSuccessor", testLeftWithSuccessor},
		{"CompletePastEndAndCounts", testCompletePastEndAndCounts},
		{"SentRefs", testSentRefs},
		{"EnrollmentsRunningByEmail", testEnrollmentsRunningByEmail},
		{"StoreInventsNoEvents", testStoreInventsNoEvents},
		{"Forget", testForget},
		{"InboundDedupAndCursor", testInboundDedupAndCursor},
		{"MailboxCursorStart", testMailboxCursorStart},
		{"MailboxLease", testMailboxLease},
		{"LeasesRescue", testLeasesRescue},
		{"ImportBatch", testImportBatch},
		{"ImportBatchAnchor", testImportBatchAnchor},
		{"NameCaseKept", testNameCaseKept},
		{"SearchFoldsCase", testSearchFoldsCase},
		{"Stats", testStats},
		{"SenderHolds", testSenderHolds},
		{"SenderPace", testSenderPace},
		{"SenderBounces", testSenderBounces},
		{"EnrollmentsPlanned", testEnrollmentsPlanned},
		{"OAuthGrant", testOAuthGrant},
		{"OAuthGrantSerialised", testOAuthGrantSerialised},
		{"SecretEnsure", testSecretEnsure},
		{"SessionRevoke", testSessionRevoke},
		{"Unsuppress", testUnsuppress},
		{"Users", testUsers},
		{"ProspectListBySenders", testProspectListBySenders},
		{"WebhookOutbox", testWebhookOutbox},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func ptr[T any](v T) *T { return &v }

// must(f(...))(t) is f's result, or the test's end when f failed.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func sameTime(t *testing.T, what string, got *time.Time, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Fatalf("%s = %v, want %v", what, got, want)
	case !got.Equal(*want):
		t.Fatalf("%s = %v, want %v", what, *got, *want)
	}
}

// prospect stores a prospect with the address.
func prospect(t *testing.T, s store.Store, email string) store.Prospect {
	t.Helper()
	p := store.Prospect{Email: email, FirstName: "First", CreatedAt: t0}
	if _, err := s.ProspectUpsert(ctxT(t), &p); err != nil {
		t.Fatalf("upserting %s: %v", email, err)
	}
	return p
}

// enrolled stores a prospect enrolled in seq, due at next (nil: nothing planned).
func enrolled(t *testing.T, s store.Store, email, seq string, next *time.Time) store.Enrollment {
	t.Helper()
	p := prospect(t, s, email)
	e := store.Enrollment{ProspectID: p.ID, Sequence: seq, Sender: "rep1", FirstContact: t0,
		NextSendAt: next, CreatedAt: t0}
	if _, err := s.EnrollmentCreate(ctxT(t), &e); err != nil {
		t.Fatalf("enrolling %s: %v", email, err)
	}
	return e
}

// claimOne claims e for owner at now and fails unless exactly e is claimed.
func claimOne(t *testing.T, s store.Store, owner string, now time.Time, lease time.Duration) store.Enrollment {
	t.Helper()
	got := must(s.EnrollmentClaimDue(ctxT(t), store.ClaimParams{Owner: owner, Now: now, LeaseUntil: now.Add(lease), Limit: 10}))(t)
	if len(got) != 1 {
		t.Fatalf("%s claimed %d enrollments, want 1", owner, len(got))
	}
	return got[0]
}

// importDue enrols n new prospects in seq, due at due, in one batch.
func importDue(t *testing.T, s store.Store, n int, seq string, due time.Time) {
	t.Helper()
	rows := make([]store.ImportRow, n)
	for i := range rows {
		rows[i] = store.ImportRow{Line: i + 2, Sequence: seq, Sender: "rep1", FirstContact: t0,
			NextSendAt: ptr(due), Prospect: store.Prospect{Email: fmt.Sprintf("p%05d@%s.example", i, seq)}}
	}
	res := must(s.ImportBatch(ctxT(t), rows))(t)
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("importing line %d: %v", r.Line, r.Err)
		}
	}
}

func timelineKinds(t *testing.T, s store.Store, prospectID int64) []store.EventKind {
	t.Helper()
	var kinds []store.EventKind
	for _, e := range must(s.Timeline(ctxT(t), prospectID))(t) {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func countKind(kinds []store.EventKind, k store.EventKind) int {
	n := 0
	for _, x := range kinds {
		if x == k {
			n++
		}
	}
	return n
}
