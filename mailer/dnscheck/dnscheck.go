// Package dnscheck looks up what receivers look up about a sender's From
// domain (SPF, DKIM, DMARC, MX) and says what is missing and why it
// matters. Gmail and Yahoo (February 2024) and Outlook.com (May 2025)
// require SPF, DKIM and DMARC aligned with From from anyone who sends them
// more than 5,000 messages a day, and junk or reject mail without them.
//
// It asks one DNS server directly (github.com/miekg/dns), so a test can
// point it at an in-process server.
package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Level of a finding.
type Level int

const (
	OK      Level = iota
	Warning       // works, but weaker than it should be
	Missing       // missing or broken: mail may be junked or refused
)

func (l Level) String() string {
	switch l {
	case Warning:
		return "warning"
	case Missing:
		return "missing"
	}
	return "ok"
}

// Finding is one line of the check.
type Finding struct {
	Domain string
	Check  string // spf | dkim | dmarc | mx
	Level  Level
	Msg    string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s: %s: %s", f.Domain, f.Check, f.Level, f.Msg)
}

// Domain is one sender domain to check.
type Domain struct {
	Name string
	// Provider is the mailbox provider whose servers send for the domain:
	// "gmail", "microsoft365", or "" (custom: SPF is only checked to exist).
	Provider string
	// Selectors are the DKIM selectors to look for; empty: the provider's,
	// else a few common ones.
	Selectors []string
}

// Resolver asks one DNS server.
type Resolver struct {
	Server  string        // host:port
	Timeout time.Duration // per query; default 5s
}

// ServerFromEnv is DRIP_DNS_SERVER (host:port, or host for port 53) when
// set, else the first nameserver of /etc/resolv.conf.
func ServerFromEnv() (string, error) {
	if s := strings.TrimSpace(os.Getenv("DRIP_DNS_SERVER")); s != "" {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(s, "53")
		}
		return s, nil
	}
	cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cfg.Servers) == 0 {
		return "", errors.New("no DNS server: /etc/resolv.conf has none; set DRIP_DNS_SERVER=host:port")
	}
	return net.JoinHostPort(cfg.Servers[0], cfg.Port), nil
}

var errNoRecords = errors.New("no records")

// query returns the answers of type t for name, following CNAMEs (Microsoft
// 365 publishes its DKIM selectors as CNAMEs into the tenant's domain) when
// the server did not; errNoRecords for an empty answer or NXDOMAIN.
func (r *Resolver) query(ctx context.Context, name string, t uint16) ([]dns.RR, error) {
	for range 8 {
		rrs, cname, err := r.query1(ctx, name, t)
		if err != nil || cname == "" {
			return rrs, err
		}
		name = cname
	}
	return nil, fmt.Errorf("a CNAME loop at %s", name)
}

func (r *Resolver) query1(ctx context.Context, name string, t uint16) ([]dns.RR, string, error) {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	c := &dns.Client{Timeout: timeout}
	in, _, err := c.ExchangeContext(ctx, m, r.Server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, r.Server)
	}
	if err != nil {
		return nil, "", fmt.Errorf("asking %s for %s %s: %w", r.Server, dns.TypeToString[t], name, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, "", fmt.Errorf("%s answered %s for %s %s", r.Server, dns.RcodeToString[in.Rcode], dns.TypeToString[t], name)
	}
	var out []dns.RR
	cname := ""
	for _, rr := range in.Answer {
		switch {
		case rr.Header().Rrtype == t:
			out = append(out, rr)
		case rr.Header().Rrtype == dns.TypeCNAME && strings.EqualFold(rr.Header().Name, dns.Fqdn(name)):
			cname = rr.(*dns.CNAME).Target
		}
	}
	if len(out) > 0 {
		return out, "", nil
	}
	if cname != "" {
		return nil, cname, nil
	}
	return nil, "", errNoRecords
}

// txt returns the TXT strings at name, each record's parts joined.
func (r *Resolver) txt(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// providerSPF is the include that covers each preset's servers.
var providerSPF = map[string]string{
	"gmail":        "_spf.google.com",
	"microsoft365": "spf.protection.outlook.com",
}

// providerSelectors are the DKIM selectors each preset signs with once
// custom-domain DKIM is on (Google Workspace: "google"; Microsoft 365:
// selector1 and selector2, published as CNAMEs).
var providerSelectors = map[string][]string{
	"gmail":        {"google"},
	"microsoft365": {"selector1", "selector2"},
}

// CommonSelectors are tried when neither a selector nor a known provider
// is given.
var CommonSelectors = []string{"google", "selector1", "selector2", "default", "dkim", "mail", "k1", "s1", "s2"}

// Check looks d up and returns one finding per check, in the order SPF,
// DKIM, DMARC, MX (a DMARC with nothing aligned adds one). A DNS failure
// (server unreachable, SERVFAIL) is returned as an error: it says nothing
// about the records.
func (r *Resolver) Check(ctx context.Context, d Domain) ([]Finding, error) {
	name := strings.ToLower(strings.TrimSuffix(d.Name, "."))
	var out []Finding
	add := func(check string, l Level, format string, args ...any) {
		out = append(out, Finding{Domain: name, Check: check, Level: l, Msg: fmt.Sprintf(format, args...)})
	}

	// SPF.
	spfAligned := false
	txts, err := r.txt(ctx, name)
	if err != nil && !errors.Is(err, errNoRecords) {
		return nil, err
	}
	var spf []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(t), "v=spf1") && (len(t) == 6 || t[6] == ' ') {
			spf = append(spf, t)
		}
	}
	switch {
	case len(spf) == 0:
		hint := "e.g. \"v=spf1 include:YOUR-PROVIDER ~all\""
		if inc := providerSPF[d.Provider]; inc != "" {
			hint = fmt.Sprintf("\"v=spf1 include:%s ~all\"", inc)
		}
		add("spf", Missing, "no SPF record (TXT v=spf1 at %s): receivers cannot tell that your provider may send for %s; publish %s", name, name, hint)
	case len(spf) > 1:
		add("spf", Missing, "%d SPF records: receivers treat that as an error (RFC 7208 4.5); merge them into one", len(spf))
	default:
		rec := strings.ToLower(spf[0])
		inc := providerSPF[d.Provider]
		switch {
		case inc != "" && !strings.Contains(rec, "include:"+inc):
			add("spf", Missing, "%q does not include %s, so %s's servers fail SPF for %s; add include:%s", spf[0], inc, d.Provider, name, inc)
		case strings.Contains(rec, "+all") || strings.HasSuffix(rec, " all"):
			spfAligned = true
			add("spf", Warning, "%q ends in +all: anyone may send as %s; end it with ~all or -all", spf[0], name)
		default:
			spfAligned = true
			add("spf", OK, "%s", spf[0])
		}
	}

	// DKIM.
	selectors, configured := d.Selectors, len(d.Selectors) > 0
	if !configured {
		selectors = providerSelectors[d.Provider]
		if selectors == nil {
			selectors = CommonSelectors
		}
	}
	var found, missing []string
	for _, sel := range selectors {
		key := sel + "._domainkey." + name
		recs, err := r.txt(ctx, key)
		if err != nil && !errors.Is(err, errNoRecords) {
			return nil, err
		}
		ok := false
		for _, t := range recs {
			if l := strings.ToLower(t); strings.Contains(l, "v=dkim1") || strings.HasPrefix(l, "p=") || strings.Contains(l, "; p=") || strings.Contains(l, ";p=") {
				ok = true
			}
		}
		if ok {
			found = append(found, sel)
		} else {
			missing = append(missing, key)
		}
	}
	dkimAligned := len(found) > 0
	switch {
	case configured && len(missing) > 0:
		add("dkim", Missing, "no DKIM key at %s: mail signed with that selector fails DKIM; publish the key your provider gives you, or fix dkim_selector", strings.Join(missing, ", "))
	case len(found) == 0 && d.Provider != "":
		add("dkim", Missing, "no DKIM key at %s: %s then signs for its own domain, not %s, so DKIM does not align with From; turn on DKIM for %s in the provider's admin console", strings.Join(missing, ", "), d.Provider, name, name)
	case len(found) == 0:
		add("dkim", Missing, "no DKIM key at the usual selectors (%s): set the sender's dkim_selector to the one your provider signs with", strings.Join(selectors, ", "))
	default:
		add("dkim", OK, "key found at selector %s", strings.Join(found, ", "))
	}

	// DMARC.
	dmarcs, err := r.txt(ctx, "_dmarc."+name)
	if err != nil && !errors.Is(err, errNoRecords) {
		return nil, err
	}
	var dmarc []string
	for _, t := range dmarcs {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "v=dmarc1") {
			dmarc = append(dmarc, t)
		}
	}
	switch {
	case len(dmarc) == 0:
		add("dmarc", Missing, "no DMARC record (TXT v=DMARC1 at _dmarc.%s): Gmail, Yahoo and Outlook.com require one from bulk senders; start with \"v=DMARC1; p=none; rua=mailto:dmarc@%s\"", name, name)
	case len(dmarc) > 1:
		add("dmarc", Missing, "%d DMARC records at _dmarc.%s: receivers ignore them all (RFC 7489 6.6.3); keep one", len(dmarc), name)
	default:
		tags := dmarcTags(dmarc[0])
		p := tags["p"]
		switch {
		case p != "none" && p != "quarantine" && p != "reject":
			add("dmarc", Missing, "%q has no valid p= (none, quarantine or reject): receivers ignore it", dmarc[0])
		case !spfAligned && !dkimAligned:
			add("dmarc", Missing, "p=%s but nothing aligns with From: SPF does not cover your provider and no DKIM key signs as %s, so every message fails DMARC", p, name)
		case p == "none":
			add("dmarc", Warning, "p=none: monitoring only; enough for Gmail's and Yahoo's bulk rules, but spoofed mail as %s is still delivered; move to p=quarantine once the reports show your mail aligned", name)
		default:
			add("dmarc", OK, "%s", dmarc[0])
		}
	}

	// MX.
	mx, err := r.query(ctx, name, dns.TypeMX)
	if err != nil && !errors.Is(err, errNoRecords) {
		return nil, err
	}
	if len(mx) == 0 {
		add("mx", Missing, "no MX record for %s: replies and bounces cannot reach it, and receivers distrust mail from a domain that takes none", name)
	} else {
		var hosts []string
		for _, rr := range mx {
			hosts = append(hosts, strings.TrimSuffix(rr.(*dns.MX).Mx, "."))
		}
		add("mx", OK, "%s", strings.Join(hosts, ", "))
	}
	return out, nil
}

// dmarcTags parses "v=DMARC1; p=none; rua=…" into lower-case keys.
func dmarcTags(rec string) map[string]string {
	tags := map[string]string{}
	for _, part := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			tags[strings.ToLower(strings.TrimSpace(k))] = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return tags
}
