package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// The web UI shows why a sender sends nothing (issue 13): its circuit
// breaker tripped, with what it counted and how it goes on; a rep sees
// only the holds of their own senders.
func TestProspectsPageShowsHeldSenders(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	if err := r.st.SenderHoldSet(ctx, store.SenderHold{Sender: "maria", Reason: store.HoldBreaker, Since: t0,
		Until: t0.Add(100 * 365 * 24 * time.Hour), Detail: "2 of its last 20 sends bounced (10.0%, more than 5.0%)"}); err != nil {
		t.Fatal(err)
	}
	if err := r.st.SenderHoldSet(ctx, store.SenderHold{Sender: "piotr", Reason: store.HoldDailyLimit, Since: t0,
		Until: t0.Add(15 * time.Hour), Detail: "daily limit of 400 sends used up"}); err != nil {
		t.Fatal(err)
	}
	ops := r.browser(t)
	ops.signIn()
	page := ops.get("/ui/prospects")
	for _, want := range []string{
		"Sender maria sends nothing", "its circuit breaker tripped", "drip sender resume maria",
		"2 of its last 20 sends bounced (10.0%, more than 5.0%)",
		"Sender piotr sends nothing", "its daily limit is used up", "none fails",
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the prospects page lacks %q", want)
		}
	}

	r.addUser(t, "giulia", store.RoleRep, "piotr")
	rep := r.browser(t)
	rep.signInAs("giulia", userPassword)
	page = rep.get("/ui/prospects")
	if strings.Contains(page.body, "Sender maria") || !strings.Contains(page.body, "Sender piotr sends nothing") {
		t.Errorf("a rep of piotr's should see piotr's hold and not maria's")
	}
}
