package configs

import (
	"strings"
	"testing"
)

// TestWebhooks: a webhook's secret comes from DRIP_WEBHOOKS_<i>_SECRET and
// never shows when the configuration is printed; a bad URL, a missing
// secret or an unknown event kind is one line naming file, line and key.
func TestWebhooks(t *testing.T) {
	good := goodConfig + `webhooks:
  - url: "https://crm.example.com/hooks/drip"
    events: [reply, bounce]
`
	f := newFixture(t, good, map[string]string{"fair": goodSequence})
	t.Setenv("DRIP_WEBHOOKS_0_SECRET", "whsec-Tz8q")
	c, err := Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Webhooks; len(w) != 1 || w[0].Secret != "whsec-Tz8q" || strings.Join(w[0].Events, ",") != "reply,bounce" {
		t.Fatalf("webhooks = %+v", w)
	}
	if strings.Contains(c.String(), "whsec-Tz8q") {
		t.Errorf("the secret shows in the printed configuration:\n%s", c)
	}

	bad := goodConfig + `webhooks:
  - url: "ftp://crm.example.com/x?token=abc123"
    events: [reply, replied]
  - url: "https://crm.example.com/other"
`
	f = newFixture(t, bad, map[string]string{"fair": goodSequence})
	t.Setenv("DRIP_WEBHOOKS_0_SECRET", "")
	got := problems(t, f.file)
	wantProblem(t, got, f.file+":15: webhooks[0].url: expected an absolute http(s) URL")
	wantProblem(t, got, f.file+":16: webhooks[0].events[1]: \"replied\": one of enrolled, sent, reply")
	wantProblem(t, got, f.file+":15: webhooks[0].secret: missing: set $DRIP_WEBHOOKS_0_SECRET")
	wantProblem(t, got, f.file+":17: webhooks[1].secret: missing: set $DRIP_WEBHOOKS_1_SECRET")
	for _, p := range got {
		if strings.Contains(p, "abc123") {
			t.Errorf("a problem quotes the URL's token: %s", p)
		}
	}
}
