package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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

	b := newPhoneBrowser(t, exe)
	ctx, step, text := b.ctx, b.step, b.text
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
