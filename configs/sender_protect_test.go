package configs

import (
	"strings"
	"testing"
	"time"
)

func TestPaceAndProtectDefaults(t *testing.T) {
	cfg := strings.Replace(goodConfig, "smtp: { host: smtp.example.com", "smtp: { host: smtp.gmail.com", 1) +
		`  - name: relay
    from: "Relay <relay@example.com>"
    smtp: { host: relay.example.com }
  - name: piotr
    from: "Piotr <piotr@example.com>"
    smtp: { host: smtp.office365.com }
    pace: { min: 2m, max: 4m }
    protect: { max_bounce_rate: 0.02, window: 50 }
  - name: giulia
    from: "Giulia <giulia@libero.it>"
    provider: libero
    smtp: { username: giulia@libero.it, password: "secret-of-giulia" }
`
	f := newFixture(t, cfg, map[string]string{"fair": goodSequence})
	c, err := Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	maria, _ := c.Sender("maria")
	relay, _ := c.Sender("relay")
	piotr, _ := c.Sender("piotr")
	if maria.Pace == nil || maria.Pace.Min.Approx() != time.Minute || maria.Pace.Max.Approx() != 3*time.Minute {
		t.Errorf("Gmail sender's default pace = %v, want 1m0s–3m0s", maria.Pace)
	}
	// Every preset is a person's mailbox (the contract: "none for custom,
	// the preset's otherwise").
	if giulia, _ := c.Sender("giulia"); giulia.Pace == nil || giulia.Pace.Min.Approx() != time.Minute {
		t.Errorf("a libero.it sender's default pace = %v, want 1m0s–3m0s", giulia.Pace)
	}
	if relay.Pace != nil {
		t.Errorf("a custom server got a pace %v, want none", relay.Pace)
	}
	if piotr.Pace.Mean() != 3*time.Minute {
		t.Errorf("explicit pace mean = %v, want 3m", piotr.Pace.Mean())
	}
	if p := maria.Protect; p.MaxBounceRate != 0.05 || p.Window != 100 || p.MinSends != 20 || p.Off {
		t.Errorf("default protect = %+v, want 5%% over 100 from 20", p)
	}
	if p := piotr.Protect; p.MaxBounceRate != 0.02 || p.Window != 50 || p.MinSends != 20 {
		t.Errorf("protect = %+v, want 2%% over 50 from 20", p)
	}
}

func TestPaceAndProtectProblems(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"    pace: { min: 3m, max: 1m }", `:14: senders[0].pace: max 1m0s is less than min 3m0s`},
		{"    pace: { min: 0, max: 1m }", `:14: senders[0].pace: min and max must both be more than 0`},
		{"    pace: { min: 1m, max: 2d }", `:14: senders[0].pace: gaps of at most 1h`},
		{"    pace: { min: 1m, max: soon }", `:14: senders[0].pace.max: invalid duration "soon"`},
		{"    protect: { max_bounce_rate: 5 }", `:14: senders[0].protect.max_bounce_rate: must be a fraction between 0 and 1`},
		{"    protect: { window: 10, min_sends: 20 }", `:14: senders[0].protect.min_sends: must be 1..window (10), got 20`},
		{"    protect: { windw: 10 }", `:14: unknown key "windw" (did you mean "window"?)`},
	} {
		f := newFixture(t, goodConfig+tc.line+"\n", map[string]string{"fair": goodSequence})
		wantProblem(t, problems(t, f.file), f.file+tc.want)
	}
}
