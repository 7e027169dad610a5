package configs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const senderHead = `database_url: "sqlite:drip.db"
http: { listen: "127.0.0.1:8080", api_token: "tok", public_url: "https://drip.example.com" }
sequences_dir: "SEQDIR"
templates_dir: "TPLDIR"
senders:
`

func TestPresetsFillServersAndEndpoints(t *testing.T) {
	t.Setenv("DRIP_SECRET_KEY", strings.Repeat("k", 44))
	f := newFixture(t, senderHead+`  - name: maria
    from: "Maria Rossi <maria@contoso.com>"
    provider: microsoft365
    auth: oauth2
    oauth2: { client_id: app-1, tenant: contoso.onmicrosoft.com }
  - name: luca
    from: "luca@gmail.com"
    provider: gmail
    auth: oauth2
    oauth2: { client_id: app-2, client_secret: s3cret }
  - name: anna
    from: "anna@example.it"
    provider: aruba
    smtp: { password: pw }
`, map[string]string{"fair": goodSequence})
	c, err := Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Senders[0]
	if m.SMTP.Host != "smtp.office365.com" || m.SMTP.Port != 587 || m.SMTP.TLS != "starttls" ||
		m.IMAP == nil || m.IMAP.Host != "outlook.office365.com" || m.IMAP.Port != 993 || m.IMAP.TLS != "tls" {
		t.Errorf("microsoft365 servers: %v / %v", m.SMTP, m.IMAP)
	}
	if m.SMTP.Username != "maria@contoso.com" || m.IMAP.Username != "maria@contoso.com" {
		t.Errorf("login %q/%q, want the From address", m.SMTP.Username, m.IMAP.Username)
	}
	if m.OAuth2.TokenURL != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token" ||
		m.OAuth2.DeviceURL != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode" {
		t.Errorf("tenant endpoints: %+v", m.OAuth2)
	}
	if !slices.Contains(m.OAuth2.Scopes, "https://outlook.office.com/SMTP.Send") || !slices.Contains(m.OAuth2.Scopes, "offline_access") {
		t.Errorf("scopes %q", m.OAuth2.Scopes)
	}
	if m.ConnectFlow() != "device" || m.SaveSentFolder() != "" {
		t.Errorf("flow %q, save to %q: Microsoft signs in by device code and files sent mail itself", m.ConnectFlow(), m.SaveSentFolder())
	}
	g := c.Senders[1]
	if g.SMTP.Host != "smtp.gmail.com" || g.OAuth2.AuthURL == "" || g.ConnectFlow() != "browser" || g.OAuth2.Scopes[0] != "https://mail.google.com/" {
		t.Errorf("gmail: %v %+v", g.SMTP, g.OAuth2)
	}
	if g.IMAP.AuthservID != "mx.google.com" || m.IMAP.AuthservID != "" {
		t.Errorf("authserv_id: gmail %q, microsoft365 %q; want mx.google.com and none (Microsoft writes no id)",
			g.IMAP.AuthservID, m.IMAP.AuthservID)
	}
	a := c.Senders[2]
	if a.SMTP.Host != "smtps.aruba.it" || a.SMTP.Port != 465 || a.SMTP.TLS != "tls" || a.IMAP.Host != "imaps.aruba.it" {
		t.Errorf("aruba: %v %v", a.SMTP, a.IMAP)
	}
	if a.IMAP.Password != "pw" {
		t.Errorf("aruba's IMAP password is not the mailbox's")
	}
	if a.SaveSentFolder() != SaveSentAuto || a.Auth != AuthPassword {
		t.Errorf("aruba saves to %q with auth %q; want auto (Aruba does not file SMTP submissions) and password", a.SaveSentFolder(), a.Auth)
	}
	if s := c.String(); strings.Contains(s, "s3cret") || strings.Contains(s, strings.Repeat("k", 44)) {
		t.Errorf("printed configuration shows a secret:\n%s", s)
	}
}

func TestOAuth2Problems(t *testing.T) {
	t.Setenv("DRIP_SECRET_KEY", "")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(ca, []byte("not a certificate"), 0o644))
	f := newFixture(t, senderHead+`  - name: maria
    from: "maria@example.com"
    provider: yahoo
    auth: oauth
  - name: anna
    from: "anna@example.it"
    provider: aruba
  - name: luca
    from: "luca@example.com"
    auth: oauth2
    oauth2: { client_secret: x }
    smtp: { host: mail.example.com, ca_file: `+ca+` }
    imap: { host: mail.example.com, save_sent: "" }
`, map[string]string{"fair": goodSequence})
	ps := problems(t, f.file)
	wantProblem(t, ps, f.file+":8: senders[0].provider: \"yahoo\": use one of aruba, custom, gmail,")
	wantProblem(t, ps, f.file+":9: senders[0].auth: \"oauth\": use password or oauth2")
	wantProblem(t, ps, f.file+":10: senders[1].smtp.password: missing: provider aruba signs in with the mailbox password (set DRIP_SENDERS_ANNA_SMTP_PASSWORD)")
	wantProblem(t, ps, f.file+":16: senders[2].oauth2.client_id: missing")
	wantProblem(t, ps, f.file+":16: senders[2].oauth2.token_url: missing")
	wantProblem(t, ps, f.file+":17: senders[2].smtp.ca_file: "+ca+" holds no PEM certificate")
	wantProblem(t, ps, f.file+": no key to encrypt OAuth2 grants: set DRIP_SECRET_KEY or secret_key_file")
}

func TestShortSecretKeyRefused(t *testing.T) {
	t.Setenv("DRIP_SECRET_KEY", "short")
	f := newFixture(t, senderHead+`  - name: maria
    from: "maria@example.com"
    auth: oauth2
    oauth2: { client_id: a, token_url: "https://auth.example.com/token", device_url: "https://auth.example.com/device" }
    smtp: { host: mail.example.com }
`, map[string]string{"fair": goodSequence})
	ps := problems(t, f.file)
	wantProblem(t, ps, f.file+": $DRIP_SECRET_KEY: the key is 5 characters; use at least 32")
	for _, p := range ps {
		if strings.Contains(p, "short") {
			t.Errorf("a problem shows the key: %s", p)
		}
	}
}

// TestAuthservIDIsOneName: imap.authserv_id is compared with the first
// word of an Authentication-Results field, so a value with a space, ';'
// or a comment could never match; it is refused with its line.
func TestAuthservIDIsOneName(t *testing.T) {
	cfg := strings.Replace(goodConfig, "imap: { host: imap.example.com, username: maria }",
		`imap: { host: imap.example.com, username: maria, authserv_id: "mx.google.com; dmarc=pass" }`, 1)
	f := newFixture(t, cfg, map[string]string{"fair": goodSequence})
	got := problems(t, f.file)
	wantProblem(t, got, f.file+`:13: senders[0].imap.authserv_id: "mx.google.com; dmarc=pass": one name without spaces, ';' or comments (e.g. mx.google.com)`)
}
