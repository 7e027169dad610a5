package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// sendStepOne plays the engine: every enrollment of the store whose step 1
// is due gets it sent (through the store's gate, as the engine records it).
func sendStepOne(t *testing.T, st store.Store) map[int64]string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	claimed, err := st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "test", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	sent := map[int64]string{}
	for _, e := range claimed {
		msgID := fmt.Sprintf("<step1.%d@example.com>", e.ID)
		errs, err := st.SendsStart(ctx, []store.SendStart{{EnrollmentID: e.ID, Owner: "test", Step: 1, Sender: e.Sender,
			MessageID: msgID, PlannedAt: *e.NextSendAt, StartedAt: now, Day: now.Format(time.DateOnly)}})
		if err != nil || errs[0] != nil {
			t.Fatalf("starting a send: %v %v", err, errs)
		}
		next := now.Add(240 * time.Hour)
		errs, err = st.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "test", State: store.StateActive,
			Sends:    []store.SendUpdate{{Step: 1, Status: store.SendSent, MessageID: msgID, FinishedAt: &now}},
			Events:   []store.Event{{ProspectID: e.ProspectID, EnrollmentID: e.ID, Step: 1, Kind: store.EventSent, MessageID: msgID, At: now}},
			LastStep: 1, LastSentAt: &now, NextSendAt: &next}})
		if err != nil || errs[0] != nil {
			t.Fatalf("settling a send: %v %v", err, errs)
		}
		sent[e.ProspectID] = msgID
	}
	return sent
}

// answer records an inbound message of kind about the prospect's step 1,
// as the mailbox watcher does.
func answer(t *testing.T, c *sequencer.Control, email string, kind store.EventKind, to store.State, uid uint32) {
	t.Helper()
	ctx := context.Background()
	p, err := c.Store.ProspectGetByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	ens, err := c.Store.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	e := ens[0]
	in := store.Inbound{Sender: "maria", UIDValidity: 1, UID: uid, Key: fmt.Sprint("in", uid),
		Events: []store.Event{{ProspectID: p.ID, EnrollmentID: e.ID, Step: 1, Kind: kind, MessageID: fmt.Sprintf("<in%d@example.org>", uid), At: time.Now()}}}
	if to != "" {
		in.Transitions = []store.Transition{{EnrollmentID: e.ID, From: []store.State{store.StateActive}, To: to, At: time.Now()}}
	}
	if err := c.Store.InboundRecord(ctx, in); err != nil {
		t.Fatal(err)
	}
}

func TestStatus(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			if out := e.mustDrip("status"); !strings.Contains(out, "trade-fair (60 steps)\n  enrollments: active 0,") || !strings.Contains(out, "nothing sent yet") {
				t.Errorf("status of an empty store:\n%s", out)
			}

			since := time.Now().AddDate(0, 0, -12).Format("2006-01-02")
			for _, a := range []string{"a", "b", "c", "d"} {
				e.mustDrip("enroll", "--sequence", "trade-fair", "--email", a+"@example.com", "--first-contact", since)
			}
			c := e.control()
			sent := sendStepOne(t, c.Store)
			if len(sent) != 4 {
				t.Fatalf("sent %d, want 4", len(sent))
			}
			answer(t, c, "a@example.com", store.EventReply, store.StateReplied, 1)
			answer(t, c, "b@example.com", store.EventAutoReply, "", 2)
			e.mustDrip("unsubscribe", "d@example.com")

			out := e.mustDrip("status")
			if !strings.Contains(out, "  enrollments: active 2, paused 0, replied 1, bounced 0, unsubscribed 1, completed 0, failed 0, left 0, unenrolled 0\n") {
				t.Errorf("status lacks the enrollments by state:\n%s", out)
			}
			// step sent replied auto bounced unsub skipped failed unknown rate
			for _, row := range []string{`1\s+4\s+1\s+1\s+0\s+1\s+0\s+0\s+0\s+25\.0%`, `total\s+4\s+1\s+1\s+0\s+1\s+0\s+0\s+0\s+25\.0%`} {
				if !regexp.MustCompile(`(?m)^\s+` + row + `\s*$`).MatchString(out) {
					t.Errorf("status lacks the row %s:\n%s", row, out)
				}
			}
			var table []string
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "reply rate") || regexp.MustCompile(`%\s*$`).MatchString(l) {
					table = append(table, l)
				}
			}
			for _, l := range table {
				if len(l) != len(table[0]) {
					t.Errorf("table columns not aligned:\n%s", strings.Join(table, "\n"))
					break
				}
			}

			out = e.mustDrip("status", "a@example.com")
			p, _ := c.Store.ProspectGetByEmail(context.Background(), "a@example.com")
			for _, want := range []string{
				"a@example.com <a@example.com>",
				"trade-fair  maria   replied  1/60",
				"nothing planned (replied)",
				"sent      trade-fair  step 1  " + sent[p.ID],
				"reply     trade-fair  step 1  <in1@example.org>",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("status a@example.com lacks %q:\n%s", want, out)
				}
			}
			out = e.mustDrip("status", "c@example.com")
			if !regexp.MustCompile(`trade-fair\s+maria\s+active\s+1/60\s+.*next step 2 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d`).MatchString(out) {
				t.Errorf("status c@example.com lacks the next send:\n%s", out)
			}
			if _, errOut, code := e.drip("status", "a@example.com", "b@example.com"); code != 2 || !strings.Contains(errOut, "at most one") {
				t.Errorf("two addresses: exit %d, %q", code, errOut)
			}
		})
	}
}
