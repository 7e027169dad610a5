package main

// Process-level acceptance of webhooks (issue 15, point 4): SIGKILL of
// `drip serve` after the state changes and before their delivery loses
// none of them; the restarted process delivers every one.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/webhooks"
)

func TestProcessKillLosesNoWebhook(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) { killLosesNoWebhook(t, sk.URL(t)) })
	}
}

func killLosesNoWebhook(t *testing.T, dbURL string) {
	const prospects = 20
	// The receiver first takes every request and never answers it (the
	// killed process dies holding a delivery); after the kill it answers
	// 200 and records what it got.
	var up atomic.Bool
	var stalled atomic.Int64
	var mu sync.Mutex
	got := map[string]int{}
	badSig := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !up.Load() {
			stalled.Add(1)
			<-r.Context().Done()
			return
		}
		mu.Lock()
		got[r.Header.Get(webhooks.HeaderEventID)]++
		if _, err := webhooks.Verify(procWebhookSecret, r.Header.Get(webhooks.HeaderSignature), body); err != nil {
			badSig++
		}
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)

	sink := smtptest.New(t, smtptest.Options{})
	e := newProcEnv(t, sink, procSetup{dbURL: dbURL, workers: 4, steps: 1, interval: "1d", webhook: rcv.URL})
	first := e.serve("first")
	emails := e.importProspects("w", prospects)
	e.waitFor(time.Minute, "every message sent and a delivery stalled", func() (bool, string) {
		s := e.states()
		return s[store.StateCompleted] == prospects && stalled.Load() > 0,
			fmt.Sprintf("%v, %d stalled", s, stalled.Load())
	})
	// What must arrive: every enrolment and every event of a webhook kind.
	want := map[string]bool{}
	st := e.store()
	for _, email := range emails {
		p, err := st.ProspectGetByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		tl, err := st.Timeline(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range tl {
			switch {
			case ev.Kind == store.EventEnrolled:
				want[fmt.Sprintf("en-%d", ev.EnrollmentID)] = true
			case isWebhookKind(ev.Kind):
				want[fmt.Sprintf("ev-%d", ev.ID)] = true
			}
		}
	}
	pending, err := st.WebhookPending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.kill(first)
	if pending != len(want) {
		t.Fatalf("before the kill: %d deliveries pending, want all %d events (enrolled, sent, completed)", pending, len(want))
	}

	up.Store(true)
	second := e.serve("second")
	e.waitFor(time.Minute, "every event delivered after the restart", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		missing := 0
		for k := range want {
			if got[k] == 0 {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d missing", missing, len(want))
	})
	e.term(second)
	mu.Lock()
	defer mu.Unlock()
	if badSig > 0 {
		t.Errorf("%d deliveries with a bad signature", badSig)
	}
	for k := range got {
		if !want[k] {
			t.Errorf("delivered %s, which is no event of theirs", k)
		}
	}
	t.Logf("%d events pending at the kill, all delivered after the restart", len(want))
}

func isWebhookKind(k store.EventKind) bool {
	for _, w := range store.WebhookKinds {
		if w == k {
			return true
		}
	}
	return false
}
