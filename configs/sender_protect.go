package configs

import (
	"fmt"
	"strings"
	"time"
)

// Sender.DKIM (dkim_selector) names the DKIM selector(s) that the sender's
// provider signs its mail with, comma-separated ("google", "selector1,
// selector2"), for drip check --dns; empty: the preset's usual ones, else a
// few common ones.

// Pace (sender `pace: {min: 60s, max: 180s}`) is R9's gap between two sends
// from one mailbox: each gap is drawn at random in [Min, Max], over every
// engine instance together, so the mailbox never bursts as no person
// would. A nil Pace sends as fast as the workers go (a relay).
type Pace struct {
	Min Span `yaml:"min"`
	Max Span `yaml:"max"`
}

// Mean is the average gap, (Min+Max)/2.
func (p *Pace) Mean() time.Duration {
	if p == nil {
		return 0
	}
	return (p.Min.Approx() + p.Max.Approx()) / 2
}

// DefaultPace is the pace of a sender that sets none: every preset is a
// person's mailbox and gets 60–180 s, 30 an hour on average, which is what
// peers use (Woodpecker about 30 an hour per mailbox; Instantly a minimum
// gap plus a random 0–5 minutes) and well inside Microsoft 365's 30 a
// minute and Gmail's daily limits. A custom server gets none (it may be a
// relay), unless its host is Gmail's or Microsoft 365's own.
func (s *Sender) DefaultPace() *Pace {
	if s.MailProvider() == "" && (s.Provider == "" || s.Provider == ProviderCustom) {
		return nil
	}
	return &Pace{Min: Span{Dur: 60 * time.Second}, Max: Span{Dur: 180 * time.Second}}
}

// MailProvider names the big provider behind the sender ("gmail",
// "microsoft365"): its preset, else its SMTP host; "" for any other.
func (s *Sender) MailProvider() string {
	if s.Provider == ProviderGmail || s.Provider == ProviderMicrosoft365 {
		return s.Provider
	}
	return ProviderOfHost(s.SMTP.Host)
}

// ProviderOfHost names the preset whose SMTP server host is ("gmail",
// "microsoft365"), or "" for any other server.
func ProviderOfHost(host string) string {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	switch h {
	case "smtp.gmail.com", "smtp.googlemail.com", "smtp-relay.gmail.com":
		return "gmail"
	case "smtp.office365.com", "smtp-mail.outlook.com":
		return "microsoft365"
	}
	return ""
}

// Shield (sender `protect: {max_bounce_rate: 0.05, window: 100,
// min_sends: 20}`) is the sender's circuit breaker: when more than
// MaxBounceRate of its last Window sends bounced (hard bounces: 5xx at
// RCPT and bounce reports), and at least MinSends were made, the sender is
// paused until `drip sender resume`. Zero fields take the defaults.
type Shield struct {
	MaxBounceRate float64 `yaml:"max_bounce_rate"`
	Window        int     `yaml:"window"`
	MinSends      int     `yaml:"min_sends"`
	// Off turns the breaker off for this sender.
	Off bool `yaml:"off"`
}

// The breaker's defaults: 5 % over the last 100 sends, judged from 20 on.
// Woodpecker's Bounce Shield stops at 2 % after 20 sends and Smartlead
// and Instantly around 3–5 %; 5 % over a window of 100 trips on a real
// list problem (a bought or stale list bounces 10 % and more) without
// stopping a rep for two unlucky bounces among the first twenty.
const (
	DefaultMaxBounceRate = 0.05
	DefaultBounceWindow  = 100
	DefaultMinSends      = 20
)

func (s *Sender) applyProtectDefaults() {
	if s.Pace == nil {
		s.Pace = s.DefaultPace()
	}
	if s.Protect.MaxBounceRate == 0 {
		s.Protect.MaxBounceRate = DefaultMaxBounceRate
	}
	if s.Protect.Window == 0 {
		s.Protect.Window = DefaultBounceWindow
	}
	if s.Protect.MinSends == 0 {
		s.Protect.MinSends = min(DefaultMinSends, s.Protect.Window)
	}
}

func (s *Sender) validateProtect(p string, src *source, ps *Problems) {
	if pc := s.Pace; pc != nil {
		switch {
		case pc.Min.Days != 0 || pc.Max.Days != 0 || pc.Max.Approx() > time.Hour:
			src.problem(ps, p+".pace", "gaps of at most 1h, e.g. {min: 60s, max: 180s}")
		case pc.Min.IsZero() || pc.Max.IsZero():
			src.problem(ps, p+".pace", "min and max must both be more than 0, e.g. {min: 60s, max: 180s}; leave pace out for none")
		case pc.Max.Approx() < pc.Min.Approx():
			src.problem(ps, p+".pace", "max %s is less than min %s", pc.Max, pc.Min)
		}
	}
	sh := &s.Protect
	if sh.MaxBounceRate < 0 || sh.MaxBounceRate >= 1 {
		src.problem(ps, p+".protect.max_bounce_rate", "must be a fraction between 0 and 1, e.g. 0.05 for 5%%, got %v", sh.MaxBounceRate)
	}
	if sh.Window < 1 || sh.Window > 100000 {
		src.problem(ps, p+".protect.window", "must be 1..100000 sends, got %d", sh.Window)
	}
	if sh.MinSends < 1 || sh.MinSends > sh.Window {
		src.problem(ps, p+".protect.min_sends", "must be 1..window (%d), got %d", sh.Window, sh.MinSends)
	}
}

// String is the pace as written, "60s–3m0s", or "none".
func (p *Pace) String() string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("%s–%s", p.Min, p.Max)
}
