package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer/imapwatch"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

func init() {
	register(&command{
		name:    "demo",
		args:    "[--duration D]",
		summary: "the whole pipeline on this machine, nothing to install: SQLite, SMTP sink, IMAP server, sample sequences",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			duration := fs.Duration("duration", 30*time.Second, "how long to run (Ctrl-C stops earlier)")
			keep := fs.Bool("keep", false, "keep the demo's directory (database, config, templates) and print where it is")
			g.logLevel = "warn"
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *duration <= 0 {
					return usagef("--duration must be positive")
				}
				return runDemo(ctx, g, *duration, *keep)
			}
		},
	})
}

// demoProspect is a sample lead and what it will do.
type demoProspect struct {
	sequence, email, first, last, company, metAt, tz string
	// act: "" (nothing), "reply" after step 3, "away" after step 1 (an
	// out-of-office reply back in 20 days: the enrollment is deferred to
	// the return, R5b), "ooo" (an auto-reply without a date; the sequence
	// goes on), "left" after step 1 (left the company, naming a
	// successor), "stop" after step 2, "bounce" (the address does not
	// exist).
	act string
}

var demoProspects = []demoProspect{
	{"trade-fair", "john.carter@carter-logistics.example", "John", "Carter", "Carter Logistics", "LogiMAT 2026", "America/New_York", "reply"},
	{"fiera", "anna.bianchi@bianchi-meccanica.example", "Anna", "Bianchi", "Bianchi Meccanica S.r.l.", "EIMA 2026", "Europe/Rome", ""},
	{"trade-fair", "pawel.zajac@zajac.example", "Paweł", "Zając", "Zając Sp. z o.o.", "Targi Kielce", "Europe/Warsaw", "stop"},
	{"trade-fair", "giulia.esposito@esposito.example", "Giulia", "Esposito", "Esposito Srl", "EICMA 2026", "Europe/Rome", "away"},
	{"trade-fair", "jan.nowicki@nowicki-stal.example", "Jan", "Nowicki", "Nowicki Stal Sp. z o.o.", "Targi Kielce 2026", "Europe/Warsaw", "left"},
	{"trade-fair", "sophie.martin@martin-sa.example", "Sophie", "Martin", "Martin SA", "", "Europe/Paris", ""},
	{"trade-fair", "old.contact@gone.example", "Tom", "Gone", "", "", "", "bounce"},
}

const demoConfig = `# drip demo: generated, lives in a temporary directory.
database_url: "sqlite:{{dir}}/drip.db"
http:
  listen: "{{listen}}"
  api_token: "{{token}}"
  public_url: "http://{{listen}}"
workers: 4
sequences_dir: "{{dir}}/sequences"
templates_dir: "{{dir}}/templates"
senders:
  - name: maria
    from: "Maria Rossi <maria@drip-demo.example>"
    daily_limit: 5000
    pace: { min: 60ms, max: 180ms }   # a person's 60-180 s, shrunk like the rest
    smtp: { host: 127.0.0.1, port: {{smtp}}, tls: none }
    imap: { host: 127.0.0.1, port: {{imap}}, tls: none, username: maria, password: "{{imappass}}", poll: 1s, save_sent: off }
engine:
  poll: 100ms
  lease: 30s
  retry_base: 1s
  retry_max_delay: 5s
  metrics_refresh: 1s
  mailbox_lease: 10s
  reconnect_limit: 2s
`

// The sample sequences on a compressed clock: 10 days become 1 second.
const demoTradeFair = `name: trade-fair
steps: 60
interval: 1s
first_step_after: 0
min_gap: 500ms
timezone: Europe/Rome
thread: true
templates: trade-fair
`

const demoFiera = `name: fiera
steps: 8
interval: 2s
first_step_after: 0
timezone: Europe/Rome
thread: true
templates: fiera
`

func runDemo(ctx context.Context, g *globals, duration time.Duration, keep bool) error {
	dir, err := os.MkdirTemp("", "drip-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(g.stdout, "demo directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	out := &demoLog{w: g.stdout, start: time.Now()}

	// The peers: an SMTP sink that refuses one unknown address, and an
	// IMAP server holding the rep's inbox.
	sink, err := smtptest.Start(smtptest.Options{Domain: "mx.drip-demo.example"})
	if err != nil {
		return fmt.Errorf("starting the SMTP sink: %w", err)
	}
	defer sink.Close()
	for _, p := range demoProspects {
		if p.act == "bounce" {
			sink.SetFault(smtptest.UnknownUser(p.email))
		}
	}
	imapPass := strings.ToLower(rand.Text())
	inbox, imapAddr, err := startDemoIMAP(imapPass)
	if err != nil {
		return err
	}
	defer inbox.close()

	listen, err := freeAddr()
	if err != nil {
		return err
	}
	if err := writeDemoFiles(dir, map[string]string{
		"{{dir}}": dir, "{{listen}}": listen, "{{token}}": strings.ToLower(rand.Text()),
		"{{smtp}}": fmt.Sprint(sink.Port()), "{{imap}}": fmt.Sprint(imapAddr.Port), "{{imappass}}": imapPass,
	}); err != nil {
		return err
	}
	g.config = filepath.Join(dir, "drip.yaml")
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	logger, err := newLogger(g)
	if err != nil {
		return err
	}

	fmt.Fprintf(g.stdout, "drip demo: %d prospects on the trade-fair (60 steps) and fiera sequences, 10 days = 1 second, for %s\n",
		len(demoProspects), duration)
	fmt.Fprintf(g.stdout, "  web UI   http://%s/ui/  (sign in with the token %s)\n  metrics  http://%s/metrics\n  api      http://%s/api/v1/prospects/john.carter@carter-logistics.example  (Authorization: Bearer %s)\n\n",
		listen, cfg.HTTP.APIToken, listen, listen, cfg.HTTP.APIToken)

	var (
		sent, replied atomic.Int64
		acted         sync.Map // email -> true once its act is done
		prospectOf    = map[string]demoProspect{}
	)
	for _, p := range demoProspects {
		prospectOf[p.email] = p
	}
	react := func(o sequencer.Outcome) {
		p := prospectOf[o.Email]
		trigger := map[string]int{"reply": 3, "ooo": 1, "away": 1, "left": 1, "stop": 2}[p.act]
		if trigger == 0 || o.Step != trigger || o.Status != store.SendSent {
			return
		}
		if _, done := acted.LoadOrStore(p.email, true); done {
			return
		}
		msgID := sink.LastMessageID(p.email)
		go func() {
			time.Sleep(300 * time.Millisecond) // a person takes a moment
			inbox.deliver(demoInbound(p, msgID))
		}()
	}
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	d, err := daemon.New(runCtx, daemon.Options{
		Config: cfg, Log: logger,
		OnSettled: func(o sequencer.Outcome) {
			if o.Status == store.SendSent {
				sent.Add(1)
			}
			out.outcome(o)
			react(o)
		},
		OnInbound: func(h imapwatch.Handled) {
			if h.Kind == imapwatch.KindReply && !h.Duplicate {
				replied.Add(1)
			}
			out.inbound(h)
		},
	})
	if err != nil {
		return err
	}
	if err := enrollDemo(runCtx, d.Store(), cfg); err != nil {
		d.Close()
		return err
	}
	if err := demoCapacity(runCtx, g.stdout, d.Store(), cfg); err != nil {
		d.Close()
		return err
	}
	if err := d.Run(runCtx); err != nil {
		return err
	}

	paused, err := demoPaused(context.Background(), g, cfg)
	if err != nil {
		return err
	}
	if err := demoGaps(context.Background(), g, cfg); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "\ndemo: sent=%d replied=%d paused=%d\n", sent.Load(), replied.Load(), paused)
	return nil
}

// enrollDemo enrols the sample prospects the way a rep would, through the
// same code as `drip enroll`.
func enrollDemo(ctx context.Context, st store.Store, cfg *configs.Config) error {
	c := &sequencer.Control{Store: st, Config: cfg}
	for _, p := range demoProspects {
		_, err := c.Enroll(ctx, sequencer.EnrollRequest{
			Sequence: p.sequence,
			Prospect: store.Prospect{Email: p.email, FirstName: p.first, LastName: p.last, Company: p.company,
				MetAt: p.metAt, Timezone: p.tz},
		})
		if err != nil {
			return fmt.Errorf("enrolling %s: %w", p.email, err)
		}
	}
	return nil
}

// demoHorizon is how far ahead the demo's capacity line looks: 10
// seconds, 100 days on its clock (the forecast's week would be 0.7 s).
const demoHorizon = 10 * time.Second

// demoCapacity prints the capacity line of each sender on the demo's
// clock: the sends due (the forecast of drip status --senders) against
// what its pace lets it send in that time (the forecast's minute-long
// steps are too coarse for a clock where a day is 0.1 s; the demo's
// sequences have no window and its daily limit is far off).
func demoCapacity(ctx context.Context, w io.Writer, st store.Store, cfg *configs.Config) error {
	now := time.Now()
	planned, err := st.EnrollmentsPlanned(ctx, now.Add(demoHorizon))
	if err != nil {
		return err
	}
	caps, _ := sequencer.Forecast(sequencer.CapacityParams{Config: cfg, Planned: planned, Now: now, Horizon: demoHorizon})
	for i := range cfg.Senders {
		s, k := &cfg.Senders[i], caps[i]
		line := fmt.Sprintf("sender %s: pace %s between two sends (a person's minute or three, on the demo's clock); next %s: %d sends due",
			s.Name, s.Pace, demoHorizon, k.Due)
		if gap := s.Pace.Mean(); gap > 0 {
			can := int(demoHorizon / gap)
			line += fmt.Sprintf(", its pace lets it send about %d (load %.0f%%)", can, 100*float64(k.Due)/float64(can))
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)
	return nil
}

// demoGaps prints, from the store, how far apart each sender's sends
// started: inside its pace.
func demoGaps(ctx context.Context, g *globals, cfg *configs.Config) error {
	st, err := openStore(ctx, g, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	starts := map[string][]time.Time{}
	for _, p := range demoProspects {
		pr, err := st.ProspectGetByEmail(ctx, p.email)
		if err != nil {
			return err
		}
		ens, err := st.EnrollmentsByProspect(ctx, pr.ID)
		if err != nil {
			return err
		}
		for _, en := range ens {
			sends, err := st.SendsByEnrollment(ctx, en.ID)
			if err != nil {
				return err
			}
			for _, s := range sends {
				if s.StartedAt != nil && (s.Status == store.SendSent || s.Status == store.SendBounced) {
					starts[s.Sender] = append(starts[s.Sender], *s.StartedAt)
				}
			}
		}
	}
	for i := range cfg.Senders {
		s := &cfg.Senders[i]
		ts := starts[s.Name]
		if len(ts) < 2 {
			continue
		}
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		lo, hi := ts[1].Sub(ts[0]), ts[1].Sub(ts[0])
		for j := 2; j < len(ts); j++ {
			d := ts[j].Sub(ts[j-1])
			lo, hi = min(lo, d), max(hi, d)
		}
		fmt.Fprintf(g.stdout, "\nsender %s: %d sends, %s to %s apart (pace %s; longer when nothing was due)\n", s.Name, len(ts),
			lo.Round(time.Millisecond), hi.Round(time.Millisecond), s.Pace)
	}
	return nil
}

func demoPaused(ctx context.Context, g *globals, cfg *configs.Config) (int, error) {
	st, err := openStore(ctx, g, cfg)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	counts, err := st.EnrollmentCounts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, byState := range counts {
		n += byState[store.StatePaused] + byState[store.StateReplied]
	}
	return n, nil
}

// demoInbound is what a prospect sends back, in the thread of msgID.
func demoInbound(p demoProspect, msgID string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s %s <%s>\r\nTo: Maria Rossi <maria@drip-demo.example>\r\n", p.first, p.last, p.email)
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <%s@%s>\r\n", time.Now().Format(time.RFC1123Z), strings.ToLower(rand.Text()), "client.example")
	if msgID != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", msgID, msgID)
	}
	switch p.act {
	case "reply":
		b.WriteString("Subject: Re: our conversation\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Hi Maria,\r\n\r\nthanks for following up. Thursday at 10 works for a call.\r\n\r\nJohn\r\n")
	case "ooo":
		b.WriteString("Subject: Risposta automatica: fuori sede\r\nAuto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Sono fuori sede, con accesso limitato alla posta.\r\n")
	case "away":
		// Back in 20 days: away until the day before.
		last := time.Now().AddDate(0, 0, 19)
		fmt.Fprintf(&b, "Subject: Risposta automatica: fuori sede\r\nAuto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
			"Buongiorno,\r\nsono fuori sede fino al %d/%02d, con accesso limitato alla posta.\r\nCordiali saluti\r\n%s\r\n", last.Day(), last.Month(), p.first)
	case "left":
		b.WriteString("Subject: =?utf-8?q?Autoodpowied=C5=BA?=\r\nAuto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Dzień dobry,\r\nPan " + p.first + " " + p.last + " nie pracuje już w naszej firmie. W sprawach handlowych prosimy o kontakt " +
			"z Panią Ewa Mazur: ewa.mazur@nowicki-stal.example\r\n\r\nZ poważaniem\r\n")
	case "stop":
		b.WriteString("Subject: Re: follow-up\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Please remove me from your list.\r\n")
	}
	return b.Bytes()
}

func writeDemoFiles(dir string, vars map[string]string) error {
	return writeConfigDir(dir, map[string]string{
		"drip.yaml":                 demoConfig,
		"sequences/trade-fair.yaml": demoTradeFair,
		"sequences/fiera.yaml":      demoFiera,
	}, vars)
}

// writeConfigDir writes a configuration tree drip can run on: files (paths
// relative to dir, every {{var}} of vars replaced) and the sample
// templates under dir/templates. The demo and the tests that run serve
// in-process share it.
func writeConfigDir(dir string, files, vars map[string]string) error {
	for name, body := range files {
		for k, v := range vars {
			body = strings.ReplaceAll(body, k, v)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			return err
		}
	}
	return templates.WriteSamples(filepath.Join(dir, "templates"))
}

// freeAddr picks a free loopback port for the demo's HTTP server.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// demoIMAP is the rep's mailbox: an in-process IMAP server.
type demoIMAP struct {
	srv  *imapserver.Server
	user *imapmemserver.User
}

func startDemoIMAP(password string) (*demoIMAP, *net.TCPAddr, error) {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("maria", password)
	if err := user.Create("INBOX", nil); err != nil {
		return nil, nil, err
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	return &demoIMAP{srv: srv, user: user}, ln.Addr().(*net.TCPAddr), nil
}

func (d *demoIMAP) deliver(raw []byte) {
	_, _ = d.user.Append("INBOX", demoLiteral{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{})
}

func (d *demoIMAP) close() { _ = d.srv.Close() }

type demoLiteral struct {
	*bytes.Reader
	n int64
}

func (l demoLiteral) Size() int64 { return l.n }

// demoLog prints the live log: one readable line per thing that happened.
type demoLog struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (l *demoLog) line(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%6.1fs  %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, a...))
}

func (l *demoLog) outcome(o sequencer.Outcome) {
	switch {
	case o.Status == store.SendSent && o.State == store.StateCompleted:
		l.line("sent       %-40s %-10s step %d (last: completed)", o.Email, o.Sequence, o.Step)
	case o.Status == store.SendSent:
		l.line("sent       %-40s %-10s step %d", o.Email, o.Sequence, o.Step)
	case o.Status == store.SendBounced:
		l.line("bounced    %-40s %-10s step %d: %v", o.Email, o.Sequence, o.Step, o.Err)
	case o.Status != "":
		l.line("%-10s %-40s %-10s step %d: %v", o.Status, o.Email, o.Sequence, o.Step, o.Err)
	}
}

func (l *demoLog) inbound(h imapwatch.Handled) {
	if h.Duplicate {
		return
	}
	what := map[string]string{
		imapwatch.KindReply:       "→ replied: sequence paused, no more canned email",
		imapwatch.KindAutoReply:   "→ auto-reply recorded; the sequence goes on",
		imapwatch.KindUnsubscribe: "→ asked to stop: unsubscribed and suppressed",
		imapwatch.KindBounce:      "→ bounced: stopped and suppressed",
		imapwatch.KindDeferred:    "→ out of office, " + h.Note,
		imapwatch.KindLeft:        "→ left the company: sequence ended (not suppressed), " + h.Note,
	}[h.Kind]
	l.line("inbound    %-40s %-10s %s", h.Email, h.Kind, what)
}
