package dnscheck_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/mailer/dnscheck"
	"github.com/drip-email/drip/mailer/dnscheck/dnstest"
)

// complete is a Google Workspace domain that has everything receivers ask.
var complete = []string{
	`example.com. 300 IN TXT "v=spf1 include:_spf.google.com ~all"`,
	`example.com. 300 IN TXT "google-site-verification=abc"`,
	`google._domainkey.example.com. 300 IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"`,
	`_dmarc.example.com. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"`,
	`example.com. 300 IN MX 1 smtp.google.com.`,
}

func without(recs []string, prefix string) []string {
	return slices.DeleteFunc(slices.Clone(recs), func(r string) bool { return strings.HasPrefix(r, prefix) })
}

func replace(recs []string, prefix, with string) []string {
	return append(without(recs, prefix), with)
}

func check(t *testing.T, srv *dnstest.Server, d dnscheck.Domain) []dnscheck.Finding {
	t.Helper()
	r := &dnscheck.Resolver{Server: srv.Addr, Timeout: 2 * time.Second}
	fs, err := r.Check(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// notOK are the findings that are not OK, as lines.
func notOK(fs []dnscheck.Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Level != dnscheck.OK {
			out = append(out, f.String())
		}
	}
	return out
}

func TestCompleteRecordsPass(t *testing.T) {
	srv := dnstest.New(t, complete...)
	fs := check(t, srv, dnscheck.Domain{Name: "Example.com", Provider: "gmail"})
	if bad := notOK(fs); len(bad) != 0 {
		t.Fatalf("complete records give problems:\n%s", strings.Join(bad, "\n"))
	}
	var checks []string
	for _, f := range fs {
		checks = append(checks, f.Check)
	}
	if !slices.Equal(checks, []string{"spf", "dkim", "dmarc", "mx"}) {
		t.Errorf("checks %v, want spf, dkim, dmarc, mx", checks)
	}
}

// Each missing or weak record gives exactly one line that names it and
// says what to do.
func TestEachGapGivesOneClearLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records []string
		domain  dnscheck.Domain
		check   string
		level   dnscheck.Level
		says    []string
	}{
		{"missing SPF", without(complete, "example.com. 300 IN TXT \"v=spf1"), dnscheck.Domain{Name: "example.com", Provider: "gmail"},
			"spf", dnscheck.Missing, []string{"no SPF record", "v=spf1 include:_spf.google.com ~all"}},
		{"SPF without the provider", replace(complete, "example.com. 300 IN TXT \"v=spf1", `example.com. 300 IN TXT "v=spf1 include:spf.protection.outlook.com -all"`),
			dnscheck.Domain{Name: "example.com", Provider: "gmail"}, "spf", dnscheck.Missing, []string{"does not include _spf.google.com"}},
		{"two SPF records", append(slices.Clone(complete), `example.com. 300 IN TXT "v=spf1 -all"`), dnscheck.Domain{Name: "example.com", Provider: "gmail"},
			"spf", dnscheck.Missing, []string{"2 SPF records", "merge"}},
		{"DMARC p=none", replace(complete, "_dmarc.", `_dmarc.example.com. 300 IN TXT "v=DMARC1; p=none"`), dnscheck.Domain{Name: "example.com", Provider: "gmail"},
			"dmarc", dnscheck.Warning, []string{"p=none", "monitoring only", "p=quarantine"}},
		{"missing DMARC", without(complete, "_dmarc."), dnscheck.Domain{Name: "example.com", Provider: "gmail"},
			"dmarc", dnscheck.Missing, []string{"no DMARC record", "_dmarc.example.com", "p=none"}},
		{"missing DKIM selector", complete, dnscheck.Domain{Name: "example.com", Provider: "gmail", Selectors: []string{"s2026"}},
			"dkim", dnscheck.Missing, []string{"no DKIM key at s2026._domainkey.example.com", "dkim_selector"}},
		{"no DKIM at the provider's selector", without(complete, "google._domainkey"), dnscheck.Domain{Name: "example.com", Provider: "gmail"},
			"dkim", dnscheck.Missing, []string{"google._domainkey.example.com", "does not align"}},
		{"missing MX", without(complete, "example.com. 300 IN MX"), dnscheck.Domain{Name: "example.com", Provider: "gmail"},
			"mx", dnscheck.Missing, []string{"no MX record for example.com", "bounces"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dnstest.New(t, tc.records...)
			bad := notOK(check(t, srv, tc.domain))
			if len(bad) != 1 {
				t.Fatalf("%d lines, want exactly one:\n%s", len(bad), strings.Join(bad, "\n"))
			}
			want := "example.com " + tc.check + ": " + tc.level.String() + ": "
			if !strings.HasPrefix(bad[0], want) {
				t.Errorf("line %q, want it to start %q", bad[0], want)
			}
			for _, s := range tc.says {
				if !strings.Contains(bad[0], s) {
					t.Errorf("line %q does not say %q", bad[0], s)
				}
			}
		})
	}
}

// DMARC at p=none with nothing aligned: SPF does not cover the provider
// and no DKIM key signs as the domain. The DMARC line says so, as a
// problem, not the p=none warning.
func TestDMARCWithoutAlignment(t *testing.T) {
	recs := replace(without(complete, "google._domainkey"), "_dmarc.", `_dmarc.example.com. 300 IN TXT "v=DMARC1; p=none"`)
	recs = replace(recs, "example.com. 300 IN TXT \"v=spf1", `example.com. 300 IN TXT "v=spf1 include:spf.protection.outlook.com -all"`)
	srv := dnstest.New(t, recs...)
	var dmarc []dnscheck.Finding
	for _, f := range check(t, srv, dnscheck.Domain{Name: "example.com", Provider: "gmail"}) {
		if f.Check == "dmarc" {
			dmarc = append(dmarc, f)
		}
	}
	if len(dmarc) != 1 || dmarc[0].Level != dnscheck.Missing || !strings.Contains(dmarc[0].Msg, "nothing aligns with From") {
		t.Fatalf("DMARC findings %v, want one missing line about alignment", dmarc)
	}
}

// Microsoft 365 publishes selector1/selector2 as CNAMEs into the tenant's
// domain; the check follows them.
func TestMicrosoftSelectorsThroughCNAME(t *testing.T) {
	srv := dnstest.New(t,
		`contoso.com. 300 IN TXT "v=spf1 include:spf.protection.outlook.com -all"`,
		`selector1._domainkey.contoso.com. 300 IN CNAME selector1-contoso-com._domainkey.contoso.onmicrosoft.com.`,
		`selector1-contoso-com._domainkey.contoso.onmicrosoft.com. 300 IN TXT "v=DKIM1; k=rsa; p=MIGfMA0"`,
		`selector2._domainkey.contoso.com. 300 IN CNAME selector2-contoso-com._domainkey.contoso.onmicrosoft.com.`,
		`selector2-contoso-com._domainkey.contoso.onmicrosoft.com. 300 IN TXT "v=DKIM1; k=rsa; p=MIGfMA1"`,
		`_dmarc.contoso.com. 300 IN TXT "v=DMARC1; p=reject"`,
		`contoso.com. 300 IN MX 0 contoso-com.mail.protection.outlook.com.`,
	)
	if bad := notOK(check(t, srv, dnscheck.Domain{Name: "contoso.com", Provider: "microsoft365"})); len(bad) != 0 {
		t.Fatalf("complete Microsoft 365 records give problems:\n%s", strings.Join(bad, "\n"))
	}
}

func TestUnreachableServerIsAnError(t *testing.T) {
	r := &dnscheck.Resolver{Server: "127.0.0.1:1", Timeout: 300 * time.Millisecond}
	if _, err := r.Check(context.Background(), dnscheck.Domain{Name: "example.com"}); err == nil {
		t.Fatal("no error from a server that does not answer")
	}
}

func TestServerFromEnv(t *testing.T) {
	t.Setenv("DRIP_DNS_SERVER", "127.0.0.1")
	if s, err := dnscheck.ServerFromEnv(); err != nil || s != "127.0.0.1:53" {
		t.Errorf("ServerFromEnv = %q, %v", s, err)
	}
	t.Setenv("DRIP_DNS_SERVER", "127.0.0.1:5353")
	if s, _ := dnscheck.ServerFromEnv(); s != "127.0.0.1:5353" {
		t.Errorf("ServerFromEnv = %q", s)
	}
}
