package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer/dnscheck"
)

// checkProtect is drip check's advice about the rep's mailbox and the
// receivers' bulk-sender rules: warnings, never problems.
func checkProtect(_ context.Context, cfg *configs.Config) []string {
	var warnings []string
	if u, err := url.Parse(cfg.HTTP.PublicURL); err == nil && u.Scheme == "http" && cfg.HTTP.PublicURL != "" {
		warnings = append(warnings, fmt.Sprintf("%s: http.public_url %q is not HTTPS: RFC 8058 one-click unsubscribe needs an https:// URI, and Gmail, Yahoo and Outlook.com require one-click from bulk senders",
			cfg.File, cfg.HTTP.PublicURL))
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
		d := dnscheck.Domain{Name: domain, Provider: configs.ProviderOfHost(s.SMTP.Host)}
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
