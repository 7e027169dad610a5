package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/web"
)

// pages are every page of the UI a signed-in person can open.
var pages = []string{
	"/ui/", "/ui/enroll", "/ui/import", "/ui/prospects", "/ui/prospects?state=paused&q=x&page=2",
	"/ui/prospects/zoe%40example.com", "/ui/funnel", "/ui/no-such-page",
}

func TestPagesRedirectToSigninWithoutSession(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	for _, path := range pages {
		p := b.get(path)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/signin") {
			t.Errorf("GET %s without a session: status %d Location %q, want 303 to /ui/signin", path, p.status, p.location)
		}
	}
	// It comes back to the page asked for.
	if p := b.get("/ui/prospects?state=paused"); p.location != "/ui/signin?next="+url.QueryEscape("/ui/prospects?state=paused") {
		t.Errorf("Location %q, want the page as next", p.location)
	}
	// The stylesheet is no page: the sign-in page needs it.
	if p := b.get("/ui/signin"); p.status != http.StatusOK || !strings.Contains(p.body, `type="password"`) {
		t.Fatalf("sign-in page: status %d\n%s", p.status, p.body)
	} else if m := regexpFind(`href="(/ui/static/style\.css\?v=[0-9a-f]+)"`, p.body); m == "" {
		t.Errorf("sign-in page links no stylesheet")
	} else if css := b.get(m); css.status != http.StatusOK || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") {
		t.Errorf("GET %s: status %d, Content-Type %q", m, css.status, css.header.Get("Content-Type"))
	}
	// / sends a browser to the UI; the API and the probes are still there.
	if p := b.get("/"); p.status != http.StatusFound || p.location != "/ui/" {
		t.Errorf("GET /: status %d Location %q, want 302 to /ui/", p.status, p.location)
	}
	if p := b.get("/healthz"); p.status != http.StatusOK {
		t.Errorf("GET /healthz through Mount: status %d", p.status)
	}
	if p := b.get("/api/v1/prospects/zoe@example.com"); p.status != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/prospects without a token: status %d, want 401", p.status)
	}
}

func TestFormPostsWithoutSessionOrCSRFAreRefused(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	const email = "zoe@example.com"
	enrolled := func() bool {
		_, err := r.st.ProspectGetByEmail(ctx, email)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	// No session: back to sign-in, nothing done.
	anon := r.browser(t)
	if p := anon.post("/ui/enroll", enrollForm("", email)); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/signin") {
		t.Errorf("POST /ui/enroll without a session: status %d Location %q", p.status, p.location)
	}

	b := r.browser(t)
	csrf := b.signIn()
	other := r.browser(t)
	otherCSRF := other.signIn()
	if otherCSRF == csrf {
		t.Fatal("two sessions got the same CSRF token")
	}
	for _, c := range []struct{ name, csrf string }{
		{"without a CSRF token", ""},
		{"with a wrong CSRF token", "AAAA" + csrf[4:]},
		{"with another session's CSRF token", otherCSRF},
	} {
		p := b.post("/ui/enroll", enrollForm(c.csrf, email))
		if p.status != http.StatusForbidden {
			t.Errorf("POST /ui/enroll %s: status %d, want 403", c.name, p.status)
		}
	}
	if enrolled() {
		t.Fatal("a refused form enrolled the prospect")
	}

	// The right token works...
	if p := b.post("/ui/enroll", enrollForm(csrf, email)); p.status != http.StatusSeeOther {
		t.Fatalf("POST /ui/enroll with the session's token: status %d\n%s", p.status, p.body)
	}
	if !enrolled() {
		t.Fatal("the form did not enrol the prospect")
	}
	// ...and so do the buttons, only with it.
	for _, action := range []string{"pause", "unsubscribe"} {
		path := "/ui/prospects/" + url.PathEscape(email) + "/" + action
		if p := b.post(path, url.Values{"csrf": {otherCSRF}}); p.status != http.StatusForbidden {
			t.Errorf("POST %s with another session's token: status %d, want 403", path, p.status)
		}
		if p := b.post(path, url.Values{}); p.status != http.StatusForbidden {
			t.Errorf("POST %s without a token: status %d, want 403", path, p.status)
		}
	}
	v, err := r.control.ProspectView(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	if st := v.Enrollments[0].State; st != store.StateActive || v.Prospect.Suppressed {
		t.Fatalf("after refused pause/unsubscribe: state %s, suppressed %v; want active, not suppressed", st, v.Prospect.Suppressed)
	}
	// Sign out needs the token too, and then the session is over.
	if p := b.post("/ui/signout", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("POST /ui/signout without a token: status %d, want 403", p.status)
	}
	if p := b.post("/ui/signout", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: status %d", p.status)
	}
	if p := b.get("/ui/prospects"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/signin") {
		t.Errorf("after sign-out: status %d Location %q, want 303 to sign-in", p.status, p.location)
	}
	// The other session is untouched.
	if p := other.get("/ui/prospects"); p.status != http.StatusOK {
		t.Errorf("the other session after this one signed out: status %d", p.status)
	}
}

func TestSignedOutCookieReplayedIsRefused(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	csrf := b.signIn()
	u, _ := url.Parse(r.srv.URL + "/ui/")
	stolen := b.jar.Cookies(u)
	if p := b.post("/ui/signout", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: status %d", p.status)
	}
	replay := r.browser(t)
	replay.jar.SetCookies(u, stolen)
	if p := replay.get("/ui/prospects"); p.status != http.StatusSeeOther {
		t.Errorf("a signed-out session's cookie replayed: status %d, want 303 to sign-in", p.status)
	}
}

func TestSessionCookie(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	p := b.post("/ui/signin", url.Values{"token": {token}, "next": {"/ui/funnel"}})
	if p.status != http.StatusSeeOther || p.location != "/ui/funnel" {
		t.Fatalf("sign in: status %d Location %q, want 303 to /ui/funnel", p.status, p.location)
	}
	c := sessionCookie(t, p.header)
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/ui/" || c.MaxAge != int(web.DefaultSessionTTL/time.Second) {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/ui/, Max-Age 12h", c)
	}
	if c.Secure {
		t.Errorf("cookie is Secure on plain HTTP with an http public_url: the browser would never send it back")
	}
	// The session id is random and long: two sign-ins never share a cookie.
	if c2 := sessionCookie(t, r.browser(t).post("/ui/signin", url.Values{"token": {token}}).header); c2.Value == c.Value {
		t.Error("two sign-ins got the same cookie")
	}

	// A tampered cookie is no session.
	u, _ := url.Parse(r.srv.URL + "/ui/")
	forged := *c
	forged.Value = "A" + c.Value[1:]
	if forged.Value == c.Value {
		forged.Value = "B" + c.Value[1:]
	}
	f := r.browser(t)
	f.jar.SetCookies(u, []*http.Cookie{&forged})
	if p := f.get("/ui/prospects"); p.status != http.StatusSeeOther {
		t.Errorf("tampered cookie: status %d, want 303 to sign-in", p.status)
	}
	// An expired session is over, whatever the browser keeps.
	if p := b.get("/ui/prospects"); p.status != http.StatusOK {
		t.Fatalf("fresh session: status %d", p.status)
	}
	r.wall.Add(web.DefaultSessionTTL + time.Second)
	if p := b.get("/ui/prospects"); p.status != http.StatusSeeOther {
		t.Errorf("expired session: status %d, want 303 to sign-in", p.status)
	}

	// Wrong token: no cookie.
	p = r.browser(t).post("/ui/signin", url.Values{"token": {"guess"}})
	if p.status != http.StatusUnauthorized || p.header.Get("Set-Cookie") != "" {
		t.Errorf("wrong token: status %d Set-Cookie %q, want 401 and none", p.status, p.header.Get("Set-Cookie"))
	}
	// Only our own pages are places to return to.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/ui//evil.example", `/ui/\evil`, "/api/v1/x"} {
		p := r.browser(t).post("/ui/signin", url.Values{"token": {token}, "next": {next}})
		if p.location != "/ui/enroll" {
			t.Errorf("next=%q: Location %q, want /ui/enroll", next, p.location)
		}
	}
}

func TestSecureCookieWhenPublicURLIsHTTPS(t *testing.T) {
	r := newRig(t, func(o *web.Options) {
		cfg := *o.Control.Config
		cfg.HTTP.PublicURL = "https://drip.example.com"
		o.Config = &cfg
	})
	c := sessionCookie(t, r.browser(t).post("/ui/signin", url.Values{"token": {token}}).header)
	if !c.Secure {
		t.Error("public_url is https but the session cookie is not Secure")
	}
}

func TestNoTokenConfiguredNobodySignsIn(t *testing.T) {
	r := newRig(t, func(o *web.Options) {
		cfg := *o.Control.Config
		cfg.HTTP.APIToken = ""
		o.Config = &cfg
	})
	b := r.browser(t)
	for _, typed := range []string{"", token} {
		if p := b.post("/ui/signin", url.Values{"token": {typed}}); p.status != http.StatusUnauthorized {
			t.Errorf("no api_token configured, typed %q: status %d, want 401", typed, p.status)
		}
	}
	if p := b.get("/ui/signin"); !strings.Contains(p.body, "no <code>http.api_token</code>") {
		t.Errorf("sign-in page does not say why nobody can sign in:\n%s", p.body)
	}
}

func TestWrongTokensAreThrottled(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	throttled := false
	for range 40 {
		if p := b.post("/ui/signin", url.Values{"token": {"guess"}}); p.status == http.StatusTooManyRequests {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Fatal("40 wrong tokens in a row were never throttled")
	}
	// While throttled, even the right token waits: a guesser learns nothing.
	if p := b.post("/ui/signin", url.Values{"token": {token}}); p.status != http.StatusTooManyRequests {
		t.Errorf("right token while throttled: status %d, want 429", p.status)
	}
}

// An accented name goes in through the form and comes back intact on
// every page; markup in prospect data is shown, never run.
func TestEnrolRoundTripsUTF8AndEscapes(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	csrf := b.signIn()
	form := enrollForm(csrf, "zoe@example.com")
	form.Set("met_at", `<script>alert("met")</script>`)
	form.Set("title", `"><img src=x onerror=alert(1)>`)
	form.Set("phone", "+39 02 1234 5678")
	p := b.post("/ui/enroll", form)
	if p.status != http.StatusSeeOther {
		t.Fatalf("enrol: status %d\n%s", p.status, p.body)
	}
	done := b.get(p.location)
	for _, want := range []string{"Zoë Müller-Łukasiewicz", "is enrolled in trade-fair", "Tue 8 Dec 2026, 09:30 CET", "(step 1)"} {
		if !strings.Contains(done.body, want) {
			t.Errorf("confirmation lacks %q\n%s", want, done.body)
		}
	}
	// The next card keeps the sequence and sender, and starts empty.
	if !strings.Contains(done.body, `value="maria" selected`) || strings.Contains(done.body, `value="zoe@example.com"`) {
		t.Errorf("the next card should keep the sender and have an empty email")
	}
	list := b.get("/ui/prospects?q=" + url.QueryEscape("niccolò"))
	prospect := b.get("/ui/prospects/zoe%40example.com")
	for name, pg := range map[string]page{"list": list, "prospect": prospect} {
		if pg.status != http.StatusOK {
			t.Fatalf("%s page: status %d", name, pg.status)
		}
		if ct := pg.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s page: Content-Type %q", name, ct)
		}
		for _, want := range []string{"Zoë Müller-Łukasiewicz", "Caffè Niccolò", "Tue 8 Dec 2026, 09:30 CET"} {
			if !strings.Contains(pg.body, want) {
				t.Errorf("%s page lacks %q", name, want)
			}
		}
		if strings.Contains(pg.body, "<script>alert") || strings.Contains(pg.body, "<img src=x") {
			t.Errorf("%s page shows prospect data unescaped", name)
		}
		if csp := pg.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s page: Content-Security-Policy %q", name, csp)
		}
	}
	for _, want := range []string{`&lt;script&gt;alert(&#34;met&#34;)&lt;/script&gt;`, `&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`, `href="tel:&#43;390212345678"`} {
		if !strings.Contains(prospect.body, want) {
			t.Errorf("prospect page lacks %s", want)
		}
	}
}

func TestEnrolRefusalKeepsTheCard(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	csrf := b.signIn()
	form := enrollForm(csrf, "not-an-address")
	p := b.post("/ui/enroll", form)
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad address: status %d, want 422", p.status)
	}
	if !strings.Contains(p.body, "invalid address") || !strings.Contains(p.body, `value="Caffè Niccolò"`) {
		t.Errorf("the refusal should say why and keep what was typed\n%s", p.body)
	}
	// A suppressed address is refused with the reason.
	if _, err := r.control.Unsubscribe(context.Background(), "gone@example.com", "test"); err != nil {
		t.Fatal(err)
	}
	if p := b.post("/ui/enroll", enrollForm(csrf, "gone@example.com")); p.status != http.StatusConflict || !strings.Contains(p.body, "suppressed") {
		t.Errorf("suppressed address: status %d, want 409 saying suppressed", p.status)
	}
}

func TestProspectActions(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	csrf := b.signIn()
	if p := b.post("/ui/enroll", enrollForm(csrf, "zoe@example.com")); p.status != http.StatusSeeOther {
		t.Fatalf("enrol: status %d", p.status)
	}
	base := "/ui/prospects/zoe@example.com"
	page := b.get(base)
	if !strings.Contains(page.body, base+`/pause"`) || strings.Contains(page.body, base+`/resume"`) {
		t.Error("an active prospect's page should offer pause, not resume")
	}
	steps := []struct {
		action, location, state, flash, timeline string
	}{
		{"pause", base + "?done=paused", "paused", "Paused: nothing more is sent", "paused"},
		{"pause", base + "?done=nothing-paused", "paused", "Nothing to pause", "paused"},
		{"resume", base + "?done=resumed", "active", "Resumed", "resumed"},
		{"unsubscribe", base + "?done=unsubscribed", "unsubscribed", "never be written to again", "unsubscribe"},
	}
	for _, s := range steps {
		p := b.post(base+"/"+s.action, url.Values{"csrf": {csrf}})
		if p.status != http.StatusSeeOther || p.location != s.location {
			t.Fatalf("%s: status %d Location %q, want 303 to %s", s.action, p.status, p.location, s.location)
		}
		page := b.get(p.location)
		for _, want := range []string{s.flash, `state-` + s.state + `">` + s.state, `<span class="kind">` + s.timeline + `</span>`} {
			if !strings.Contains(page.body, want) {
				t.Errorf("after %s: page lacks %q", s.action, want)
			}
		}
	}
	if p := b.post(base+"/forget", url.Values{"csrf": {csrf}}); p.status != http.StatusNotFound {
		t.Errorf("unknown action: status %d, want 404", p.status)
	}
	if p := b.get("/ui/prospects/nobody%40example.com"); p.status != http.StatusNotFound || !strings.Contains(p.body, "no prospect nobody@example.com") {
		t.Errorf("unknown prospect: status %d, want 404 naming it", p.status)
	}
}

func TestImportShowsCountsAndRejects(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	csrf := b.signIn()
	list := "email;first_name;last_name;company\r\n" +
		"jan@example.pl;Jan;Wójcik;Łódź Sp. z o.o.\r\n" +
		"not an address;X;Y;Z\r\n" +
		"ana@example.it;Ana;Rossi;Niccolò\r\n" +
		"jan@example.pl;Jan;Wójcik;Łódź Sp. z o.o.\r\n"
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"csrf": csrf, "sequence": "webinar", "sender": "piotr", "csv": list} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	// An empty file input is what a browser sends when no file was chosen.
	if _, err := mw.CreateFormFile("file", ""); err != nil {
		t.Fatal(err)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/ui/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	p := b.do(req)
	if p.status != http.StatusOK {
		t.Fatalf("import: status %d\n%s", p.status, p.body)
	}
	for _, want := range []string{"<strong>2</strong> imported", "<strong>1</strong> updated", "<strong>1</strong> rejected",
		`<td data-label="Line">3</td>`, "invalid address"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("import result lacks %q\n%s", want, p.body)
		}
	}
	got, err := r.control.ProspectView(context.Background(), "jan@example.pl")
	if err != nil {
		t.Fatal(err)
	}
	if got.Prospect.LastName != "Wójcik" || got.Enrollments[0].Sequence != "webinar" || got.Enrollments[0].Sender != "piotr" {
		t.Errorf("imported prospect: %+v %+v", got.Prospect, got.Enrollments)
	}

	// A file upload, in windows-1250, as an old Excel in Poland saves it.
	body.Reset()
	mw = multipart.NewWriter(&body)
	for k, v := range map[string]string{"csrf": csrf, "sequence": "webinar", "encoding": "windows-1250"} {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "lista.csv")
	fw.Write([]byte("email,last_name\nola@example.pl,Kowalczyk-\xa3ukasik\n")) // Ł is 0xA3 in windows-1250
	mw.Close()
	req, _ = http.NewRequest(http.MethodPost, r.srv.URL+"/ui/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if p := b.do(req); p.status != http.StatusOK || !strings.Contains(p.body, "<strong>1</strong> imported") {
		t.Fatalf("file import: status %d\n%s", p.status, p.body)
	}
	if v, err := r.control.ProspectView(context.Background(), "ola@example.pl"); err != nil || v.Prospect.LastName != "Kowalczyk-Łukasik" {
		t.Errorf("uploaded prospect: %+v, %v", v.Prospect, err)
	}

	// Nothing to load: said so.
	form := url.Values{"csrf": {csrf}, "sequence": {"webinar"}}
	if p := b.post("/ui/import", form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Paste a list or choose a file") {
		t.Errorf("empty import: status %d", p.status)
	}
}

func TestProspectListFiltersAndPages(t *testing.T) {
	r := newRig(t, func(o *web.Options) { o.PageSize = 10; o.CountPast = 15 })
	ctx := context.Background()
	var csv strings.Builder
	csv.WriteString("email,company\n")
	for i := range 25 {
		company := "Acme"
		if i%5 == 0 {
			company = "Caffè Niccolò"
		}
		fmt.Fprintf(&csv, "p%02d@example.com,%s\n", i, company)
	}
	if _, err := r.control.Import(ctx, strings.NewReader(csv.String()), sequencer.ImportRequest{Sequence: "trade-fair"}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"p03@example.com", "p07@example.com"} {
		if _, err := r.control.Pause(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	b := r.browser(t)
	b.signIn()
	cases := []struct {
		query      string
		count      string
		has, hasnt []string
	}{
		// Counted up to 15 (CountPast), or to the end of the page shown.
		{"", "1–10 of more than 15", []string{"p00@", "p09@", `href="/ui/prospects?page=2" rel="next"`, "Page 1</span>"}, []string{"p10@", `rel="prev"`}},
		{"?page=2", "11–20 of more than 20", []string{"p19@", `href="/ui/prospects" rel="prev"`, `href="/ui/prospects?page=3" rel="next"`}, nil},
		{"?page=3", "21–25 of 25", []string{"Page 3 of 3", "p24@", `href="/ui/prospects?page=2" rel="prev"`}, []string{"p19@", `rel="next"`}},
		{"?state=paused", "1–2 of 2", []string{"p03@", "p07@"}, []string{"p00@", `rel="next"`}},
		{"?q=NICCOL%C3%92", "1–5 of 5", []string{"p00@", "p20@"}, []string{"p01@"}},
		{"?q=acme&page=1", "1–10 of more than 15", []string{`href="/ui/prospects?page=2&amp;q=acme" rel="next"`}, nil},
		{"?q=acme&page=2", "11–20 of 20", []string{`href="/ui/prospects?q=acme" rel="prev"`}, []string{`rel="next"`}},
		{"?q=nobody", "No prospects match.", nil, []string{"<table"}},
		{"?q=acme&state=paused", "1–2 of 2", nil, nil},
		{"?state=bogus&page=-4", "1–10 of more than 15", nil, nil},
	}
	for _, c := range cases {
		p := b.get("/ui/prospects" + c.query)
		if p.status != http.StatusOK {
			t.Fatalf("%s: status %d", c.query, p.status)
		}
		if !strings.Contains(p.body, c.count) {
			t.Errorf("%s: lacks %q", c.query, c.count)
		}
		for _, s := range c.has {
			if !strings.Contains(p.body, s) {
				t.Errorf("%s: lacks %q", c.query, s)
			}
		}
		for _, s := range c.hasnt {
			if strings.Contains(p.body, s) {
				t.Errorf("%s: has %q", c.query, s)
			}
		}
	}
	// A paused prospect has no next email; an active one has, in its zone.
	p := b.get("/ui/prospects?q=p0")
	if !strings.Contains(p.body, `<span class="state state-paused">paused</span></td>
    <td data-label="Step">0 / 60</td>
    <td data-label="Next email">—</td>`) {
		t.Errorf("paused row should show step 0/60 and no next email\n%s", p.body)
	}
	if !strings.Contains(p.body, "Tue 8 Dec 2026, 09:30 CET") {
		t.Errorf("active rows should show their next email in Rome's time")
	}
}

func TestFunnelShowsReplyRatePerStep(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	if _, err := r.control.Import(ctx, strings.NewReader("email\na@x.it\nb@x.it\nc@x.it\nd@x.it\n"), sequencer.ImportRequest{Sequence: "trade-fair"}); err != nil {
		t.Fatal(err)
	}
	sendStep1(t, r, []string{"a@x.it", "b@x.it", "c@x.it", "d@x.it"}, "c@x.it")
	b := r.browser(t)
	b.signIn()
	p := b.get("/ui/funnel")
	if p.status != http.StatusOK {
		t.Fatalf("funnel: status %d", p.status)
	}
	for _, want := range []string{`<td class="who">Step 1</td>`, `<td data-label="Sent">4</td>`, `<td data-label="Replied">1</td>`,
		`value="0.25"`, "25.0%", "4 enrolled, 4 still running", "webinar", "No email sent yet."} {
		if !strings.Contains(p.body, want) {
			t.Errorf("funnel lacks %q", want)
		}
	}
}

// sendStep1 records step 1 as sent to each address, as the engine would
// (claim, settle with the next step planned), and a reply from replier.
func sendStep1(t testing.TB, r *rig, emails []string, replier string) {
	t.Helper()
	ctx := context.Background()
	claimed, err := r.st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "test", Now: t0.AddDate(0, 1, 0),
		LeaseUntil: t0.AddDate(0, 2, 0), Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	byProspect := map[int64]store.Enrollment{}
	var release []int64
	for _, e := range claimed {
		byProspect[e.ProspectID] = e
		release = append(release, e.ID)
	}
	for i, email := range emails {
		p, err := r.st.ProspectGetByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		e, ok := byProspect[p.ID]
		if !ok {
			t.Fatalf("%s was not due", email)
		}
		seq := r.cfg.Sequences[e.Sequence]
		at := time.Date(2026, 12, 8, 8, 30, i, 0, time.UTC)
		mid := fmt.Sprintf("<step1.%d@example.com>", e.ID)
		sent := e
		sent.LastStep, sent.LastSentAt = 1, &at
		next := sequencer.Plan(sent, seq, sequencer.Location(p, seq), at)
		errs, err := r.st.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "test",
			Sends:  []store.SendUpdate{{Step: 1, Status: store.SendSent, MessageID: mid, FinishedAt: &at}},
			Events: []store.Event{{ProspectID: p.ID, EnrollmentID: e.ID, Sequence: e.Sequence, Step: 1, Kind: store.EventSent, MessageID: mid, At: at}},
			State:  store.StateActive, LastStep: 1, LastSentAt: &at, NextSendAt: next}})
		if err == nil {
			err = errs[0]
		}
		if err != nil {
			t.Fatal(err)
		}
		if email == replier {
			if err := r.st.EventAdd(ctx, store.Event{ProspectID: p.ID, EnrollmentID: e.ID, Sequence: e.Sequence, Step: 1,
				Kind: store.EventReply, At: at.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.st.EnrollmentRelease(ctx, "test", release); err != nil {
		t.Fatal(err)
	}
}

func sessionCookie(t testing.TB, h http.Header) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "drip_session" {
			return c
		}
	}
	t.Fatalf("no drip_session cookie in %v", h.Values("Set-Cookie"))
	return nil
}

// TestFlaggedShownOnProspectPage: a stop request that failed DMARC at the
// rep's provider is on the prospect's page as flagged, with the sequence
// paused for review and the address not suppressed (issue 18).
func TestFlaggedShownOnProspectPage(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	csrf := b.signIn()
	if p := b.post("/ui/enroll", enrollForm(csrf, "zoe@example.com")); p.status != http.StatusSeeOther {
		t.Fatalf("enrol: status %d", p.status)
	}
	forged := "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=x@evil.example; dmarc=fail header.from=example.com\r\n" +
		"From: zoe@example.com\r\nTo: maria@example.com\r\nSubject: unsubscribe\r\nMessage-ID: <forged.1@evil.example>\r\n\r\nPlease remove me.\r\n"
	h := &sequencer.InboundHandler{Store: r.st}
	got, err := h.Handle(context.Background(), inbound.Fetched{Sender: "maria", UIDValidity: 1, UID: 1, Raw: []byte(forged)})
	if err != nil || got.Kind != inbound.LabelFlagged {
		t.Fatalf("forged stop request handled as %q, %v", got.Kind, err)
	}
	page := b.get("/ui/prospects/zoe%40example.com")
	for _, want := range []string{"Flagged for review:", `<span class="kind">flagged</span>`, "dmarc=fail",
		`state-paused">paused`, "(flagged for review)"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("prospect page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "state-unsubscribed") {
		t.Error("the page shows the forged request as an unsubscribe")
	}
}
