package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer/dnscheck"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store/storeopen"
)

// checkProtect is drip check's advice about the rep's mailbox and the
// receivers' bulk-sender rules: warnings, never problems.
func checkProtect(ctx context.Context, cfg *configs.Config) []string {
	var warnings []string
	if u, err := url.Parse(cfg.HTTP.PublicURL); err == nil && u.Scheme == "http" && cfg.HTTP.PublicURL != "" {
		warnings = append(warnings, fmt.Sprintf("%s: http.public_url %q is not HTTPS: RFC 8058 one-click unsubscribe needs an https:// URI, and Gmail, Yahoo and Outlook.com require one-click from bulk senders",
			cfg.File, cfg.HTTP.PublicURL))
	}
	return append(warnings, checkCapacity(ctx, cfg)...)
}

// checkCapacity warns about senders with more due in the next week than
// they can send, and sending domains near Gmail's bulk threshold, from
// what an existing store plans. No store yet, or one of an older schema:
// nothing is planned, nothing to say.
func checkCapacity(ctx context.Context, cfg *configs.Config) []string {
	if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite:"); ok {
		if _, err := os.Stat(path); err != nil {
			return nil
		}
	}
	st, _, _, err := storeopen.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil // checkAgainstStore reports it
	}
	defer st.Close()
	ctl := &sequencer.Control{Store: st, Clock: sequencer.SystemClock{}, Config: cfg}
	views, vols, err := ctl.SendersView(ctx)
	if err != nil {
		return nil
	}
	var warnings []string
	for _, v := range views {
		if v.Capacity.Over() {
			s, _ := cfg.Sender(v.Name)
			warnings = append(warnings, sequencer.CapacityAdvice(s, v.Capacity))
		}
	}
	for _, g := range vols {
		if g.Warn() {
			warnings = append(warnings, sequencer.GmailAdvice(g))
		}
	}
	return warnings
}

// checkDNS looks up every sender domain once and prints what it found;
// what is missing comes back as problems, what is weak as warnings.
func checkDNS(ctx context.Context, cfg *configs.Config, out io.Writer) (problems, warnings []string) {
	server, err := dnscheck.ServerFromEnv()
	if err != nil {
		return []string{"dns: " + err.Error()}, nil
	}
	r := &dnscheck.Resolver{Server: server}
	seen := map[string]bool{}
	for i := range cfg.Senders {
		s := &cfg.Senders[i]
		addr := s.Address().Address
		_, domain, ok := strings.Cut(addr, "@")
		if !ok || seen[domain] {
			continue
		}
		seen[domain] = true
		d := dnscheck.Domain{Name: domain, Provider: s.MailProvider()}
		for _, sel := range strings.Split(s.DKIM, ",") {
			if sel = strings.TrimSpace(sel); sel != "" {
				d.Selectors = append(d.Selectors, sel)
			}
		}
		fs, err := r.Check(ctx, d)
		if err != nil {
			problems = append(problems, fmt.Sprintf("dns: sender %s: cannot check %s: %v", s.Name, domain, err))
			continue
		}
		for _, f := range fs {
			line := fmt.Sprintf("dns: sender %s: %s", s.Name, f)
			switch f.Level {
			case dnscheck.Missing:
				problems = append(problems, line)
			case dnscheck.Warning:
				warnings = append(warnings, line)
			default:
				fmt.Fprintln(out, line)
			}
		}
	}
	return problems, warnings
}
