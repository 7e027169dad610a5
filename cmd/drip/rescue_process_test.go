package main

// Process-level acceptance of crash recovery (issue 16, point 3): a
// `drip serve` killed with SIGKILL leaves claims on 5-minute leases (the
// default), steps in flight and its mailbox's 30-second lease; its restart,
// or the instance beside it, takes all of it over within 15 s instead of
// waiting for the leases to run out, and nothing reaches the SMTP server
// twice.

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/pgtest"
)

// takeoverWithin is the acceptance's bound: well under the 5-minute claim
// lease and the 30-second mailbox lease.
const takeoverWithin = 15 * time.Second

// TestProcessKillRestartTakesOver: SIGKILL with claims, sends in flight
// and the mailbox lease held; restarted at once, the new process delivers
// every enrollment the dead one had claimed, or marks it unknown (the ones
// in flight), and watches the mailbox again, within 15 s.
func TestProcessKillRestartTakesOver(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) { killRestartTakesOver(t, sk.URL(t)) })
	}
}

func killRestartTakesOver(t *testing.T, dbURL string) {
	const prospects, workers = 60, 8
	sink := smtptest.New(t, smtptest.Options{})
	// The server takes each message and keeps its reply: at the kill,
	// every worker has a message the server has and drip cannot know of.
	sink.SetFault(smtptest.StallAt(smtptest.AtDot, 0))
	inbox, imapAddr, err := startDemoIMAP(procIMAPPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inbox.close)
	e := newProcEnv(t, sink, procSetup{dbURL: dbURL, workers: workers, steps: 1, interval: "1d",
		lease: "default", imapPort: imapAddr.Port})
	emails := e.importProspects("k", prospects)

	first := e.serve("first")
	e.waitFor(time.Minute, "the mailbox watched and every worker's message in flight", func() (bool, string) {
		connected, err := first.metric("drip_imap_connected")
		n := sink.Total()
		return err == nil && connected == 1 && n >= workers, fmt.Sprintf("drip_imap_connected %v (%v), %d accepted", connected, err, n)
	})
	e.kill(first)
	claimed := e.heldBy(emails, first, time.Now().Add(4*time.Minute))
	if len(claimed) <= workers {
		t.Fatalf("the killed process held %d claims; want more than its %d sends in flight", len(claimed), workers)
	}
	sink.SetFault()

	restart := time.Now()
	second := e.serve("second")
	e.waitTakenOver(restart, claimed, second)
	took := time.Since(restart)
	e.waitFor(time.Minute, "every enrollment completed", func() (bool, string) {
		s := e.states()
		return s[store.StateCompleted] == prospects, fmt.Sprintf("%v", s)
	})
	e.term(second)
	sent, unknown := e.checkOnce(emails, workers)
	t.Logf("restart took over %d claims (5-minute leases) and the mailbox in %v; %d sent, %d unknown", len(claimed), took.Round(10*time.Millisecond), sent, unknown)
}

// TestProcessSurvivorTakesOver: two instances on PostgreSQL; the one that
// watches the mailbox, and holds claims and sends in flight, is killed. The
// other takes its claims and its mailbox over within 15 s.
func TestProcessSurvivorTakesOver(t *testing.T) {
	const prospects, workers = 200, 8
	dbURL := pgtest.NewDatabase(t)
	sink := smtptest.New(t, smtptest.Options{})
	sink.SetFault(smtptest.StallAt(smtptest.AtDot, 0))
	inbox, imapAddr, err := startDemoIMAP(procIMAPPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inbox.close)
	e := newProcEnv(t, sink, procSetup{dbURL: dbURL, workers: workers, steps: 1, interval: "1d",
		lease: "default", imapPort: imapAddr.Port})
	a, b := e.serve("a"), e.serve("b")
	var watcher, survivor *child
	e.waitFor(time.Minute, "one instance watching the mailbox", func() (bool, string) {
		ca, errA := a.metric("drip_imap_connected")
		cb, errB := b.metric("drip_imap_connected")
		switch {
		case errA == nil && errB == nil && ca == 1 && cb == 0:
			watcher, survivor = a, b
		case errA == nil && errB == nil && ca == 0 && cb == 1:
			watcher, survivor = b, a
		}
		return watcher != nil, fmt.Sprintf("a %v (%v), b %v (%v)", ca, errA, cb, errB)
	})
	emails := e.importProspects("s", prospects)
	e.waitFor(time.Minute, "both instances' workers busy", func() (bool, string) {
		n := sink.Total()
		return n >= 2*workers, fmt.Sprintf("%d accepted", n)
	})
	// The claims are read just before the kill: the survivor may release
	// them within milliseconds of it, before a read after it.
	claimed := e.heldBy(emails, watcher, time.Now().Add(4*time.Minute))
	e.kill(watcher)
	killed := time.Now()
	if len(claimed) <= workers {
		t.Fatalf("the killed instance held %d claims; want more than its %d sends in flight", len(claimed), workers)
	}
	sink.SetFault()

	e.waitTakenOver(killed, claimed, survivor)
	took := time.Since(killed)
	e.waitFor(time.Minute, "every enrollment completed", func() (bool, string) {
		s := e.states()
		return s[store.StateCompleted] == prospects, fmt.Sprintf("%v", s)
	})
	e.term(survivor)
	sent, unknown := e.checkOnce(emails, workers)
	t.Logf("the survivor took over %d claims (5-minute leases) and the mailbox %v after the kill; %d sent, %d unknown", len(claimed), took.Round(10*time.Millisecond), sent, unknown)
}

var instanceRE = regexp.MustCompile(`msg="drip serving" .*instance=(\S+)`)

// heldBy lists the addresses whose enrollment c's instance holds leased
// beyond until (the claims a dead process leaves behind).
func (e *procEnv) heldBy(emails []string, c *child, until time.Time) []string {
	e.t.Helper()
	m := instanceRE.FindStringSubmatch(c.log.String())
	if m == nil {
		e.t.Fatalf("no instance name in the log of %s", c.name)
	}
	_, enrollments := e.storeSteps(emails)
	var held []string
	for _, email := range emails {
		en := enrollments[email]
		if en.LeaseOwner == m[1] && en.LeaseUntil != nil && en.LeaseUntil.After(until) {
			held = append(held, email)
		}
	}
	return held
}

// waitTakenOver waits, at most takeoverWithin from since, until every one
// of the claimed enrollments has its step recorded sent or unknown, and c
// watches the mailbox.
func (e *procEnv) waitTakenOver(since time.Time, claimed []string, c *child) {
	e.t.Helper()
	deadline := since.Add(takeoverWithin)
	e.waitFor(time.Until(deadline), "the dead instance's claims delivered or unknown", func() (bool, string) {
		recorded, _ := e.storeSteps(claimed)
		done := 0
		for _, email := range claimed {
			if s := recorded[stepKey{email, 1}].Status; s == store.SendSent || s == store.SendUnknown {
				done++
			}
		}
		return done == len(claimed), fmt.Sprintf("%d of %d", done, len(claimed))
	})
	e.waitFor(time.Until(deadline), "the mailbox watched again", func() (bool, string) {
		n, err := c.metric("drip_imap_connected")
		return err == nil && n == 1, fmt.Sprintf("drip_imap_connected %v (%v)", n, err)
	})
}

// checkOnce checks R8 after one crash of an instance with `workers`
// workers, on one-step enrollments: nothing reached the server twice, a
// step recorded sent reached it once, at least one and at most `workers`
// steps ended unknown (the crash hit sends in flight), and the server has
// nothing drip has no record of.
func (e *procEnv) checkOnce(emails []string, workers int) (sent, unknown int) {
	t := e.t
	t.Helper()
	delivered := sinkSteps(t, e.sink)
	recorded, _ := e.storeSteps(emails)
	for _, email := range emails {
		k := stepKey{email, 1}
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
			if len(got) == 1 && got[0] != s.MessageID {
				t.Errorf("%v is unknown as %s, but the server received %s", k, s.MessageID, got[0])
			}
		default:
			t.Errorf("%v ended %q (%s); want it sent, or unknown after the crash", k, s.Status, s.Error)
		}
	}
	for k := range delivered {
		if _, ok := recorded[k]; !ok {
			t.Errorf("the server received %v, which drip has no record of", k)
		}
	}
	if unknown == 0 || unknown > workers {
		t.Errorf("%d steps unknown after killing an instance with %d sends in flight; want 1..%d", unknown, workers, workers)
	}
	return sent, unknown
}
