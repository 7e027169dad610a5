package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drip-email/drip/api"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/storeopen"
	"github.com/drip-email/drip/web"
)

const token = "fiera-2026-t0ken"

// t0 is a Tuesday, 10:00 in Rome: drip's clock in these tests.
var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// wallClock is the sessions' clock, moved by hand.
type wallClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *wallClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *wallClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rig is drip's HTTP handler as `drip serve` composes it (web.Mount of the
// UI and the API) on a real SQLite store, served on loopback.
type rig struct {
	st      store.Store
	control *sequencer.Control
	cfg     *configs.Config
	wall    *wallClock
	srv     *httptest.Server
}

func testConfig(t testing.TB) *configs.Config {
	t.Helper()
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		t.Fatal(err)
	}
	return &configs.Config{
		HTTP: configs.HTTP{APIToken: token, PublicURL: "http://127.0.0.1"},
		Senders: []configs.Sender{
			{Name: "maria", From: "Maria Rossi <maria@example.com>"},
			{Name: "piotr", From: "Piotr Nowak <piotr@example.com>"},
		},
		Sequences: map[string]*configs.Sequence{
			"trade-fair": {Name: "trade-fair", Steps: 60, Interval: configs.Span{Days: 10}, FirstStepAfter: configs.Span{Days: 10},
				Timezone: "Europe/Rome", Location: rome,
				Window: &configs.Window{Days: []configs.Weekday{2, 3, 4}, From: 9*60 + 30, To: 10*60 + 30}},
			"webinar": {Name: "webinar", Steps: 5, Interval: configs.Span{Days: 7}, FirstStepAfter: configs.Span{Days: 1},
				Timezone: "Europe/Warsaw", Location: warsaw},
		},
		Engine: configs.Engine{ImportBatch: 1000},
	}
}

func openStore(t testing.TB, path string) store.Store {
	t.Helper()
	ctx := context.Background()
	st, dialect, db, err := storeopen.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := migrations.Up(ctx, db, dialect); err != nil {
		t.Fatal(err)
	}
	return st
}

func newRig(t testing.TB, mod func(*web.Options)) *rig {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), "drip.db"))
	return newRigOn(t, st, mod)
}

func newRigOn(t testing.TB, st store.Store, mod func(*web.Options)) *rig {
	t.Helper()
	cfg := testConfig(t)
	r := &rig{st: st, cfg: cfg, wall: &wallClock{t: time.Now()}}
	r.control = &sequencer.Control{Store: st, Clock: fixedClock{t0}, Config: cfg}
	unsub, err := mailer.NewUnsubscriber("link-secret")
	if err != nil {
		t.Fatal(err)
	}
	o := web.Options{Control: r.control, Now: r.wall.Now}
	if mod != nil {
		mod(&o)
	}
	ui, err := web.New(o)
	if err != nil {
		t.Fatal(err)
	}
	apiHandler := api.New(api.Options{Control: r.control, Config: cfg, Unsubscriber: unsub})
	r.srv = httptest.NewServer(web.Mount(ui, apiHandler))
	t.Cleanup(r.srv.Close)
	return r
}

// browser is a plain HTTP client with a cookie jar that does not follow
// redirects, so that tests see them.
type browser struct {
	t   testing.TB
	r   *rig
	hc  *http.Client
	jar *cookiejar.Jar
}

func (r *rig) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, r: r, jar: jar, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.r.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.r.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn signs in with the API token and returns the CSRF token of the
// session, read from a page's form as a browser would.
func (b *browser) signIn() string {
	b.t.Helper()
	p := b.post("/ui/signin", url.Values{"token": {token}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("sign in: status %d, want 303\n%s", p.status, p.body)
	}
	return b.csrf()
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from the enrol page's form.
func (b *browser) csrf() string {
	b.t.Helper()
	p := b.get("/ui/enroll")
	m := csrfRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		b.t.Fatalf("enrol page: status %d, no CSRF token in its form\n%s", p.status, p.body)
	}
	return m[1]
}

func enrollForm(csrf, email string) url.Values {
	v := url.Values{
		"email": {email}, "first_name": {"Zoë"}, "last_name": {"Müller-Łukasiewicz"},
		"company": {"Caffè Niccolò"}, "sequence": {"trade-fair"}, "sender": {"maria"},
		"first_contact": {"2026-11-24"},
	}
	if csrf != "" {
		v.Set("csrf", csrf)
	}
	return v
}

func regexpFind(expr, s string) string {
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if len(m) < 2 {
		return ""
	}
	return m[1]
}
