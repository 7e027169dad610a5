package sequencer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// rig is an engine on a real store and a real SMTP server.
type rig struct {
	t       *testing.T
	st      store.Store
	smtp    *smtptest.Server
	clock   *testrig.Clock
	seq     *sequencer.Sequence
	sender  *sequencer.Sender
	pool    *mailer.Pool
	settled atomic.Int64
	mu      sync.Mutex
	outs    []sequencer.Outcome
}

// writeTemplates writes n step templates to a temp dir and loads them.
func writeTemplates(t *testing.T, cfg *configs.Sequence, pad int) *templates.Set {
	t.Helper()
	dir := t.TempDir()
	filler := strings.Repeat("A long catalogue line to make a message bigger than socket buffers.\n", pad/60+1)[:pad]
	for k := 1; k <= cfg.Steps; k++ {
		body := fmt.Sprintf("Subject: Step %d for {{.Prospect.FirstName}} — perché\n\nHello {{.Prospect.FirstName}}, this is step {{.Step}} of {{.Steps}}.\n%s{{.UnsubscribeURL}}\n", k, filler)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.txt", k)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := templates.LoadSet(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func newRig(t *testing.T, st store.Store, steps int, smtpOpts smtptest.Options) *rig {
	return newRigPadded(t, st, steps, smtpOpts, 0)
}

// newRigPadded makes every message about pad bytes bigger.
func newRigPadded(t *testing.T, st store.Store, steps int, smtpOpts smtptest.Options, pad int) *rig {
	t.Helper()
	srv := smtptest.New(t, smtpOpts)
	cfg := &configs.Sequence{Name: "demo", Steps: steps, Interval: configs.Span{Dur: time.Hour},
		Thread: true, Location: time.UTC, Timezone: "UTC", Templates: "demo"}
	r := &rig{t: t, st: st, smtp: srv, clock: testrig.NewClock(t0)}
	r.seq = &sequencer.Sequence{Config: cfg, Templates: writeTemplates(t, cfg, pad)}
	sc := configs.SMTP{Host: srv.Host(), Port: srv.Port(), TLS: "none"}
	var user, pass string
	for u, p := range smtpOpts.Users {
		user, pass = u, p
	}
	r.pool = mailer.NewPool(mailer.SMTPConfig{Host: sc.Host, Port: sc.Port, TLS: "none", Username: user,
		Password: pass, Timeout: 2 * time.Second, FinalTimeout: 30 * time.Second}, 8)
	t.Cleanup(func() { r.pool.Close() })
	snd, err := sequencer.NewSender(&configs.Sender{Name: "maria", From: "Maria Rossi <maria@example.com>"}, r.pool)
	if err != nil {
		t.Fatal(err)
	}
	r.sender = snd
	return r
}

// enroll puts n prospects on the sequence, first contact at t0.
func (r *rig) enroll(n int) []string {
	r.t.Helper()
	ctx := context.Background()
	var emails []string
	for i := range n {
		p := store.Prospect{Email: fmt.Sprintf("p%04d@example.net", i), FirstName: fmt.Sprintf("Zoë%d", i)}
		if _, err := r.st.ProspectUpsert(ctx, &p); err != nil {
			r.t.Fatal(err)
		}
		e := store.Enrollment{ProspectID: p.ID, Sequence: "demo", Sender: "maria", State: store.StateActive,
			FirstContact: t0, Anchor: t0}
		e.NextSendAt = sequencer.Plan(e, r.seq.Config, time.UTC, r.clock.Now())
		if _, err := r.st.EnrollmentCreate(ctx, &e); err != nil {
			r.t.Fatal(err)
		}
		emails = append(emails, p.Email)
	}
	return emails
}

func (r *rig) engine(owner string, mod func(*sequencer.Options)) *sequencer.Engine {
	r.t.Helper()
	o := sequencer.Options{
		Store: r.st, Clock: r.clock, Owner: owner,
		Sequences: map[string]*sequencer.Sequence{"demo": r.seq},
		Senders:   map[string]*sequencer.Sender{"maria": r.sender},
		Workers:   8, Batch: 100, Lease: time.Hour, Poll: 20 * time.Millisecond,
		Retry:          sequencer.RetryPolicy{Max: 5, Base: time.Minute, MaxDelay: 10 * time.Minute},
		UnsubscribeURL: func(id int64) string { return fmt.Sprintf("https://drip.example.com/u/%d", id) },
		OnSettled: func(o sequencer.Outcome) {
			r.settled.Add(1)
			r.mu.Lock()
			r.outs = append(r.outs, o)
			r.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&o)
	}
	e, err := sequencer.New(o)
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

// run starts the engine and stops it (gracefully) at cleanup.
func (r *rig) run(e *sequencer.Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				r.t.Errorf("engine run: %v", err)
			}
		})
	}
	r.t.Cleanup(stop)
	return stop
}

func (r *rig) states() map[store.State]int {
	r.t.Helper()
	counts, err := r.st.EnrollmentCounts(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return counts["demo"]
}

// TestDeliversEveryStepOnceInOrderThreaded is issue 3's first acceptance
// point: 500 prospects × 5 steps on a compressed clock, each delivered
// exactly once, in step order, with the contract's threading headers.
func TestDeliversEveryStepOnceInOrderThreaded(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			const prospects, steps = 500, 5
			r := newRig(t, testrig.Open(t, sk.URL(t)), steps, smtptest.Options{})
			emails := r.enroll(prospects)
			eng := r.engine("test-1", nil)
			r.run(eng)
			for k := 1; k <= steps; k++ {
				r.clock.Set(t0.Add(time.Duration(k-1) * time.Hour))
				eng.Wake()
				testrig.WaitFor(t, fmt.Sprintf("step %d delivered", k), func() bool { return r.smtp.Total() >= prospects*k })
				// Every enrollment settled (next step planned) before time moves on.
				testrig.WaitFor(t, fmt.Sprintf("step %d recorded", k), func() bool { return r.settled.Load() >= int64(prospects*k) })
			}
			if got := r.states()[store.StateCompleted]; got != prospects {
				t.Errorf("completed enrollments = %d, want %d", got, prospects)
			}
			assertThreads(t, r.smtp.Messages(), emails, steps)
		})
	}
}

// assertThreads checks every prospect got steps 1..steps once, in order,
// threaded: Re: step 1's subject, In-Reply-To the previous message,
// References root first and previous last.
func assertThreads(t *testing.T, msgs []smtptest.Message, emails []string, steps int) {
	t.Helper()
	byRcpt := map[string][]*mail.Header{}
	for _, m := range msgs {
		if len(m.To) != 1 {
			t.Fatalf("message to %v, want one recipient", m.To)
		}
		mr, err := mail.CreateReader(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		byRcpt[m.To[0]] = append(byRcpt[m.To[0]], &mr.Header)
	}
	for _, email := range emails {
		hs := byRcpt[email]
		if len(hs) != steps {
			t.Fatalf("%s received %d messages, want %d (exactly once per step)", email, len(hs), steps)
		}
		rootSubject, _ := hs[0].Subject()
		rootID, _ := hs[0].MessageID()
		if !strings.HasPrefix(rootSubject, "Step 1 for") || !strings.Contains(rootSubject, "perché") {
			t.Fatalf("%s first message subject %q, want step 1's (intact UTF-8)", email, rootSubject)
		}
		prevID := rootID
		for k := 2; k <= steps; k++ {
			h := hs[k-1]
			subj, _ := h.Subject()
			if subj != "Re: "+rootSubject {
				t.Fatalf("%s message %d subject %q, want %q (in order, threaded)", email, k, subj, "Re: "+rootSubject)
			}
			irt, _ := h.MsgIDList("In-Reply-To")
			refs, _ := h.MsgIDList("References")
			if len(irt) != 1 || irt[0] != prevID {
				t.Fatalf("%s step %d In-Reply-To %v, want %s", email, k, irt, prevID)
			}
			if len(refs) < 1 || refs[0] != rootID || refs[len(refs)-1] != prevID {
				t.Fatalf("%s step %d References %v, want root %s first and %s last", email, k, refs, rootID, prevID)
			}
			prevID, _ = h.MessageID()
		}
	}
}

// TestFaults is issue 3's fault injection: temporary faults end in
// delivery once the server is healthy, nothing is delivered twice, and
// permanent ones end as the contract says.
func TestFaults(t *testing.T) {
	const n = 12
	type tc struct {
		name  string
		opts  smtptest.Options
		fault func(emails []string) []smtptest.Fault
		// want after the fault is cleared and time has moved on
		delivered int
		state     store.State
		// heals: the fault is cleared after the first round
		heals bool
		pad   int // message size padding
	}
	cases := []tc{
		{name: "421 at connect", fault: func([]string) []smtptest.Fault { return []smtptest.Fault{smtptest.RejectConnect()} }, delivered: n, state: store.StateCompleted, heals: true},
		{name: "451 at RCPT", fault: func([]string) []smtptest.Fault { return []smtptest.Fault{smtptest.TempFailRcpt()} }, delivered: n, state: store.StateCompleted, heals: true},
		// The server hangs up while the body is still on its way (the message
		// is bigger than the socket buffers): it cannot have accepted it.
		{name: "connection dropped in the middle of DATA", fault: func([]string) []smtptest.Fault { return []smtptest.Fault{smtptest.DropInData(1000)} },
			delivered: n, state: store.StateCompleted, heals: true, pad: 8 << 20},
		{name: "connection dropped at the DATA command", fault: func([]string) []smtptest.Fault { return []smtptest.Fault{smtptest.DropBeforeData()} }, delivered: n, state: store.StateCompleted, heals: true},
		{name: "server stalls", fault: func([]string) []smtptest.Fault {
			return []smtptest.Fault{smtptest.StallAt(smtptest.AtMail, 5*time.Second)}
		}, delivered: n, state: store.StateCompleted, heals: true},
		{name: "550 5.1.1 at RCPT", fault: func(e []string) []smtptest.Fault { return []smtptest.Fault{smtptest.UnknownUser(e...)} }, delivered: 0, state: store.StateBounced},
		{name: "AUTH failure", opts: smtptest.Options{Users: map[string]string{"maria": "secret"}},
			fault: func([]string) []smtptest.Fault { return []smtptest.Fault{smtptest.FailAuth()} }, delivered: n, state: store.StateCompleted, heals: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := testrig.Open(t, testrig.SQLiteURL(t))
			r := newRigPadded(t, st, 1, c.opts, c.pad)
			n := n
			if c.pad > 0 {
				n = 2 // big messages are slow to encode under -race
				c.delivered = n
			}
			emails := r.enroll(n)
			r.smtp.SetFault(c.fault(emails)...)
			eng := r.engine("test-faults", nil)
			r.run(eng)
			eng.Wake()
			// First round: every enrollment attempted once and settled.
			testrig.WaitFor(t, "first attempts recorded", func() bool { return r.settled.Load() >= int64(n) })
			if c.heals {
				if got := r.smtp.Total(); got != 0 {
					t.Fatalf("delivered %d during the fault", got)
				}
				if got := r.states()[store.StateActive]; got != n {
					t.Fatalf("active after a temporary fault = %d, want %d (nothing failed)", got, n)
				}
				r.smtp.SetFault()
				for i := 0; r.smtp.Total() < n && i < 20; i++ {
					// Past any backoff or sender hold (10m), within the lease.
					before := r.settled.Load()
					r.clock.Add(11 * time.Minute)
					eng.Wake()
					testrig.WaitFor(t, "a retry round", func() bool { return r.settled.Load() > before })
				}
			}
			testrig.WaitFor(t, "outcome", func() bool { return r.states()[c.state] == n })
			if got := r.smtp.Total(); got != c.delivered {
				r.mu.Lock()
				for _, o := range r.outs {
					t.Logf("outcome: %+v", o)
				}
				r.mu.Unlock()
				t.Errorf("delivered %d messages, want %d", got, c.delivered)
			}
			for _, e := range emails {
				if got := r.smtp.Count(e); got > 1 {
					t.Errorf("%s received %d copies", e, got)
				}
			}
			if c.state == store.StateBounced {
				for _, e := range emails {
					sup, err := st.Suppressed(context.Background(), e)
					if err != nil || !sup {
						t.Errorf("%s suppressed = %v, %v; want true after a 5.1.1", e, sup, err)
					}
				}
			}
		})
	}
}

// TestDropAfterFinalDotIsUnknownNeverResent: the server got the whole
// message but the reply never came. The client cannot know it was
// delivered, so the step is recorded unknown and never sent again (R8);
// the enrollment goes on with its next step.
func TestDropAfterFinalDotIsUnknownNeverResent(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			r := newRig(t, st, 2, smtptest.Options{})
			emails := r.enroll(4)
			r.smtp.SetFault(smtptest.DropAfterDot())
			eng := r.engine("test-dot", nil)
			r.run(eng)
			testrig.WaitFor(t, "step 1 recorded", func() bool { return r.settled.Load() >= 4 })
			r.smtp.SetFault()
			r.clock.Set(t0.Add(time.Hour)) // step 2 due
			eng.Wake()
			testrig.WaitFor(t, "completed", func() bool { return r.states()[store.StateCompleted] == 4 })
			for i, e := range emails {
				if got := r.smtp.Count(e); got != 2 {
					t.Errorf("%s received %d messages, want 2 (step 1 once, though unacknowledged, and step 2)", e, got)
				}
				s, err := st.SendGet(context.Background(), int64(i+1), 1)
				if err != nil || s.Status != store.SendUnknown {
					t.Errorf("%s step 1 = %q, %v; want unknown", e, s.Status, err)
				}
			}
		})
	}
}

// TestPermanentContentRejectionFailsEnrollment: a 5xx after DATA fails the
// step and the enrollment, with the reason kept.
func TestPermanentContentRejectionFailsEnrollment(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	r := newRig(t, st, 3, smtptest.Options{})
	emails := r.enroll(1)
	r.smtp.SetFault(smtptest.RejectContent())
	eng := r.engine("test-perm", nil)
	r.run(eng)
	testrig.WaitFor(t, "failed", func() bool { return r.states()[store.StateFailed] == 1 })
	p, err := st.ProspectGetByEmail(context.Background(), emails[0])
	if err != nil {
		t.Fatal(err)
	}
	ens, _ := st.EnrollmentsByProspect(context.Background(), p.ID)
	if len(ens) != 1 || ens[0].Reason == "" || ens[0].NextSendAt != nil {
		t.Fatalf("enrollment after a content rejection: %+v; want failed with a reason and nothing planned", ens)
	}
	s, err := st.SendGet(context.Background(), ens[0].ID, 1)
	if err != nil || s.Status != store.SendFailed {
		t.Fatalf("step 1 = %+v, %v; want failed", s, err)
	}
}

// TestLateEnrollmentSkipsToLatestStep: R3 end to end — one send, the
// earlier steps recorded skipped.
func TestLateEnrollmentSkipsToLatestStep(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	r := newRig(t, st, 5, smtptest.Options{})
	r.enroll(1)
	r.clock.Set(t0.Add(3*time.Hour + time.Minute)) // steps 1..4 due
	eng := r.engine("test-late", nil)
	r.run(eng)
	testrig.WaitFor(t, "one delivery", func() bool { return r.smtp.Total() == 1 && r.settled.Load() >= 1 })
	sends, err := st.SendsByEnrollment(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]store.SendStatus{}
	for _, s := range sends {
		got[s.Step] = s.Status
	}
	want := map[int]store.SendStatus{1: store.SendSkipped, 2: store.SendSkipped, 3: store.SendSkipped, 4: store.SendSent}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("step %d = %q, want %q (all: %v)", k, got[k], w, got)
		}
	}
}

// TestGracefulStopFinishesInFlight: stopping the engine while deliveries
// are slow finishes them and records them; nothing is left "sending".
func TestGracefulStopFinishesInFlight(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	r := newRig(t, st, 2, smtptest.Options{})
	r.enroll(16)
	r.smtp.SetFault(smtptest.StallAt(smtptest.BeforeData, 300*time.Millisecond))
	eng := r.engine("test-stop", nil)
	stop := r.run(eng)
	testrig.WaitFor(t, "deliveries in flight", func() bool { return r.smtp.Active() > 0 })
	stop()
	ctx := context.Background()
	inFlight := 0
	for id := int64(1); id <= 16; id++ {
		s, err := st.SendGet(ctx, id, 1)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == store.SendSending {
			inFlight++
		}
	}
	if inFlight != 0 {
		t.Errorf("%d sends left 'sending' after a graceful stop", inFlight)
	}
	// Whatever was not started is claimable again at once (leases released).
	left, err := st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "other", Now: r.clock.Now(), LeaseUntil: r.clock.Now().Add(time.Minute), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if want := 16 - r.smtp.Total(); len(left) != want {
		t.Errorf("claimable after stop = %d, want %d (undelivered ones, leases released)", len(left), want)
	}
}

// TestEditedTemplateAppliesToLaterSends: templates reloaded while the
// engine runs are used for every later send (the contract: sequences live
// for years and change under running enrollments).
func TestEditedTemplateAppliesToLaterSends(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	r := newRig(t, st, 2, smtptest.Options{})
	emails := r.enroll(3)
	eng := r.engine("test-reload", nil)
	r.run(eng)
	testrig.WaitFor(t, "step 1", func() bool { return r.smtp.Total() == 3 && r.settled.Load() >= 3 })

	dir := t.TempDir()
	for k := 1; k <= 2; k++ {
		body := fmt.Sprintf("Subject: Edited %d\n\nEDITED copy of step {{.Step}}\n{{.UnsubscribeURL}}\n", k)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.txt", k)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := templates.LoadSet(dir, r.seq.Config)
	if err != nil {
		t.Fatal(err)
	}
	r.seq.ReloadTemplates(set)
	r.clock.Set(t0.Add(time.Hour))
	eng.Wake()
	testrig.WaitFor(t, "step 2", func() bool { return r.smtp.Total() == 6 })
	for _, m := range r.smtp.Messages()[3:] {
		if !strings.Contains(string(m.Data), "EDITED copy of step 2") {
			t.Errorf("step 2 to %v was sent with the old template", m.To)
		}
	}
	_ = emails
}
