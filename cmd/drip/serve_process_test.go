package main

// Process-level acceptance tests of `drip serve` (issue 3, points 3–5):
// the real binary as a child process, crashed with SIGKILL, stopped with
// SIGTERM, run twice side by side, against a go-smtp server in the test.
// The binary is this test binary re-executed (see TestMain).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
)

// TestProcessKillMidDelivery: SIGKILL while deliveries are in flight,
// restart, finish. R8: no (prospect, step) reaches the SMTP server twice;
// the steps left unknown are at most `workers` and are not sent again;
// every other step is delivered exactly once.
func TestProcessKillMidDelivery(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) { killMidDelivery(t, sk.URL(t)) })
	}
}

func killMidDelivery(t *testing.T, dbURL string) {
	const prospects, steps, workers = 120, 3, 8
	const interval = 4 * time.Second
	sink := smtptest.New(t, smtptest.Options{})
	// Each reply after the final "." comes a little late, so that sends
	// are in flight most of the time.
	sink.SetFault(smtptest.StallAt(smtptest.AtDot, 30*time.Millisecond))
	// The interval leaves room for the crashed process's leases (2s) to
	// run out before the next step falls due, so that normally no step is
	// skipped by R3 (a slow machine may skip some; see below).
	e := newProcEnv(t, sink, procSetup{dbURL: dbURL, workers: workers, steps: steps, interval: interval.String()})
	emails := e.importProspects("p", prospects)

	first := e.serve("first")
	// Crash early in the round of step 2, so that the enrollments hit
	// have a later step to go on with.
	e.waitFor(time.Minute, "step 2 under way", func() (bool, string) {
		n := sink.Total()
		return n >= prospects+prospects/4, fmt.Sprintf("%d delivered", n)
	})
	// Pin the crash on sends in flight: from now on the server takes each
	// message and keeps its reply, so drip cannot know it was delivered.
	sink.SetFault(smtptest.StallAt(smtptest.AtDot, 0))
	base := sink.Total()
	// Every worker ends up waiting for a reply (each one had at most one
	// message under way at the switch): the crash hits `workers` sends
	// the server has, the most R8 allows to end unknown.
	e.waitFor(30*time.Second, "every worker's message accepted and left unanswered", func() (bool, string) {
		n := sink.Total()
		return n >= base+workers, fmt.Sprintf("%d accepted since", n-base)
	})
	// A few poll periods more for an engine that starts more sends than
	// it has workers to do so; they would end unknown too.
	time.Sleep(300 * time.Millisecond)
	e.kill(first)
	held := sink.Total() - base
	sink.SetFault(smtptest.StallAt(smtptest.AtDot, 30*time.Millisecond))

	second := e.serve("second")
	e.waitFor(2*time.Minute, "every enrollment completed", func() (bool, string) {
		s := e.states()
		return s[store.StateCompleted] == prospects, fmt.Sprintf("%v", s)
	})
	e.term(second)

	delivered := sinkSteps(t, sink)
	recorded, enrollments := e.storeSteps(emails)
	var sent, unknown, unknownAccepted, skipped int
	for _, email := range emails {
		for step := 1; step <= steps; step++ {
			k := stepKey{email, step}
			got, s := delivered[k], recorded[k]
			switch {
			case len(got) > 1:
				t.Errorf("%v reached the SMTP server %d times (Message-IDs %v)", k, len(got), got)
			case s.Status == store.SendSent:
				sent++
				if len(got) != 1 || got[0] != s.MessageID {
					t.Errorf("%v is recorded sent as %s, but the server received %v", k, s.MessageID, got)
				}
			case s.Status == store.SendUnknown:
				unknown++
				if len(got) == 1 {
					unknownAccepted++
					if got[0] != s.MessageID {
						t.Errorf("%v is unknown as %s, but the server received %s", k, s.MessageID, got[0])
					}
				}
			case s.Status == store.SendSkipped:
				// Legitimate only by R3: when it was skipped, the next
				// step was due already. (Not expected on an idle machine.)
				skipped++
				nextDue := enrollments[email].Anchor.Add(time.Duration(step) * interval)
				if len(got) != 0 || s.FinishedAt == nil || s.FinishedAt.Before(nextDue) {
					t.Errorf("%v skipped at %v, before step %d was due (%v), or delivered anyway (%v)", k, s.FinishedAt, step+1, nextDue, got)
				}
			default:
				t.Errorf("%v ended %q (%s); want it sent, or unknown after the crash", k, s.Status, s.Error)
			}
		}
	}
	for k := range delivered {
		if _, ok := recorded[k]; !ok {
			t.Errorf("the server received %v, which drip has no record of", k)
		}
	}
	if unknown > workers {
		t.Errorf("%d steps unknown after one crash with %d workers; want at most %d", unknown, workers, workers)
	}
	if unknownAccepted == 0 {
		// The crash hit messages the server had accepted: they must be
		// unknown, counted once, never re-sent. None means the test did
		// not exercise the crash it is about.
		t.Errorf("no unknown step was accepted by the server; %d messages were held unanswered at the kill", held)
	}
	if sent+unknown+skipped != prospects*steps {
		t.Errorf("%d sent + %d unknown + %d skipped; want %d steps in all", sent, unknown, skipped, prospects*steps)
	}
	t.Logf("%d steps sent once, %d unknown after the crash (%d of them accepted by the server before it, %d held at the kill), %d skipped by R3",
		sent, unknown, unknownAccepted, held, skipped)
}

// TestProcessTwoInstancesShareWork: two `drip serve` processes on one
// PostgreSQL deliver 2,000 steps exactly once between them, and both do
// part of the work, as each one's drip_messages_sent_total shows.
func TestProcessTwoInstancesShareWork(t *testing.T) {
	const prospects = 2000
	dbURL := pgtest.NewDatabase(t)
	sink := smtptest.New(t, smtptest.Options{})
	e := newProcEnv(t, sink, procSetup{dbURL: dbURL, workers: 8, steps: 1, interval: "1d"})
	// Both run before anything is due, so that neither gets a head start.
	a, b := e.serve("a"), e.serve("b")
	emails := e.importProspects("q", prospects)

	e.waitFor(2*time.Minute, "every enrollment completed", func() (bool, string) {
		s := e.states()
		return s[store.StateCompleted] == prospects, fmt.Sprintf("%v, %d delivered", s, sink.Total())
	})
	var sentA, sentB float64
	e.waitFor(10*time.Second, "the instances' sent counters to add up", func() (bool, string) {
		var errA, errB error
		sentA, errA = a.metric("drip_messages_sent_total")
		sentB, errB = b.metric("drip_messages_sent_total")
		if errA != nil || errB != nil {
			return false, fmt.Sprintf("%v; %v", errA, errB)
		}
		return sentA+sentB >= prospects, fmt.Sprintf("a=%v b=%v", sentA, sentB)
	})
	if sentA+sentB != prospects {
		t.Errorf("drip_messages_sent_total: a=%v + b=%v = %v; want %d", sentA, sentB, sentA+sentB, prospects)
	}
	if sentA == 0 || sentB == 0 {
		t.Errorf("drip_messages_sent_total: a=%v b=%v; want both instances to deliver part", sentA, sentB)
	}

	delivered := sinkSteps(t, sink)
	for _, email := range emails {
		if got := delivered[stepKey{email, 1}]; len(got) != 1 {
			t.Errorf("%s received step 1 %d times", email, len(got))
		}
	}
	if n := sink.Total(); n != prospects {
		t.Errorf("the server received %d messages; want %d", n, prospects)
	}
	e.term(a)
	e.term(b)
	t.Logf("a delivered %v, b %v", sentA, sentB)
}

// TestProcessDailyLimitAcrossRestart: a sender's daily_limit is counted
// in the store, so a restarted process does not get a fresh allowance:
// over the cap, sends wait for the start of the sender's next day.
func TestProcessDailyLimitAcrossRestart(t *testing.T) {
	const limit = 10
	sink := smtptest.New(t, smtptest.Options{})
	// The sender's day ends about 11 hours from now whenever the test
	// runs, so that it cannot roll over (and reset the cap) mid-test.
	tz := noonZone(time.Now())
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	e := newProcEnv(t, sink, procSetup{dbURL: "sqlite:" + t.TempDir() + "/drip.db", workers: 8, steps: 1,
		interval: "1d", dailyLimit: limit, senderTZ: tz})
	emails := e.importProspects("d", 25)

	first := e.serve("first")
	y, m, d := time.Now().In(loc).Date()
	tomorrow := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	capHeld := func() {
		if n := sink.Total(); n > limit {
			t.Fatalf("the server received %d messages with daily_limit %d", n, limit)
		}
	}
	e.waitFor(time.Minute, "10 delivered and 15 deferred to the next day", func() (bool, string) {
		capHeld()
		return e.deferred(emails, tomorrow, limit)
	})
	if n := sink.Total(); n != limit {
		t.Fatalf("the server received %d messages with daily_limit %d", n, limit)
	}
	e.term(first)

	// A lead enrolled meanwhile is due at once; the restarted process must
	// still see the day's cap used up.
	emails = append(emails, e.importProspects("late", 5)...)
	second := e.serve("second")
	e.waitFor(time.Minute, "the 5 new ones deferred to the next day too", func() (bool, string) {
		capHeld()
		return e.deferred(emails, tomorrow, limit)
	})
	// A few more poll periods (50ms each) for a wrong send to show.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) && sink.Total() == limit {
		time.Sleep(20 * time.Millisecond)
	}
	if n := sink.Total(); n != limit {
		t.Errorf("after the restart the server has %d messages; want still %d (daily_limit)", n, limit)
	}
	e.term(second)
	// The first process said why its sends wait; the restarted one read
	// the hold from the store and never tried the server.
	if !first.log.contains("reason=daily_limit") {
		t.Errorf("the first process did not log that the daily limit was reached:\n%s", first.log.tail(20))
	}
}

// deferred reports whether exactly `sent` enrollments completed and every
// other one is active and planned for the start of the sender's next day.
func (e *procEnv) deferred(emails []string, tomorrow time.Time, sent int) (bool, string) {
	e.t.Helper()
	ctx := context.Background()
	completed, waiting := 0, 0
	for _, email := range emails {
		p, err := e.store().ProspectGetByEmail(ctx, email)
		if err != nil {
			e.t.Fatalf("prospect %s: %v", email, err)
		}
		ens, err := e.store().EnrollmentsByProspect(ctx, p.ID)
		if err != nil || len(ens) != 1 {
			e.t.Fatalf("enrollments of %s: %d, %v", email, len(ens), err)
		}
		en := ens[0]
		switch {
		case en.State == store.StateCompleted:
			completed++
		case en.State == store.StateActive && en.NextSendAt != nil && en.NextSendAt.Equal(tomorrow):
			waiting++
		}
	}
	return completed == sent && waiting == len(emails)-sent,
		fmt.Sprintf("%d completed, %d waiting for %s, of %d", completed, waiting, tomorrow.Format(time.RFC3339), len(emails))
}

// noonZone is a fixed-offset zone where it is now about noon.
func noonZone(now time.Time) string {
	east := 12 - now.UTC().Hour() // -11..12
	// Etc/GMT names have the sign the other way round: Etc/GMT-3 is UTC+3.
	switch {
	case east > 0:
		return fmt.Sprintf("Etc/GMT-%d", east)
	case east < 0:
		return fmt.Sprintf("Etc/GMT+%d", -east)
	}
	return "Etc/GMT"
}

// TestProcessTermFinishesInFlight: SIGTERM while sends are in flight, the
// process finishes them, records them and exits 0 within the grace; no
// row is left "sending"; a restart delivers the rest, nothing twice.
func TestProcessTermFinishesInFlight(t *testing.T) {
	const prospects, workers = 60, 8
	sink := smtptest.New(t, smtptest.Options{})
	sink.SetFault(smtptest.StallAt(smtptest.AtDot, 200*time.Millisecond))
	e := newProcEnv(t, sink, procSetup{dbURL: "sqlite:" + t.TempDir() + "/drip.db", workers: workers, steps: 1, interval: "1d"})
	emails := e.importProspects("s", prospects)

	first := e.serve("first")
	e.waitFor(time.Minute, "some delivered", func() (bool, string) {
		n := sink.Total()
		return n >= 8, fmt.Sprintf("%d delivered", n)
	})
	// Hold the replies, so that sends are surely in flight at SIGTERM.
	sink.SetFault(smtptest.StallAt(smtptest.AtDot, 0))
	base := sink.Total()
	e.waitFor(30*time.Second, "every worker's message accepted and left unanswered", func() (bool, string) {
		n := sink.Total()
		return n >= base+workers, fmt.Sprintf("%d accepted since", n-base)
	})
	t0 := time.Now()
	e.signalTerm(first)
	e.waitFor(30*time.Second, "the process to stop claiming", func() (bool, string) {
		return first.log.contains("stopping: no new claims"), "no stopping line in its log"
	})
	// Give it a moment to do wrong: a process that cancelled its sends
	// instead of finishing them would exit now, with them unknown.
	select {
	case <-first.done:
		t.Fatalf("drip serve exited with sends in flight whose replies had not come:\n%s", first.log.tail(20))
	case <-time.After(500 * time.Millisecond):
	}
	released := time.Now()
	sink.SetFault(smtptest.StallAt(smtptest.AtDot, 200*time.Millisecond)) // the replies come
	e.waitExit0(first, t0, 30*time.Second)
	took := time.Since(released)

	delivered := sinkSteps(t, sink)
	recorded, enrollments := e.storeSteps(emails)
	for email, en := range enrollments {
		if en.LeaseOwner != "" {
			t.Errorf("%s is still leased by %s after SIGTERM", email, en.LeaseOwner)
		}
	}
	for k, s := range recorded {
		got := delivered[k]
		switch {
		case s.Status == store.SendSending:
			t.Errorf("%v is left %q after SIGTERM", k, s.Status)
		case s.Status == store.SendSent && len(got) == 1 && got[0] == s.MessageID:
		default:
			t.Errorf("%v is recorded %q (%s) after SIGTERM; the server received %v", k, s.Status, s.MessageID, got)
		}
	}
	for k := range delivered {
		if s := recorded[k]; s.Status != store.SendSent {
			t.Errorf("the server accepted %v, but drip recorded it %q after SIGTERM", k, s.Status)
		}
	}
	before := len(delivered)
	if before >= prospects {
		t.Fatalf("all %d delivered before SIGTERM; nothing left to test the restart with", prospects)
	}

	sink.SetFault()
	second := e.serve("second")
	e.waitFor(time.Minute, "every enrollment completed", func() (bool, string) {
		s := e.states()
		return s[store.StateCompleted] == prospects, fmt.Sprintf("%v", s)
	})
	e.term(second)
	delivered = sinkSteps(t, sink)
	recorded, _ = e.storeSteps(emails)
	for _, email := range emails {
		k := stepKey{email, 1}
		if got := delivered[k]; len(got) != 1 || recorded[k].Status != store.SendSent || got[0] != recorded[k].MessageID {
			t.Errorf("%v: the server received %v, drip recorded %q %s; want it once, sent", k, got, recorded[k].Status, recorded[k].MessageID)
		}
	}
	if n := sink.Total(); n != prospects {
		t.Errorf("the server received %d messages for %d one-step enrollments", n, prospects)
	}
	t.Logf("SIGTERM with %d+ sends in flight: exit 0 %v after their replies came; %d delivered before, %d after the restart", workers, took.Round(time.Millisecond), before, prospects-before)
}
