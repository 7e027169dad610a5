package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// chromium finds Debian's Chromium ($DRIP_CHROMIUM, else /usr/bin/chromium;
// scripts/chromium.sh installs it). Without it the browser test skips,
// unless DRIP_REQUIRE_CHROMIUM=1 says it must run.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("DRIP_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return path
	}
	if os.Getenv("DRIP_REQUIRE_CHROMIUM") == "1" {
		t.Fatalf("chromium not found at %s and DRIP_REQUIRE_CHROMIUM=1 (run scripts/chromium.sh)", path)
	}
	t.Skipf("chromium not found at %s (run scripts/chromium.sh, or set DRIP_CHROMIUM)", path)
	return ""
}

// screensDir is where the screenshots go: $DRIP_ARTIFACTS/web-screens when
// set (CI keeps that folder), else drip-screens in the temporary directory.
func screensDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "drip-screens")
	if a := os.Getenv("DRIP_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "web-screens")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A sales rep on a phone, in a real browser: signs in, enrols a lead met at
// a fair, finds it in the list with its next email, opens it, pauses it,
// sees the pause on its timeline, and signs out.
func TestBrowserEnrolFindPauseSignOut(t *testing.T) {
	exe := chromium(t)
	r := newRig(t, nil)
	seedFair(t, r)
	dir := screensDir(t)
	t.Logf("screenshots in %s", dir)

	b := newPhoneBrowser(t, exe)
	ctx, step, text := b.ctx, b.step, b.text
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(loc, r.srv.URL)
	}
	// shot saves the whole page, and checks what a person would see
	// first: the stylesheet applied and nothing wider than the phone.
	n := 0
	shot := func(name string) {
		t.Helper()
		layout, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[
			document.documentElement.scrollWidth, window.innerWidth,
			getComputedStyle(document.body).backgroundColor === "rgb(245, 247, 250)" ? 1 : 0]`))
		if err != nil {
			t.Fatal(err)
		}
		if layout[2] != 1 {
			t.Errorf("%s: the stylesheet is not applied", name)
		}
		if layout[0] > layout[1] {
			t.Errorf("%s: the page is %dpx wide on a %dpx screen (sideways scrolling)", name, layout[0], layout[1])
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		n++
		file := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", n, name))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Signed out, a page sends the browser to sign-in.
	step("open the enrol page", chromedp.Navigate(r.srv.URL+"/ui/enroll"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := location(); !strings.HasPrefix(loc, "/ui/signin") {
		t.Fatalf("signed out, /ui/enroll went to %s, want /ui/signin", loc)
	}
	shot("signin")

	step("sign in",
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS("form button.primary")),
		chromedp.WaitVisible(chromedp.ID("first_name")))
	if loc := location(); loc != "/ui/enroll" {
		t.Fatalf("after sign-in: at %s, want back at /ui/enroll", loc)
	}
	shot("enroll")

	// The card, typed as a rep would (the date keeps today's default).
	step("fill the card",
		chromedp.SendKeys(chromedp.ID("first_name"), "Zoë"),
		chromedp.SendKeys(chromedp.ID("last_name"), "Müller-Łukasiewicz"),
		chromedp.SendKeys(chromedp.ID("email"), "zoe.muller@caffe-niccolo.it"),
		chromedp.SendKeys(chromedp.ID("company"), "Caffè Niccolò"),
		chromedp.SendKeys(chromedp.ID("title"), "Responsabile acquisti"),
		chromedp.SendKeys(chromedp.ID("phone"), "+39 02 1234 5678"),
		chromedp.SendKeys(chromedp.ID("met_at"), "Host Milano, stand B12"),
	)
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("first_contact"))); err != nil || v != "2026-11-24" {
		t.Errorf("first contact defaults to %q (%v), want today in Rome, 2026-11-24", v, err)
	}
	shot("enroll-filled")
	step("enrol", chromedp.Click(chromedp.CSS("form.card button.primary")), chromedp.WaitVisible(chromedp.CSS(".alert.ok")))
	confirm := text(".alert.ok")
	for _, want := range []string{"Zoë Müller-Łukasiewicz", "is enrolled in trade-fair", "Tue 8 Dec 2026, 09:30 CET"} {
		if !strings.Contains(confirm, want) {
			t.Errorf("confirmation %q lacks %q", confirm, want)
		}
	}
	shot("enrolled")
	// What the store holds is what was typed, accents and all.
	p, err := r.st.ProspectGetByEmail(context.Background(), "zoe.muller@caffe-niccolo.it")
	if err != nil {
		t.Fatal(err)
	}
	if p.FirstName != "Zoë" || p.LastName != "Müller-Łukasiewicz" || p.Company != "Caffè Niccolò" || p.MetAt != "Host Milano, stand B12" {
		t.Errorf("stored prospect: %q %q %q %q", p.FirstName, p.LastName, p.Company, p.MetAt)
	}

	// The list, then a search for the company.
	step("open the list", chromedp.Click(chromedp.CSS(`nav a[href="/ui/prospects"]`)), chromedp.WaitVisible(chromedp.CSS("table.prospects")))
	shot("prospects")
	step("search",
		chromedp.SendKeys(chromedp.ID("q"), "Niccolò"),
		chromedp.Click(chromedp.CSS("form.filters button")))
	// The unfiltered list shows the link too: wait for the search's page
	// before reading its first row.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(location(), "q="); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the search did not load: at %s", location())
		}
	}
	step("search results", chromedp.WaitVisible(chromedp.CSS(`a[href="/ui/prospects/zoe.muller@caffe-niccolo.it"]`)))
	row := text("table.prospects tbody tr:first-child")
	for _, want := range []string{"Zoë Müller-Łukasiewicz", "Caffè Niccolò", "active", "0 / 60", "Tue 8 Dec 2026, 09:30 CET"} {
		if !strings.Contains(row, want) {
			t.Errorf("list row %q lacks %q", row, want)
		}
	}
	shot("prospects-search")

	step("open the prospect",
		chromedp.Click(chromedp.CSS(`a[href="/ui/prospects/zoe.muller@caffe-niccolo.it"]`)),
		chromedp.WaitVisible(chromedp.CSS("ol.timeline")))
	if h1 := text("h1"); h1 != "Zoë Müller-Łukasiewicz" {
		t.Errorf("prospect page title %q", h1)
	}
	shot("prospect")

	step("pause",
		chromedp.Click(chromedp.CSS(`form[action$="/pause"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".alert.ok")))
	if flash := text(".alert.ok"); !strings.Contains(flash, "Paused") {
		t.Errorf("after pause the page says %q", flash)
	}
	if state := text("table.enrollments .state"); state != "paused" {
		t.Errorf("enrollment state %q after pause, want paused", state)
	}
	if first := text("ol.timeline li:first-child .kind"); first != "paused" {
		t.Errorf("newest timeline entry %q, want paused", first)
	}
	if tl := text("ol.timeline"); !strings.Contains(tl, "enrolled") {
		t.Errorf("timeline %q lacks the enrolment", tl)
	}
	shot("prospect-paused")

	// The other pages, to be looked at.
	step("funnel", chromedp.Click(chromedp.CSS(`nav a[href="/ui/funnel"]`)), chromedp.WaitVisible(chromedp.CSS("table.funnel")))
	shot("funnel")
	step("load a list",
		chromedp.Click(chromedp.CSS(`nav a[href="/ui/import"]`)),
		chromedp.WaitVisible(chromedp.ID("csv")),
		chromedp.SetValue(chromedp.ID("csv"), "email,first_name,last_name,company\nkasia@przyklad.pl,Katarzyna,Wiśniewska,Łódź Sp. z o.o.\nnot-an-address,X,Y,Z\n"),
		chromedp.Click(chromedp.CSS("form.card button.primary")),
		chromedp.WaitVisible(chromedp.CSS("table.rejects")))
	if res := text(".alert.ok"); !strings.Contains(res, "1 imported") || !strings.Contains(res, "1 rejected") {
		t.Errorf("import result %q", res)
	}
	shot("import")

	step("sign out", chromedp.Click(chromedp.CSS("form.signout button")), chromedp.WaitVisible(chromedp.ID("token")))
	if msg := text(".alert.ok"); msg != "Signed out." {
		t.Errorf("after sign-out the page says %q", msg)
	}
	shot("signed-out")
	step("open the list signed out", chromedp.Navigate(r.srv.URL+"/ui/prospects"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := location(); !strings.HasPrefix(loc, "/ui/signin") {
		t.Errorf("signed out, /ui/prospects went to %s, want /ui/signin", loc)
	}

	// The list on a desk, signed in again.
	step("desk",
		chromedp.EmulateViewport(1280, 900),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS("form button.primary")),
		chromedp.WaitVisible(chromedp.CSS("table.prospects")))
	shot("prospects-desk")
	step("prospect on a desk", chromedp.Navigate(r.srv.URL+"/ui/prospects/zoe.muller@caffe-niccolo.it"), chromedp.WaitVisible(chromedp.CSS("ol.timeline")))
	shot("prospect-desk")
	step("funnel on a desk", chromedp.Navigate(r.srv.URL+"/ui/funnel"), chromedp.WaitVisible(chromedp.CSS("table.funnel")))
	shot("funnel-desk")
}

// seedFair loads the leads of a fair, some of whom got step 1 and one
// replied, so that the list and the funnel look like a working week.
func seedFair(t *testing.T, r *rig) {
	t.Helper()
	ctx := context.Background()
	list := `email,first_name,last_name,company,met_at,timezone
giulia.bianchi@torrefazione.it,Giulia,Bianchi,Torrefazione Bianchi,Host Milano,
marek.kowalski@kawa.pl,Marek,Kowalski,Kawa Kraków,Host Milano,Europe/Warsaw
anna.nowak@palarnia.pl,Anna,Nowak,Palarnia Łódź,Host Milano,Europe/Warsaw
luca.ferrari@barista.it,Luca,Ferrari,Barista Pro,Host Milano,
sofia.romano@dolci.it,Sofia,Romano,Dolci Romano,Host Milano,
jan.dabrowski@ekspres.pl,Jan,Dąbrowski,Ekspres Sp. z o.o.,Host Milano,Europe/Warsaw
`
	if _, err := r.control.Import(ctx, strings.NewReader(list), sequencer.ImportRequest{Sequence: "trade-fair"}); err != nil {
		t.Fatal(err)
	}
	sendStep1(t, r, []string{"giulia.bianchi@torrefazione.it", "marek.kowalski@kawa.pl", "anna.nowak@palarnia.pl", "luca.ferrari@barista.it"}, "anna.nowak@palarnia.pl")
	p, err := r.st.ProspectGetByEmail(ctx, "anna.nowak@palarnia.pl")
	if err != nil {
		t.Fatal(err)
	}
	ens, err := r.st.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	if _, err := r.st.EnrollmentTransition(ctx, store.Transition{EnrollmentID: ens[0].ID, From: []store.State{store.StateActive},
		To: store.StateReplied, At: at}); err != nil {
		t.Fatal(err)
	}
}

// phoneBrowser is headless Chromium emulating a phone (390×844 at 2×), for
// the browser tests; it ends with the test.
type phoneBrowser struct {
	t   *testing.T
	ctx context.Context
}

func newPhoneBrowser(t *testing.T, exe string) *phoneBrowser {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		// The flags known to work on this kind of machine; without the
		// background-networking ones Chromium keeps dialling out.
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// The browser lives as long as the context of the first Run: no
	// timeout on it, a timeout on each step instead.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &phoneBrowser{t: t, ctx: ctx}
}

// step runs actions, within 30 s.
func (b *phoneBrowser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// text is the text of the first element sel selects, within 30 s.
func (b *phoneBrowser) text(sel string) string {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}
