package sequencer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// The engine keeps the schedule's promises in the states a user reaches
// on day one (issue 16). The states each test walks through:
//
//	sender:      free | capped (daily limit) | unreachable | back
//	enrollment:  due inside the window | found due outside it | queued
//	             before a store outage | planned after a hold
//	store:       up | down across the next step's due time
//	clock:       injected (held still) | running fast (compressed)

// importDue enrols n prospects of sender on seq in one batch, first
// contact at first, planned by the rules at now.
func importDue(t *testing.T, st store.Store, seq *configs.Sequence, sender, prefix string, n int, first, now time.Time) []string {
	t.Helper()
	var emails []string
	for lo := 0; lo < n; lo += 1000 {
		var rows []store.ImportRow
		for i := lo; i < min(n, lo+1000); i++ {
			email := fmt.Sprintf("%s%05d@example.net", prefix, i)
			emails = append(emails, email)
			e := store.Enrollment{State: store.StateActive, Anchor: first}
			rows = append(rows, store.ImportRow{Line: i + 2, Prospect: store.Prospect{Email: email, FirstName: "Ola"},
				Sequence: seq.Name, Sender: sender, FirstContact: first,
				NextSendAt: sequencer.Plan(e, seq, seq.Location, now)})
		}
		res, err := st.ImportBatch(context.Background(), rows)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("importing line %d: %v", r.Line, r.Err)
			}
		}
	}
	return emails
}

// enrollmentOf is the one enrollment of the prospect with that address.
func onlyEnrollmentOf(t *testing.T, st store.Store, email string) store.Enrollment {
	t.Helper()
	p, err := st.ProspectGetByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.EnrollmentsByProspect(context.Background(), p.ID)
	if err != nil || len(es) != 1 {
		t.Fatalf("enrollments of %s: %v, %v", email, es, err)
	}
	return es[0]
}

// sendsOf maps step -> send row of the prospect's one enrollment.
func sendsOf(t *testing.T, st store.Store, email string) map[int]store.Send {
	t.Helper()
	sends, err := st.SendsByEnrollment(context.Background(), onlyEnrollmentOf(t, st, email).ID)
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]store.Send{}
	for _, s := range sends {
		m[s.Step] = s
	}
	return m
}

// Issue 16.4: one mailbox at its daily limit with 5,000 steps due costs the
// other mailbox nothing; its held steps wait for the first window instant
// of its next day, and the backlog does not count them.
func TestCappedSenderCostsOthersNothing(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			r := newRig(t, st, 1, smtptest.Options{})
			ctx := context.Background()
			// maria's list: one step, due now (Tue 24 Nov 10:00 in Rome),
			// Mon-Fri 09:30-17:00; her mailbox sends 5 a day.
			r.seq.Config.Window = mustWindow("mon,tue,wed,thu,fri", "09:30", "17:00")
			r.seq.Config.Location, r.seq.Config.Timezone = rome, "Europe/Rome"
			maria, err := sequencer.NewSender(&configs.Sender{Name: "maria", From: "Maria Rossi <maria@example.com>",
				DailyLimit: 5, Timezone: "Europe/Rome"}, r.pool)
			if err != nil {
				t.Fatal(err)
			}
			// piotr's one lead, on a fast sequence: a step a minute.
			fast := &configs.Sequence{Name: "fast", Steps: 5, Interval: configs.Span{Dur: time.Minute},
				FirstStepAfter: configs.Span{Dur: time.Minute}, Location: time.UTC, Timezone: "UTC", Templates: "fast"}
			piotr, err := sequencer.NewSender(&configs.Sender{Name: "piotr", From: "Piotr Nowak <piotr@example.com>"}, r.pool)
			if err != nil {
				t.Fatal(err)
			}
			importDue(t, st, r.seq.Config, "maria", "m", 5000, t0, t0)
			lead := importDue(t, st, fast, "piotr", "lead", 1, t0, t0)[0]

			last := map[int64]sequencer.Outcome{}
			var mu sync.Mutex
			eng := r.engine("capped", func(o *sequencer.Options) {
				o.Sequences = map[string]*sequencer.Sequence{"demo": r.seq, "fast": {Config: fast, Templates: writeTemplates(t, fast, 0)}}
				o.Senders = map[string]*sequencer.Sender{"maria": maria, "piotr": piotr}
				o.Batch = 32
				o.OnSettled = func(out sequencer.Outcome) {
					mu.Lock()
					last[out.EnrollmentID] = out
					mu.Unlock()
				}
			})
			r.run(eng)
			eng.Wake()
			testrig.WaitFor(t, "maria's five sends of the day", func() bool { return r.smtp.Total() >= 5 })

			// piotr's steps go out when due, while maria's 4,995 wait.
			for k := 1; k <= fast.Steps; k++ {
				r.clock.Set(t0.Add(time.Duration(k) * time.Minute))
				eng.Wake()
				testrig.WaitFor(t, fmt.Sprintf("piotr's step %d", k), func() bool { return r.smtp.Count(lead) == k })
				// Recorded before the clock moves on: the time of the
				// send is the clock's when the server took it.
				testrig.WaitFor(t, fmt.Sprintf("piotr's step %d recorded", k), func() bool {
					return sendsOf(t, st, lead)[k].Status == store.SendSent
				})
			}
			testrig.WaitFor(t, "piotr's steps recorded", func() bool {
				sends := sendsOf(t, st, lead)
				for k := 1; k <= fast.Steps; k++ {
					if sends[k].Status != store.SendSent {
						return false
					}
				}
				return len(sends) == fast.Steps // none skipped, none failed
			})
			if got := r.smtp.Total() - fast.Steps; got != 5 {
				t.Errorf("maria sent %d on her capped day, want 5", got)
			}

			now := r.clock.Now()
			holds, err := st.SenderHolds(ctx, now)
			if err != nil || len(holds) != 1 || holds[0].Sender != "maria" || holds[0].Reason != store.HoldDailyLimit {
				t.Fatalf("holds = %+v, %v; want maria held for her daily limit", holds, err)
			}
			if n, err := st.DueBacklog(ctx, now); err != nil || n != 0 {
				t.Errorf("drip_due_backlog = %d (%v) while maria is capped, want 0", n, err)
			}
			// Every held step is planned at the first window instant of
			// maria's next day: Wednesday 09:30 in Rome.
			wed := at(rome, 2026, 11, 25, 9, 30)
			testrig.WaitFor(t, "maria's held steps planned", func() bool {
				mu.Lock()
				defer mu.Unlock()
				planned := 0
				for _, o := range last {
					if o.Sequence == "demo" && o.NextSendAt != nil && o.NextSendAt.Equal(wed) {
						planned++
					}
				}
				return planned == 4995
			})
			for _, i := range []int{7, 999, 2500, 4999} {
				e := onlyEnrollmentOf(t, st, fmt.Sprintf("m%05d@example.net", i))
				if e.NextSendAt == nil || !e.NextSendAt.Equal(wed) || e.LastStep != 0 {
					t.Errorf("held enrollment %d: next_send_at %v, last step %d; want %v, 0", i, e.NextSendAt, e.LastStep, wed)
				}
			}

			// Her next day: five more, at the window's opening, none skipped.
			r.clock.Set(wed)
			eng.Wake()
			testrig.WaitFor(t, "maria's next five", func() bool { return r.smtp.Total() == fast.Steps+10 })
			mu.Lock()
			for id, o := range last {
				if o.Status == store.SendSkipped || o.Status == store.SendFailed {
					t.Errorf("enrollment %d: %s", id, o.Status)
				}
			}
			mu.Unlock()
		})
	}
}

// switchedPort forwards 127.0.0.1:port to an SMTP server while up; while
// down nothing listens there, so connections are refused.
type switchedPort struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
}

func newSwitchedPort(t *testing.T, target string) *switchedPort {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchedPort{t: t, target: target, addr: l.Addr().String()}
	_ = l.Close()
	t.Cleanup(p.down)
	return p
}

func (p *switchedPort) port() int {
	_, port, _ := net.SplitHostPort(p.addr)
	var n int
	fmt.Sscan(port, &n)
	return n
}

func (p *switchedPort) up() {
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *switchedPort) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Issue 16.5: a server that refuses connections for longer than the whole
// retry budget (4 hours with the default retry settings) fails and skips
// no prospect's step; the sender shows as held; once the server is back,
// every due step is delivered once, with the retry budget untouched.
func TestUnreachableServerHoldsTheSenderNotTheProspects(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			r := newRig(t, st, 2, smtptest.Options{})
			r.seq.Config.Interval = configs.Span{Days: 10}
			sw := newSwitchedPort(t, r.smtp.Addr())
			pool := mailer.NewPool(mailer.SMTPConfig{Host: "127.0.0.1", Port: sw.port(), TLS: "none",
				Timeout: 2 * time.Second, FinalTimeout: 5 * time.Second}, 8)
			t.Cleanup(func() { pool.Close() })
			r.sender.Transport = pool
			emails := r.enroll(10)
			eng := r.engine("unreachable", func(o *sequencer.Options) { o.Retry = sequencer.RetryPolicy{} }) // the defaults
			r.run(eng)

			// Five hours of a server that refuses connections.
			for range 150 {
				r.clock.Add(2 * time.Minute)
				eng.Wake()
				time.Sleep(10 * time.Millisecond)
			}
			ctx := context.Background()
			if got := r.smtp.Total(); got != 0 {
				t.Fatalf("%d delivered while the server refused connections", got)
			}
			if got := r.states()[store.StateActive]; got != 10 {
				t.Fatalf("active = %d after the outage, want 10: %v", got, r.states())
			}
			// Held, or about to be again: a hold that just ended lets one
			// round try the server, which holds the sender anew.
			eng.Wake()
			testrig.WaitFor(t, "maria held as unreachable", func() bool {
				holds, err := st.SenderHolds(ctx, r.clock.Now())
				return err == nil && len(holds) == 1 && holds[0].Reason == store.HoldUnreachable
			})
			for _, e := range emails {
				for k, s := range sendsOf(t, st, e) {
					// retry, or sending when a round after a hold is under way
					if s.Status != store.SendRetry && s.Status != store.SendSending {
						t.Fatalf("%s step %d is %s during the outage, want it waiting (retry)", e, k, s.Status)
					}
				}
			}

			// The server is back: past the hold, every step 1 goes out once.
			sw.up()
			r.clock.Add(61 * time.Minute)
			eng.Wake()
			testrig.WaitFor(t, "every step 1 delivered", func() bool { return r.smtp.Total() == 10 })
			testrig.WaitFor(t, "every step 1 recorded", func() bool {
				for _, e := range emails {
					if sendsOf(t, st, e)[1].Status != store.SendSent {
						return false
					}
				}
				return true
			})
			for _, e := range emails {
				if n := r.smtp.Count(e); n != 1 {
					t.Errorf("%s received %d messages, want 1", e, n)
				}
				s := sendsOf(t, st, e)[1]
				if s.Status != store.SendSent || s.Attempts != 1 {
					t.Errorf("%s step 1: %s after %d attempts, want sent after 1 (the outage is not the prospect's)", e, s.Status, s.Attempts)
				}
			}
		})
	}
}

// gatedTransport holds the first delivery until released.
type gatedTransport struct {
	sequencer.Transport
	first   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedTransport) Send(ctx context.Context, from, to string, msg []byte) error {
	if g.first.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.release
	}
	return g.Transport.Send(ctx, from, to, msg)
}

// outageStore fails every write and claim while down, as a database that
// cannot be reached.
type outageStore struct {
	store.Store
	down atomic.Bool
}

var errOutage = errors.New("connection refused (database down)")

func (s *outageStore) EnrollmentClaimDue(ctx context.Context, p store.ClaimParams) ([]store.Enrollment, error) {
	if s.down.Load() {
		return nil, errOutage
	}
	return s.Store.EnrollmentClaimDue(ctx, p)
}

func (s *outageStore) Settle(ctx context.Context, ss []store.Settle) ([]error, error) {
	if s.down.Load() {
		return nil, errOutage
	}
	return s.Store.Settle(ctx, ss)
}

func (s *outageStore) SettleAndStart(ctx context.Context, ss []store.Settle, starts []store.SendStart) ([]error, []error, error) {
	if s.down.Load() {
		return nil, nil, errOutage
	}
	return s.Store.SettleAndStart(ctx, ss, starts)
}

func (s *outageStore) SendsStart(ctx context.Context, starts []store.SendStart) ([]error, error) {
	if s.down.Load() {
		return nil, errOutage
	}
	return s.Store.SendsStart(ctx, starts)
}

// Issue 16.6: steps decided before a store outage that spans the next
// step's due time are decided again when they start: the stale step is
// skipped, only the latest due step is sent, nothing twice.
func TestStoreOutageStepsAreDecidedAgainAtStart(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := &outageStore{Store: testrig.Open(t, sk.URL(t))}
			r := newRig(t, st, 3, smtptest.Options{})
			gate := &gatedTransport{Transport: r.pool, entered: make(chan struct{}), release: make(chan struct{})}
			r.sender.Transport = gate
			emails := r.enroll(4)
			// One worker: one step in flight, the other three decided and
			// queued behind it.
			eng := r.engine("outage", func(o *sequencer.Options) { o.Workers, o.Lease = 1, 24*time.Hour })
			r.run(eng)
			eng.Wake()
			<-gate.entered

			// The database goes away; meanwhile step 2 falls due.
			st.down.Store(true)
			r.clock.Add(time.Hour + time.Minute)
			close(gate.release)
			time.Sleep(300 * time.Millisecond) // the engine meets the outage
			st.down.Store(false)
			eng.Wake()

			testrig.WaitFor(t, "one message to each", func() bool { return r.smtp.Total() == 4 })
			testrig.WaitFor(t, "the outcomes recorded", func() bool {
				for _, e := range emails {
					if s, ok := sendsOf(t, st, e)[2]; !ok || s.Status != store.SendSent {
						if s1 := sendsOf(t, st, e)[1]; s1.Status != store.SendSent {
							return false
						}
					}
				}
				return true
			})
			var inFlight string
			for _, e := range emails {
				if n := r.smtp.Count(e); n != 1 {
					t.Errorf("%s received %d messages, want 1", e, n)
				}
				sends := sendsOf(t, st, e)
				if sends[1].Status == store.SendSent {
					if inFlight != "" {
						t.Errorf("step 1 went out to %s and %s; only the one in flight before the outage may", inFlight, e)
					}
					inFlight = e
					continue
				}
				if sends[1].Status != store.SendSkipped || sends[2].Status != store.SendSent {
					t.Errorf("%s: step 1 %s, step 2 %s; want the stale step 1 skipped and step 2 sent", e, sends[1].Status, sends[2].Status)
				}
			}
		})
	}
}

// fastClock runs factor times faster than the wall clock from start: the
// engine lives through days in seconds, in real time.
type fastClock struct {
	start, real0 time.Time
	factor       float64
}

func (c fastClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.real0)) * c.factor))
}

// Issue 16.1 on a running engine: an old list found due on a Sunday at
// dawn, with a Tue-Thu 09:30-10:30 window in Rome, on a clock that runs
// 20 hours a second: nothing is sent outside the window.
func TestNothingSentOutsideTheWindowOnACompressedClock(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			st := testrig.Open(t, sk.URL(t))
			r := newRig(t, st, 3, smtptest.Options{})
			seq := r.seq.Config
			seq.Interval, seq.FirstStepAfter = configs.Span{Days: 10}, configs.Span{Days: 10}
			seq.Window = mustWindow("tue,wed,thu", "09:30", "10:30")
			seq.Location, seq.Timezone = rome, "Europe/Rome"
			sunday := at(rome, 2026, 11, 22, 5, 30)
			emails := importDue(t, st, seq, "maria", "fair", 20, at(rome, 2026, 9, 1, 0, 0), sunday)
			clock := fastClock{start: sunday, real0: time.Now(), factor: 20 * 3600}
			eng := r.engine("compressed", func(o *sequencer.Options) {
				o.Clock = clock
				o.Lease = 1000 * time.Hour
			})
			r.run(eng)
			testrig.WaitFor(t, "the list sent", func() bool { return r.smtp.Total() == len(emails) })
			testrig.WaitFor(t, "the list recorded", func() bool { return r.states()[store.StateCompleted] == len(emails) })
			for _, e := range emails {
				sends := sendsOf(t, st, e)
				s := sends[3]
				if s.Status != store.SendSent || s.StartedAt == nil {
					t.Fatalf("%s: step 3 %+v, want sent (steps 1-2 skipped: R3)", e, s)
				}
				local := s.StartedAt.In(rome)
				wd := local.Weekday()
				clockMin := local.Hour()*60 + local.Minute()
				if (wd != time.Tuesday && wd != time.Wednesday && wd != time.Thursday) || clockMin < 9*60+30 || clockMin >= 10*60+30 {
					t.Errorf("%s: sent %s, outside Tue-Thu 09:30-10:30", e, local.Format(time.RFC1123))
				}
				if sends[1].Status != store.SendSkipped || sends[2].Status != store.SendSkipped {
					t.Errorf("%s: steps 1-2 %s/%s, want skipped", e, sends[1].Status, sends[2].Status)
				}
			}
		})
	}
}

// Issue 13: a provider's "this mailbox is over its limit" reply holds the
// sender as documented and never fails or bounces the prospect; once the
// provider accepts again, every step goes out once.
func TestProviderLimitRepliesHoldTheSender(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  smtptest.Fault
		reason string
		wait   time.Duration // past the hold
	}{
		{"Gmail daily limit after DATA", smtptest.Fault{Stage: smtptest.AtDot, Code: 550, Enhanced: [3]int{5, 4, 5}, Text: "Daily user sending limit exceeded."},
			store.HoldDailyLimit, 24 * time.Hour},
		{"Microsoft 365 submission quota after DATA", smtptest.Fault{Stage: smtptest.AtDot, Code: 554, Enhanced: [3]int{5, 2, 0},
			Text: "STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message"}, store.HoldDailyLimit, 24 * time.Hour},
		{"Gmail unusual rate at RCPT", smtptest.Fault{Stage: smtptest.AtRcpt, Code: 421, Enhanced: [3]int{4, 7, 28}, Text: "Our system has detected an unusual rate of unsolicited mail. - gsmtp"},
			store.HoldThrottled, 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := testrig.Open(t, testrig.SQLiteURL(t))
			r := newRig(t, st, 1, smtptest.Options{})
			emails := r.enroll(6)
			r.smtp.SetFault(tc.fault)
			eng := r.engine("limits", nil)
			r.run(eng)
			eng.Wake()
			ctx := context.Background()
			testrig.WaitFor(t, "the sender held", func() bool {
				holds, err := st.SenderHolds(ctx, r.clock.Now())
				return err == nil && len(holds) == 1 && holds[0].Reason == tc.reason
			})
			testrig.WaitFor(t, "the attempts recorded", func() bool {
				for _, e := range emails {
					if s := sendsOf(t, st, e)[1]; s.Status == store.SendSending {
						return false
					}
				}
				return true
			})
			if got := r.states()[store.StateActive]; got != len(emails) {
				t.Fatalf("states %v, want all %d active (nobody failed or bounced)", r.states(), len(emails))
			}
			r.smtp.SetFault()
			r.clock.Add(tc.wait)
			eng.Wake()
			testrig.WaitFor(t, "every step delivered", func() bool { return r.smtp.Total() == len(emails) })
			for _, e := range emails {
				if n := r.smtp.Count(e); n != 1 {
					t.Errorf("%s received %d, want 1", e, n)
				}
			}
		})
	}
}

// drip sender resume: a sender held until someone looks (its breaker
// tripped, its provider blocked it) sends again at once when resumed.
func TestSenderResumeLiftsTheHold(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	r := newRig(t, st, 1, smtptest.Options{})
	ctx := context.Background()
	if err := st.SenderHoldSet(ctx, store.SenderHold{Sender: "maria", Reason: store.HoldBreaker, Since: t0,
		Until: t0.Add(100 * 365 * 24 * time.Hour), Detail: "bounce rate 12% over the last 100 sends"}); err != nil {
		t.Fatal(err)
	}
	emails := r.enroll(3)
	eng := r.engine("resume", nil)
	r.run(eng)
	eng.Wake()
	testrig.WaitFor(t, "the held sender's steps planned after the hold", func() bool {
		e := onlyEnrollmentOf(t, st, emails[2])
		return e.NextSendAt != nil && e.NextSendAt.After(t0.Add(24*time.Hour))
	})
	if n := r.smtp.Total(); n != 0 {
		t.Fatalf("%d sent by a held sender", n)
	}
	cfg := &configs.Config{Senders: []configs.Sender{{Name: "maria"}}}
	c := &sequencer.Control{Store: st, Clock: r.clock, Config: cfg, Wake: eng.Wake}
	if _, err := c.SenderResume(ctx, "nobody"); err == nil {
		t.Fatal("resuming an unknown sender succeeded")
	}
	lifted, err := c.SenderResume(ctx, "maria")
	if err != nil || lifted.Reason != store.HoldBreaker {
		t.Fatalf("SenderResume = %+v, %v; want the breaker hold lifted", lifted, err)
	}
	testrig.WaitFor(t, "the steps sent after resume", func() bool { return r.smtp.Total() == len(emails) })
}
