package main

import (
	"os"
	"strings"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/dnscheck/dnstest"
)

var exampleDNS = []string{
	`example.com. 300 IN TXT "v=spf1 include:_spf.example.net -all"`,
	`s2026._domainkey.example.com. 300 IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkq"`,
	`_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject"`,
	`example.com. 300 IN MX 10 mx.example.com.`,
}

// drip check --dns against an in-process DNS server: complete records
// pass with one ok line per check of the senders' one domain; a missing MX
// is one clear line and exit 1.
func TestCheckDNS(t *testing.T) {
	srv := dnstest.New(t, exampleDNS...)
	t.Setenv("DRIP_DNS_SERVER", srv.Addr)
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	writeBoothTemplates(e)
	cfg, _ := os.ReadFile(e.config)
	e.write("drip.yaml", []byte(strings.Replace(string(cfg), "from: \"Maria Rossi <maria@example.com>\"",
		"from: \"Maria Rossi <maria@example.com>\"\n    dkim_selector: s2026", 1)))

	out, errOut, code := e.drip("check", "--dns")
	if code != 0 {
		t.Fatalf("drip check --dns with complete records: exit %d\n%s%s", code, out, errOut)
	}
	for _, c := range []string{"spf", "dkim", "dmarc", "mx"} {
		if n := strings.Count(out, "example.com "+c+": ok"); n != 1 {
			t.Errorf("%d ok lines for %s, want 1 (two senders, one domain):\n%s", n, c, out)
		}
	}

	srv.Set(t, exampleDNS[:3]...)
	out, errOut, code = e.drip("check", "--dns")
	if code != 1 {
		t.Fatalf("drip check --dns without MX: exit %d, want 1\n%s%s", code, out, errOut)
	}
	var lines []string
	for _, l := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(l, "dns: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "example.com mx: missing: no MX record for example.com") {
		t.Errorf("stderr dns lines %q, want one about the missing MX", lines)
	}

	// Without --dns nothing is looked up.
	before := srv.Queries()
	if _, errOut, code := e.drip("check"); code != 0 || srv.Queries() != before {
		t.Errorf("drip check without --dns: exit %d, %d queries\n%s", code, srv.Queries()-before, errOut)
	}
}

func TestCheckWarnsAboutHTTPPublicURL(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	writeBoothTemplates(e)
	cfg, _ := os.ReadFile(e.config)
	e.write("drip.yaml", []byte(strings.Replace(string(cfg), "https://drip.example.com", "http://drip.example.com", 1)))
	_, errOut, code := e.drip("check")
	if code != 0 || !strings.Contains(errOut, "warning: ") || !strings.Contains(errOut, "is not HTTPS: RFC 8058") {
		t.Errorf("exit %d, stderr %q; want 0 and a warning about HTTPS", code, errOut)
	}
}
