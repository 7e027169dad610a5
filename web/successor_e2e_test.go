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

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// leftAutoReply says Jan Nowicki left and names Ewa Mazur, in Polish.
func leftAutoReply(at time.Time) []byte {
	return []byte(fmt.Sprintf("From: Jan Nowicki <jan.nowicki@firma-pl.example>\r\nTo: Maria Rossi <maria@example.com>\r\n"+
		"Date: %s\r\nSubject: Autoodpowiedź\r\nMessage-ID: <left.7@firma-pl.example>\r\nAuto-Submitted: auto-replied\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDzień dobry,\r\n"+
		"Pan Jan Nowicki nie pracuje już w naszej firmie. W sprawach handlowych prosimy o kontakt z Panią Ewa Mazur: "+
		"ewa.mazur@firma-pl.example\r\n\r\nZ poważaniem\r\n", at.Format(time.RFC1123Z)))
}

// seedLeft enrols Jan Nowicki (met at Targi Kielce) and has his mailbox
// answer that he left, naming Ewa Mazur.
func seedLeft(t *testing.T, r *rig) {
	t.Helper()
	ctx := context.Background()
	if _, err := r.control.Enroll(ctx, sequencer.EnrollRequest{Sequence: "trade-fair", Sender: "maria",
		Prospect: store.Prospect{Email: "jan.nowicki@firma-pl.example", FirstName: "Jan", LastName: "Nowicki",
			Company: "Firma Nowicki", MetAt: "Targi Kielce 2026", Timezone: "Europe/Warsaw"}}); err != nil {
		t.Fatal(err)
	}
	h := &sequencer.InboundHandler{Store: r.st, Clock: fixedClock{t0}, Sequences: r.cfg.Sequences}
	got, err := h.Handle(ctx, inbound.Fetched{Sender: "maria", UIDValidity: 1, UID: 1, Raw: leftAutoReply(t0),
		Own: []string{"Maria Rossi <maria@example.com>"}})
	if err != nil || got.Kind != inbound.LabelLeft {
		t.Fatalf("the auto-reply was handled as %s (%s), %v", got.Kind, got.Note, err)
	}
}

// A rep opens the page of a prospect who left the company, sees who took
// over, and enrols the successor in one click, in a real browser: the
// successor's page then shows them running in the same sequence, from the
// same sender, met at the same fair. On both stores.
func TestBrowserEnrolSuccessor(t *testing.T) {
	exe := chromium(t)
	for _, b := range testrig.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			browserEnrolSuccessor(t, exe, newRigOn(t, testrig.Open(t, b.URL(t)), nil), b.Name)
		})
	}
}

func browserEnrolSuccessor(t *testing.T, exe string, r *rig, backend string) {
	seedLeft(t, r)
	dir := screensDir(t)

	b := newPhoneBrowser(t, exe)
	ctx, step, text := b.ctx, b.step, b.text
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "successor-"+backend+"-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	step("open the page of the prospect who left",
		chromedp.Navigate(r.srv.URL+"/ui/prospects/jan.nowicki@firma-pl.example"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS("form button.primary")),
		chromedp.WaitVisible(chromedp.CSS("table.enrollments")))
	if state := text("table.enrollments .state"); state != "left" {
		t.Errorf("enrollment state %q, want left", state)
	}
	if who := text("table.enrollments div.successor"); !strings.Contains(who, "Ewa Mazur") || !strings.Contains(who, "ewa.mazur@firma-pl.example") {
		t.Errorf("successor shown as %q", who)
	}
	if first := text("ol.timeline li:first-child"); !strings.Contains(first, "left") || !strings.Contains(first, "Ewa Mazur") {
		t.Errorf("newest timeline entry %q, want left naming the successor", first)
	}
	shot("left")

	step("enrol the successor",
		chromedp.Click(chromedp.CSS(`form.successor button`)),
		chromedp.WaitVisible(chromedp.CSS(".alert.ok")))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimPrefix(loc, r.srv.URL), "/ui/prospects/ewa.mazur@firma-pl.example") {
		t.Errorf("after the click: at %s, want the successor's page", loc)
	}
	if h1 := text("h1"); h1 != "Ewa Mazur" {
		t.Errorf("successor page title %q", h1)
	}
	if flash := text(".alert.ok"); !strings.Contains(flash, "successor") {
		t.Errorf("the page says %q", flash)
	}
	if row := text("table.enrollments tbody tr"); !strings.Contains(row, "trade-fair") || !strings.Contains(row, "active") || !strings.Contains(row, "maria") {
		t.Errorf("successor's enrollment row %q", row)
	}
	if facts := text("dl.facts"); !strings.Contains(facts, "Targi Kielce 2026") || !strings.Contains(facts, "Firma Nowicki") {
		t.Errorf("successor's facts %q lack the fair and the company", facts)
	}
	shot("successor")

	p, err := r.st.ProspectGetByEmail(context.Background(), "ewa.mazur@firma-pl.example")
	if err != nil {
		t.Fatal(err)
	}
	ens, err := r.st.EnrollmentsByProspect(context.Background(), p.ID)
	if err != nil || len(ens) != 1 || ens[0].Sequence != "trade-fair" || ens[0].Sender != "maria" || ens[0].State != store.StateActive || p.MetAt != "Targi Kielce 2026" {
		t.Errorf("stored successor %+v, enrollments %+v (%v)", p, ens, err)
	}
}
