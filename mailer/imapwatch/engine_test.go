package imapwatch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

// TestReplyWhileIdlingStopsFurtherSteps is the first acceptance
// point end to end: the engine sends step 1 to two prospects; one replies
// while the watcher idles and is paused; when step 2 falls due, the engine
// sends it to the other prospect and nothing to the one who replied.
func TestReplyWhileIdlingStopsFurtherSteps(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			ctx := context.Background()
			st := testrig.Open(t, sk.URL(t))
			smtp := smtptest.New(t, smtptest.Options{})
			imapSrv := newMemIMAP(t, false)

			seqCfg := &configs.Sequence{Name: "demo", Steps: 3, Interval: configs.Span{Dur: time.Hour},
				Thread: true, Location: time.UTC, Timezone: "UTC", Templates: "demo"}
			dir := t.TempDir()
			for k := 1; k <= seqCfg.Steps; k++ {
				body := fmt.Sprintf("Subject: Step %d\n\nHello {{.Prospect.FirstName}}, step {{.Step}}.\n{{.UnsubscribeURL}}\n", k)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.txt", k)), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			set, err := templates.LoadSet(dir, seqCfg)
			if err != nil {
				t.Fatal(err)
			}
			pool := mailer.NewPool(mailer.SMTPConfig{Host: smtp.Host(), Port: smtp.Port(), TLS: "none",
				Timeout: 2 * time.Second, FinalTimeout: 2 * time.Second}, 2)
			t.Cleanup(func() { pool.Close() })
			sender, err := sequencer.NewSender(&configs.Sender{Name: senderName, From: ourFrom}, pool)
			if err != nil {
				t.Fatal(err)
			}

			t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
			clock := testrig.NewClock(t0)
			ids := map[string]int64{}
			for _, email := range []string{"replier@prospect.example", "control@prospect.example"} {
				p := store.Prospect{Email: email, FirstName: "Zoë"}
				if _, err := st.ProspectUpsert(ctx, &p); err != nil {
					t.Fatal(err)
				}
				e := store.Enrollment{ProspectID: p.ID, Sequence: "demo", Sender: senderName, State: store.StateActive,
					FirstContact: t0, Anchor: t0}
				e.NextSendAt = sequencer.Plan(e, seqCfg, time.UTC, t0)
				if _, err := st.EnrollmentCreate(ctx, &e); err != nil {
					t.Fatal(err)
				}
				ids[email] = e.ID
			}

			var settled atomic.Int64
			eng, err := sequencer.New(sequencer.Options{
				Store: st, Clock: clock, Owner: "engine-1",
				Sequences: map[string]*sequencer.Sequence{"demo": {Config: seqCfg, Templates: set}},
				Senders:   map[string]*sequencer.Sender{senderName: sender},
				Workers:   2, Poll: 10 * time.Millisecond,
				UnsubscribeURL: func(id int64) string { return fmt.Sprintf("https://drip.example.com/u/%d", id) },
				Metrics:        sequencer.NewMetrics(prometheus.NewRegistry()),
				OnSettled:      func(sequencer.Outcome) { settled.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			engCtx, stopEngine := context.WithCancel(ctx)
			engDone := make(chan struct{})
			go func() { _ = eng.Run(engCtx); close(engDone) }()
			t.Cleanup(func() { stopEngine(); <-engDone })

			testrig.WaitFor(t, "step 1 sent to both", func() bool { return smtp.Total() >= 2 && settled.Load() >= 2 })
			var step1 string
			for _, m := range smtp.Messages() {
				if m.To[0] == "replier@prospect.example" {
					step1 = m.MessageID
				}
			}
			if step1 == "" {
				t.Fatal("no step 1 to the replier captured")
			}

			r := start(t, testConfig(imapSrv.host(), imapSrv.port(), "instance-a"), handler(st), nil)
			imapSrv.waitIdles(t, r, 1)
			imapSrv.deliver(humanReply("replier@prospect.example", step1))
			testrig.WaitFor(t, "the replier's enrollment replied", func() bool {
				return enrollment(t, st, ids["replier@prospect.example"]).State == store.StateReplied
			})

			// Step 2 falls due for both; only the control prospect gets it.
			clock.Set(t0.Add(time.Hour))
			eng.Wake()
			testrig.WaitFor(t, "step 2 to the control prospect", func() bool {
				return smtp.Count("control@prospect.example") == 2 && settled.Load() >= 3
			})
			if n := smtp.Count("replier@prospect.example"); n != 1 {
				t.Errorf("the prospect who replied received %d messages, want 1 (step 1 only)", n)
			}
			// And it stays so: it is not claimable however late it gets.
			late, err := st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "probe", Now: t0.Add(1000 * time.Hour),
				LeaseUntil: t0.Add(1001 * time.Hour), Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range late {
				if e.ID == ids["replier@prospect.example"] {
					t.Error("the replied enrollment is still claimable")
				}
			}
		})
	}
}
