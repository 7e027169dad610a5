package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/internal/memimap"
	"github.com/drip-email/drip/mailer/imapwatch"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

const (
	imapUser     = "maria"
	imapPassword = "bench-password"
	baselineUser = "baseline"
)

// memIMAP is an imapmemserver on 127.0.0.1 with the watched mailbox and a
// second one for the baseline client.
type memIMAP struct {
	srv  *imapserver.Server
	ln   net.Listener
	mem  *imapmemserver.Server
	addr string
}

func startIMAP() (*memIMAP, error) {
	m := &memIMAP{mem: imapmemserver.New()}
	for _, name := range []string{imapUser, baselineUser} {
		u := imapmemserver.NewUser(name, imapPassword)
		if err := u.Create("INBOX", nil); err != nil {
			return nil, err
		}
		m.mem.AddUser(u)
	}
	m.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return memimap.PromptIdle{Session: m.mem.NewSession()}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIdle: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.ln, m.addr = ln, ln.Addr().String()
	go func() { _ = m.srv.Serve(ln) }()
	return m, nil
}

func (m *memIMAP) Close() { _ = m.srv.Close() }

// benchReply measures, sp.N times one after the other, the time from the
// start of an APPEND of a prospect's reply (over IMAP, from another client)
// to the watcher having recorded the enrollment as replied. The baseline:
// the time from an APPEND to the EXISTS seen by a bare go-imap client
// idling on a mailbox of the same server.
func benchReply(ctx context.Context, sp spec) (map[string]float64, error) {
	srv, err := startIMAP()
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	cfg, err := loadConfig(sp.Work, sp.DB, peers{SMTP: "127.0.0.1:25", IMAP: srv.addr})
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, sp.DB)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	sent, err := seedSent(ctx, st, sp.N+1)
	if err != nil {
		return nil, err
	}

	base, err := baselineLatencies(ctx, srv.addr, sp.N)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}

	handled := make(chan imapwatch.Handled, sp.N+1)
	sc := cfg.Senders[0]
	ic := sc.IMAP
	w, err := imapwatch.New(imapwatch.Config{
		Sender: sc.Name, Own: []string{sc.From},
		Host: ic.Host, Port: ic.Port, TLS: ic.TLS, Username: ic.Username, Password: ic.Password,
		Mailbox: ic.Mailbox, Poll: ic.Poll.Approx(), ReconnectMax: cfg.Engine.ReconnectLimit.Approx(),
		Lease: cfg.Engine.MailboxLease.Approx(), Owner: "dripbench",
		Log: quietLog(), Metrics: imapwatch.NewMetrics(prometheus.NewRegistry()),
		OnHandled: func(h imapwatch.Handled) { handled <- h },
	}, &sequencer.InboundHandler{Store: st})
	if err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() { _ = w.Run(wctx); close(wdone) }()
	defer func() { stop(); <-wdone }()

	app, err := imapLogin(srv.addr, imapUser)
	if err != nil {
		return nil, err
	}
	defer app.Close()
	wait := func() (imapwatch.Handled, error) {
		select {
		case h := <-handled:
			return h, nil
		case <-time.After(30 * time.Second):
			return imapwatch.Handled{}, fmt.Errorf("no reply recorded within 30s")
		case <-ctx.Done():
			return imapwatch.Handled{}, ctx.Err()
		}
	}
	// The first reply only warms up (the watcher connects and idles).
	if err := appendMsg(app, "INBOX", humanReply(sent[0])); err != nil {
		return nil, err
	}
	if _, err := wait(); err != nil {
		return nil, err
	}
	prof := startProfile(sp, "watcher")
	var lat []time.Duration
	for _, s := range sent[1:] {
		t0 := time.Now()
		if err := appendMsg(app, "INBOX", humanReply(s)); err != nil {
			return nil, err
		}
		h, err := wait()
		if err != nil {
			return nil, err
		}
		if h.Kind != "reply" || h.EnrollmentID != s.enrollment {
			return nil, fmt.Errorf("reply of %s recorded as %s of enrollment %d", s.email, h.Kind, h.EnrollmentID)
		}
		lat = append(lat, time.Since(t0))
	}
	prof.stop()
	for _, s := range sent {
		e, err := st.EnrollmentGet(ctx, s.enrollment)
		if err != nil {
			return nil, err
		}
		if e.State != store.StateReplied {
			return nil, fmt.Errorf("%s is %s after its reply was recorded", s.email, e.State)
		}
	}
	slices.Sort(lat)
	slices.Sort(base)
	progress("reply latency over %d: p50 %s p99 %s (baseline p50 %s p99 %s)", len(lat),
		percentile(lat, 50), percentile(lat, 99), percentile(base, 50), percentile(base, 99))
	return map[string]float64{
		"p50_ms": msOf(percentile(lat, 50)), "p99_ms": msOf(percentile(lat, 99)), "max_ms": msOf(lat[len(lat)-1]),
		"base_p50_ms": msOf(percentile(base, 50)), "base_p99_ms": msOf(percentile(base, 99)),
	}, nil
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// sentMsg is a seeded step-1 send the benchmark replies to.
type sentMsg struct {
	email      string
	enrollment int64
	messageID  string
}

// seedSent enrols n prospects and records step 1 of each as sent, the way
// the engine does (claim, then one settle per enrollment, in one batch).
func seedSent(ctx context.Context, st store.Store, n int) ([]sentMsg, error) {
	now := time.Now().UTC()
	due := now.Add(-time.Hour)
	if err := seedRows(ctx, st, n, 1000, func(i int) store.ImportRow {
		return prospectRow(i, "trade-fair", due, &due)
	}); err != nil {
		return nil, err
	}
	claimed, err := st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "seed", Now: now,
		LeaseUntil: now.Add(time.Hour), Limit: n, Sequences: []string{"trade-fair"}})
	if err != nil {
		return nil, err
	}
	if len(claimed) != n {
		return nil, fmt.Errorf("seeding: claimed %d of %d", len(claimed), n)
	}
	var settles []store.Settle
	var out []sentMsg
	for _, e := range claimed {
		p, err := st.ProspectGet(ctx, e.ProspectID)
		if err != nil {
			return nil, err
		}
		id := fmt.Sprintf("<drip.%d.1.bench@ferrovalvole.example>", e.ID)
		next := now.Add(10 * 24 * time.Hour)
		settles = append(settles, store.Settle{EnrollmentID: e.ID, Owner: "seed", State: store.StateActive,
			Sends:    []store.SendUpdate{{Step: 1, Status: store.SendSent, MessageID: id, PlannedAt: &due, FinishedAt: &now}},
			Events:   []store.Event{{Kind: store.EventSent, Step: 1, MessageID: id, At: now}},
			LastStep: 1, LastSentAt: &now, NextSendAt: &next, ThreadSubject: "Great to meet you", ThreadRefs: id})
		out = append(out, sentMsg{email: p.Email, enrollment: e.ID, messageID: id})
	}
	errs, err := st.Settle(ctx, settles)
	if err != nil {
		return nil, err
	}
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	return out, nil
}

// humanReply is a person's answer to a sent message.
func humanReply(s sentMsg) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Anna Kowalska <%s>\r\nTo: Maria Rossi <maria@ferrovalvole.example>\r\n", s.email)
	fmt.Fprintf(&b, "Date: %s\r\nSubject: Re: Great to meet you\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <reply.%d@prospect.example>\r\n", s.enrollment)
	fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", s.messageID, s.messageID)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString("Buongiorno Maria,\r\nsì, ci interessa: possiamo sentirci giovedì alle 10?\r\nCordiali saluti\r\nAnna\r\n\r\n> Hi Anna,\r\n> thank you for stopping by our stand.\r\n")
	return []byte(b.String())
}

func imapLogin(addr, user string) (*imapclient.Client, error) {
	return imapLoginWith(addr, user, nil)
}

func imapLoginWith(addr, user string, opts *imapclient.Options) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(addr, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, imapPassword).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func appendMsg(c *imapclient.Client, mailbox string, raw []byte) error {
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

// baselineLatencies: n times, APPEND to the baseline mailbox and wait for
// the EXISTS an idling bare client receives.
func baselineLatencies(ctx context.Context, addr string, n int) ([]time.Duration, error) {
	exists := make(chan uint32, 16)
	idler, err := imapLoginWith(addr, baselineUser, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		return nil, err
	}
	defer idler.Close()
	if _, err := idler.Select("INBOX", nil).Wait(); err != nil {
		return nil, err
	}
	idle, err := idler.Idle()
	if err != nil {
		return nil, err
	}
	defer idle.Close()
	app, err := imapLogin(addr, baselineUser)
	if err != nil {
		return nil, err
	}
	defer app.Close()
	raw := humanReply(sentMsg{email: "anna@prospect.example", enrollment: 1, messageID: "<x@y>"})
	var out []time.Duration
	for i := 1; i <= n; i++ {
		t0 := time.Now()
		if err := appendMsg(app, "INBOX", raw); err != nil {
			return nil, err
		}
		for {
			select {
			case got := <-exists:
				if got < uint32(i) {
					continue
				}
			case <-time.After(10 * time.Second):
				return nil, fmt.Errorf("no EXISTS for message %d", i)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			break
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}
