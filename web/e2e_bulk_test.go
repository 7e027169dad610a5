package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/drip-email/drip/store"
)

// ops in a real browser, on a phone: tick two prospects in the list, pause
// them with the bulk form, and see the list say so; the others run on.
func TestBrowserBulkPause(t *testing.T) {
	exe := chromium(t)
	r := newRig(t, nil)
	seedFair(t, r)
	dir := screensDir(t)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
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
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		layout, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
		if err != nil {
			t.Fatal(err)
		}
		if layout[0] > layout[1] {
			t.Errorf("%s: the page is %dpx wide on a %dpx screen (sideways scrolling)", name, layout[0], layout[1])
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bulk-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	step("sign in to the list",
		chromedp.Navigate(r.srv.URL+"/ui/prospects"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS("form button.primary")),
		chromedp.WaitVisible(chromedp.CSS("table.prospects")))
	step("tick two",
		chromedp.Click(chromedp.CSS(`input[aria-label="Select sofia.romano@dolci.it"]`)),
		chromedp.Click(chromedp.CSS(`input[aria-label="Select jan.dabrowski@ekspres.pl"]`)))
	shot("ticked")
	if a, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("bulk-action"))); err != nil || a != "pause" {
		t.Fatalf("the bulk action is %q (%v), want pause first", a, err)
	}
	step("apply", chromedp.Click(chromedp.CSS("form.bulk button")), chromedp.WaitVisible(chromedp.CSS(".alert.ok")))
	if msg := text(".alert.ok"); msg != "Paused 2 prospects." {
		t.Errorf("after the bulk pause the list says %q", msg)
	}
	shot("paused")
	for email, want := range map[string]store.State{
		"sofia.romano@dolci.it": store.StatePaused, "jan.dabrowski@ekspres.pl": store.StatePaused,
		"luca.ferrari@barista.it": store.StateActive, "giulia.bianchi@torrefazione.it": store.StateActive,
	} {
		if got := r.state(t, email); got != want {
			t.Errorf("%s is %s, want %s", email, got, want)
		}
	}
	if rows := text("table.prospects"); strings.Count(rows, "paused") != 2 {
		t.Errorf("the list shows %d paused rows, want 2:\n%s", strings.Count(rows, "paused"), rows)
	}
}
