package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
	"github.com/drip-email/drip/store/storeopen"
)

// The batched paths of SendsStart and Settle (one read of the batch, its
// rows written together) must answer and store exactly what the item by
// item path does (the one a batch that names an enrollment twice takes).
// Two stores get the same history: one in batches, the other one item per
// call, each call with two items for an enrollment that does not exist,
// which forces the item-by-item path and changes nothing; then everything
// a user can see is compared.

// phantom is an enrollment id that does not exist.
const phantom = 999_999_999

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func open(t *testing.T, url string) store.Store {
	t.Helper()
	ctx := context.Background()
	st, dialect, db, err := storeopen.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := migrations.Up(ctx, db, dialect); err != nil {
		t.Fatal(err)
	}
	return st
}

func twins(t *testing.T) map[string][2]store.Store {
	dir := t.TempDir()
	return map[string][2]store.Store{
		"sqlite":   {open(t, "sqlite:"+filepath.Join(dir, "a.db")), open(t, "sqlite:"+filepath.Join(dir, "b.db"))},
		"postgres": {open(t, pgtest.NewDatabase(t)), open(t, pgtest.NewDatabase(t))},
	}
}

// kind is what a caller can tell of an item's answer.
func kind(err error) string {
	for _, k := range []error{store.ErrLeaseLost, store.ErrSuppressed, store.ErrConflict, store.ErrDailyLimit} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return "ok"
}

func kinds(errs []error) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = kind(e)
	}
	return out
}

// world is what the user sees of a store: per address, the enrollment,
// its send rows and its timeline (ids and versions left out), and the
// day's use of the cap.
func world(t *testing.T, s store.Store, n int) string {
	t.Helper()
	ctx := context.Background()
	out := ""
	for i := range n {
		email := fmt.Sprintf("p%02d@example.com", i)
		p, err := s.ProspectGetByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		es, err := s.EnrollmentsByProspect(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			out += fmt.Sprintf("%s %s step=%d last=%v next=%v lease=%q/%v subj=%q refs=%q reason=%q v=%d\n", email, e.State,
				e.LastStep, e.LastSentAt, e.NextSendAt, e.LeaseOwner, e.LeaseUntil, e.ThreadSubject, e.ThreadRefs, e.Reason, e.Version)
			sends, err := s.SendsByEnrollment(ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, sd := range sends {
				out += fmt.Sprintf("  send %d %s %s att=%d planned=%v started=%v finished=%v err=%q\n", sd.Step, sd.Status,
					sd.MessageID, sd.Attempts, sd.PlannedAt, sd.StartedAt, sd.FinishedAt, sd.Error)
			}
		}
		tl, err := s.Timeline(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range tl {
			if ev.Kind == store.EventEnrolled {
				continue // at the moment of the import, which differs
			}
			out += fmt.Sprintf("  event %s step=%d %q %q %v\n", ev.Kind, ev.Step, ev.MessageID, ev.Detail, ev.At)
		}
	}
	used, err := s.SenderDailyUsed(ctx, "rep1", "2026-11-20")
	if err != nil {
		t.Fatal(err)
	}
	return out + fmt.Sprintf("used %d\n", used)
}

func TestBatchesMatchOneByOne(t *testing.T) {
	const n = 12
	for name, pair := range twins(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ids := make([][n]int64, 2)
			for k, s := range pair {
				var rows []store.ImportRow
				for i := range n {
					rows = append(rows, store.ImportRow{Line: i + 2, Sequence: "fair", Sender: "rep1", FirstContact: t0,
						NextSendAt: &t0, Prospect: store.Prospect{Email: fmt.Sprintf("p%02d@example.com", i)}})
				}
				if _, err := s.ImportBatch(ctx, rows); err != nil {
					t.Fatal(err)
				}
				// p11 is suppressed after its claim; p10 is paused.
				claimed, err := s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Hour), Limit: n})
				if err != nil || len(claimed) != n {
					t.Fatalf("claimed %d: %v", len(claimed), err)
				}
				for _, e := range claimed {
					p, _ := s.ProspectGet(ctx, e.ProspectID)
					var i int
					fmt.Sscanf(p.Email, "p%02d@", &i)
					ids[k][i] = e.ID
				}
				if err := s.SuppressionAdd(ctx, "p11@example.com", "complaint", "", "", t0); err != nil {
					t.Fatal(err)
				}
				if _, err := s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: ids[k][10], From: []store.State{store.StateActive},
					To: store.StatePaused, At: t0}); err != nil {
					t.Fatal(err)
				}
			}
			at := t0.Add(time.Second)
			start := func(k, i, step, limit int) store.SendStart {
				return store.SendStart{EnrollmentID: ids[k][i], Owner: "A", Step: step, Sender: "rep1",
					MessageID: fmt.Sprintf("<%d.%d@drip.test>", i, step), PlannedAt: t0, StartedAt: at, Day: "2026-11-20", DailyLimit: limit}
			}
			// Round 1: starts under a cap of 6 (p06 and p07 find it used
			// up), a paused and a suppressed enrollment, one not leased.
			round1 := func(k int) []store.SendStart {
				var ss []store.SendStart
				for i := range n {
					ss = append(ss, start(k, i, 1, 6))
				}
				ss[9].Owner = "B"
				return ss
			}
			var got [2][]string
			batched, single := pair[0], pair[1]
			errs, err := batched.SendsStart(ctx, round1(0))
			if err != nil {
				t.Fatal(err)
			}
			got[0] = kinds(errs)
			ghost := store.SendStart{EnrollmentID: phantom, Owner: "A", Step: 1, Sender: "rep1", Day: "2026-11-20"}
			oneStart := func(st store.SendStart) string {
				errs, err := single.SendsStart(ctx, []store.SendStart{st, ghost, ghost})
				if err != nil {
					t.Fatal(err)
				}
				return kind(errs[0])
			}
			for _, st := range round1(1) {
				got[1] = append(got[1], oneStart(st))
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				t.Fatalf("SendsStart answers differ:\nbatch  %v\nsingle %v", got[0], got[1])
			}
			if w0, w1 := world(t, batched, n), world(t, single, n); w0 != w1 {
				t.Fatalf("after SendsStart the stores differ:\nbatch:\n%s\nsingle:\n%s", w0, w1)
			}

			// Round 2: the outcomes of the started ones (sent, retry,
			// bounced, a lease-lost one), and in the same transaction new
			// starts under a larger cap: a second step, a step already in
			// flight (a conflict), one the first cap refused.
			done := at.Add(time.Second)
			next := t0.Add(24 * time.Hour)
			settles := func(k int) []store.Settle {
				var out []store.Settle
				for _, i := range []int{0, 1, 2, 3, 9} {
					s := store.Settle{EnrollmentID: ids[k][i], Owner: "A", LastStep: 1, NextSendAt: &next, State: store.StateActive}
					switch i {
					case 0, 1, 9:
						s.Sends = []store.SendUpdate{{Step: 1, Status: store.SendSent, FinishedAt: &done}}
						s.Events = []store.Event{{Kind: store.EventSent, Step: 1, MessageID: fmt.Sprintf("<%d.1@drip.test>", i), At: done}}
						s.LastSentAt, s.ThreadSubject, s.ThreadRefs = &done, "Hello", fmt.Sprintf("<%d.1@drip.test>", i)
					case 2:
						s.Sends = []store.SendUpdate{{Step: 1, Status: store.SendRetry, Error: "451 later"}}
						s.LastStep = 0
					case 3:
						s.Sends = []store.SendUpdate{{Step: 1, Status: store.SendBounced, Error: "550 no", FinishedAt: &done}}
						s.Events = []store.Event{{Kind: store.EventBounce, Step: 1, Detail: "550 no", At: done}}
						s.State, s.Reason = store.StateBounced, "550 no"
						s.NextSendAt = nil
					}
					out = append(out, s)
				}
				return out
			}
			restarts := func(k int) []store.SendStart {
				return []store.SendStart{start(k, 4, 2, 10), start(k, 5, 1, 10), start(k, 6, 1, 10)}
			}
			se, st, err := batched.(interface {
				SettleAndStart(context.Context, []store.Settle, []store.SendStart) ([]error, []error, error)
			}).SettleAndStart(ctx, settles(0), restarts(0))
			if err != nil {
				t.Fatal(err)
			}
			got[0] = append(kinds(se), kinds(st)...)
			got[1] = nil
			none := store.Settle{EnrollmentID: phantom, Owner: "A"}
			for _, s := range settles(1) {
				errs, err := single.Settle(ctx, []store.Settle{s, none, none})
				if err != nil {
					t.Fatal(err)
				}
				got[1] = append(got[1], kind(errs[0]))
			}
			for _, s := range restarts(1) {
				got[1] = append(got[1], oneStart(s))
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				t.Fatalf("SettleAndStart answers differ:\nbatch  %v\nsingle %v", got[0], got[1])
			}
			if w0, w1 := world(t, batched, n), world(t, single, n); w0 != w1 {
				t.Fatalf("after SettleAndStart the stores differ:\nbatch:\n%s\nsingle:\n%s", w0, w1)
			}
		})
	}
}
