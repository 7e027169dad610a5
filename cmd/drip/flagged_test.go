package main

import (
	"context"
	"strings"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store/storeopen"
)

// TestStatusShowsFlagged: after a stop request that failed DMARC at the
// rep's provider, `drip status EMAIL` says the prospect has mail kept for
// review, shows the flagged entry and the sequence paused for review, and
// the address is not suppressed (issue 18).
func TestStatusShowsFlagged(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "zoe@example.org")
	st, _, _, err := storeopen.Open(context.Background(), e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	forged := "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=x@evil.example; dmarc=fail header.from=example.org\r\n" +
		"From: zoe@example.org\r\nTo: maria@example.com\r\nSubject: unsubscribe\r\nMessage-ID: <forged.1@evil.example>\r\n\r\nPlease remove me.\r\n"
	h := &sequencer.InboundHandler{Store: st}
	got, err := h.Handle(context.Background(), inbound.Fetched{Sender: "maria", UIDValidity: 1, UID: 1, Raw: []byte(forged)})
	if err != nil || got.Kind != inbound.LabelFlagged {
		t.Fatalf("forged stop request handled as %q, %v", got.Kind, err)
	}
	out := e.mustDrip("status", "zoe@example.org")
	for _, want := range []string{"1 inbound message(s) kept for review", "paused", "flagged for review",
		"dmarc=fail at mx.google.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "suppressed") || strings.Contains(out, "unsubscribed") {
		t.Errorf("status shows the forged request as acted on:\n%s", out)
	}
}
