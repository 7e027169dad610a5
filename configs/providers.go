package configs

import (
	"crypto/x509"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Preset is what a provider name fills in for a sender: servers, TLS, and,
// for OAuth2, the endpoints and scopes. Keys the user wrote win.
type Preset struct {
	SMTPHost string
	SMTPPort int
	SMTPTLS  string
	IMAPHost string
	IMAPPort int
	IMAPTLS  string
	// AuthURL, TokenURL and DeviceURL may hold {tenant}.
	AuthURL, TokenURL, DeviceURL string
	Scopes                       []string
	// Flow is how `drip mailbox connect` signs in: "device" (a code typed
	// on another device) or "browser" (PKCE on a loopback redirect).
	Flow string
	// FilesSent: the provider itself files what is submitted over SMTP in
	// the Sent folder, so save_sent: auto appends nothing.
	FilesSent bool
	// HostRequired: the provider gives each customer their own server name.
	HostRequired bool
	// AuthservID is the authserv-id of the Authentication-Results the
	// provider writes ("" when it writes none, or none with an id).
	AuthservID string
}

// Provider names.
const (
	ProviderCustom       = "custom"
	ProviderGmail        = "gmail"
	ProviderMicrosoft365 = "microsoft365"
)

// Presets are the providers drip knows. Italian and Polish hosts are here
// where their server names differ from anything a user would guess; they
// sign in with a password (none of them offers OAuth2 to mail clients).
var Presets = map[string]Preset{
	ProviderCustom: {},
	ProviderGmail: {
		SMTPHost: "smtp.gmail.com", SMTPPort: 587, SMTPTLS: "starttls",
		IMAPHost: "imap.gmail.com", IMAPPort: 993, IMAPTLS: "tls",
		AuthURL:  "https://accounts.google.com/o/oauth2/auth",
		TokenURL: "https://oauth2.googleapis.com/token",
		Scopes:   []string{"https://mail.google.com/"},
		Flow:     "browser", FilesSent: true,
		AuthservID: "mx.google.com",
	},
	ProviderMicrosoft365: {
		SMTPHost: "smtp.office365.com", SMTPPort: 587, SMTPTLS: "starttls",
		IMAPHost: "outlook.office365.com", IMAPPort: 993, IMAPTLS: "tls",
		AuthURL:   "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
		TokenURL:  "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
		DeviceURL: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
		Scopes: []string{"https://outlook.office.com/IMAP.AccessAsUser.All",
			"https://outlook.office.com/SMTP.Send", "offline_access"},
		Flow: "device", FilesSent: true,
	},
	"aruba": {SMTPHost: "smtps.aruba.it", SMTPPort: 465, SMTPTLS: "tls",
		IMAPHost: "imaps.aruba.it", IMAPPort: 993, IMAPTLS: "tls"},
	"register_it": {SMTPHost: "authsmtp.securemail.pro", SMTPPort: 465, SMTPTLS: "tls",
		IMAPHost: "imaps.securemail.pro", IMAPPort: 993, IMAPTLS: "tls"},
	"libero": {SMTPHost: "smtp.libero.it", SMTPPort: 465, SMTPTLS: "tls",
		IMAPHost: "imapmail.libero.it", IMAPPort: 993, IMAPTLS: "tls"},
	"ovh": {SMTPHost: "ssl0.ovh.net", SMTPPort: 465, SMTPTLS: "tls",
		IMAPHost: "ssl0.ovh.net", IMAPPort: 993, IMAPTLS: "tls"},
	"home_pl": {SMTPPort: 465, SMTPTLS: "tls", IMAPPort: 993, IMAPTLS: "tls", HostRequired: true},
	"wp_pl": {SMTPHost: "smtp.wp.pl", SMTPPort: 465, SMTPTLS: "tls",
		IMAPHost: "imap.wp.pl", IMAPPort: 993, IMAPTLS: "tls"},
	"onet": {SMTPHost: "smtp.poczta.onet.pl", SMTPPort: 465, SMTPTLS: "tls",
		IMAPHost: "imap.poczta.onet.pl", IMAPPort: 993, IMAPTLS: "tls"},
	"interia": {SMTPHost: "poczta.interia.pl", SMTPPort: 465, SMTPTLS: "tls",
		IMAPHost: "poczta.interia.pl", IMAPPort: 993, IMAPTLS: "tls"},
}

// Auth modes.
const (
	AuthPassword = "password"
	AuthOAuth2   = "oauth2"
)

// Save-to-Sent modes besides a folder name.
const (
	SaveSentAuto = "auto"
	SaveSentOff  = "off"
)

// DefaultTenant is microsoft365's tenant when none is given: any work or
// school account.
const DefaultTenant = "organizations"

// Preset returns the sender's provider preset.
func (s *Sender) Preset() Preset { return Presets[s.Provider] }

// OAuth2Enabled reports a sender that signs in with OAuth2.
func (s *Sender) OAuth2Enabled() bool { return s.Auth == AuthOAuth2 }

// Login is the account name drip signs in as: the SMTP username, else the
// IMAP one, else the From address.
func (s *Sender) Login() string {
	if s.SMTP.Username != "" {
		return s.SMTP.Username
	}
	if s.IMAP != nil && s.IMAP.Username != "" {
		return s.IMAP.Username
	}
	return s.Address().Address
}

// ConnectFlow is how `drip mailbox connect` signs this sender in: "device"
// or "browser".
func (s *Sender) ConnectFlow() string {
	if f := s.Preset().Flow; f != "" {
		return f
	}
	if s.OAuth2 != nil && s.OAuth2.DeviceURL != "" {
		return "device"
	}
	return "browser"
}

// SaveSentFolder is where delivered messages are appended: "" for none,
// SaveSentAuto for the \Sent folder found by SPECIAL-USE, or a folder name.
func (s *Sender) SaveSentFolder() string {
	if s.IMAP == nil || s.IMAP.SaveSent == SaveSentOff {
		return ""
	}
	if s.IMAP.SaveSent == SaveSentAuto && s.Preset().FilesSent {
		return ""
	}
	return s.IMAP.SaveSent
}

// GrantKey is the key that encrypts OAuth2 grants: $DRIP_SECRET_KEY, else
// the first line of secret_key_file.
func (c *Config) GrantKey() (string, error) {
	if c.SecretKey != "" {
		return c.SecretKey, nil
	}
	if c.SecretKeyFile == "" {
		return "", fmt.Errorf("no key to encrypt OAuth2 grants: set DRIP_SECRET_KEY or secret_key_file (e.g. `openssl rand -base64 32`)")
	}
	b, err := os.ReadFile(c.SecretKeyFile)
	if err != nil {
		return "", fmt.Errorf("secret_key_file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	key := strings.TrimSpace(line)
	if key == "" {
		return "", fmt.Errorf("secret_key_file %s is empty", c.SecretKeyFile)
	}
	return key, nil
}

// MinSecretKeyLen is the shortest key accepted (44 characters is what
// `openssl rand -base64 32` prints).
const MinSecretKeyLen = 32

// applyPreset fills what the provider preset knows and the sender left
// empty. Run before the generic defaults.
func (s *Sender) applyPreset() {
	if s.Provider == "" {
		s.Provider = ProviderCustom
	}
	if s.Auth == "" {
		s.Auth = AuthPassword
	}
	pr, ok := Presets[s.Provider]
	if !ok {
		return
	}
	if pr.SMTPTLS != "" {
		if s.SMTP.Host == "" {
			s.SMTP.Host = pr.SMTPHost
		}
		if s.SMTP.TLS == "" && s.SMTP.Port == 0 {
			s.SMTP.TLS, s.SMTP.Port = pr.SMTPTLS, pr.SMTPPort
		}
		// Providers sign in with the whole address.
		if s.SMTP.Username == "" {
			s.SMTP.Username = s.Address().Address
		}
		if s.IMAP == nil {
			s.IMAP = &IMAP{}
		}
		if s.IMAP.Host == "" {
			s.IMAP.Host = pr.IMAPHost
			if pr.HostRequired {
				s.IMAP.Host = s.SMTP.Host
			}
		}
		if s.IMAP.TLS == "" && s.IMAP.Port == 0 {
			s.IMAP.TLS, s.IMAP.Port = pr.IMAPTLS, pr.IMAPPort
		}
		if s.IMAP.Username == "" {
			s.IMAP.Username = s.SMTP.Username
		}
		// One mailbox, one password.
		if s.IMAP.Password == "" {
			s.IMAP.Password = s.SMTP.Password
		}
	}
	if s.IMAP != nil && s.IMAP.SaveSent == "" {
		s.IMAP.SaveSent = SaveSentAuto
	}
	if s.IMAP != nil && s.IMAP.AuthservID == "" {
		s.IMAP.AuthservID = pr.AuthservID
	}
	if s.Auth != AuthOAuth2 {
		return
	}
	if s.OAuth2 == nil {
		s.OAuth2 = &OAuth2{}
	}
	o := s.OAuth2
	if s.Provider == ProviderMicrosoft365 && o.Tenant == "" {
		o.Tenant = DefaultTenant
	}
	fill := func(dst *string, tmpl string) {
		if *dst == "" && tmpl != "" {
			*dst = strings.ReplaceAll(tmpl, "{tenant}", o.Tenant)
		}
	}
	fill(&o.AuthURL, pr.AuthURL)
	fill(&o.TokenURL, pr.TokenURL)
	fill(&o.DeviceURL, pr.DeviceURL)
	if len(o.Scopes) == 0 {
		o.Scopes = append([]string(nil), pr.Scopes...)
	}
	// The OAuth2 user is the mailbox; without a username the SMTP side
	// would not authenticate at all.
	if s.SMTP.Username == "" {
		s.SMTP.Username = s.Address().Address
	}
	if s.IMAP != nil && s.IMAP.Username == "" {
		s.IMAP.Username = s.SMTP.Username
	}
}

func presetNames() string {
	var ns []string
	for n := range Presets {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return strings.Join(ns, ", ")
}

// validateAuth checks provider, auth, oauth2, ca_file and save_sent.
func (s *Sender) validateAuth(p string, src *source, ps *Problems) {
	pr, ok := Presets[s.Provider]
	if !ok {
		src.problem(ps, p+".provider", "%q: use one of %s", s.Provider, presetNames())
	}
	if pr.HostRequired && s.SMTP.Host == "" {
		src.problem(ps, p+".smtp.host", "provider %s needs the server name of your account (see your hosting panel)", s.Provider)
	}
	switch s.Auth {
	case AuthPassword:
		if pr.SMTPTLS != "" && s.SMTP.Password == "" {
			src.problem(ps, p+".smtp.password", "missing: provider %s signs in with the mailbox password (set %sSENDERS_%s_SMTP_PASSWORD)", s.Provider, EnvPrefix, EnvName(s.Name))
		}
	case AuthOAuth2:
		o := s.OAuth2
		if o.ClientID == "" {
			src.problem(ps, p+".oauth2.client_id", "missing: the application (client) ID registered with the provider (see README, Connect a mailbox)")
		}
		if o.TokenURL == "" {
			src.problem(ps, p+".oauth2.token_url", "missing (provider %s has no preset endpoints)", s.Provider)
		}
		if o.AuthURL == "" && o.DeviceURL == "" {
			src.problem(ps, p+".oauth2.auth_url", "missing: give auth_url (browser sign-in) or device_url (device code)")
		}
		for _, u := range []struct{ key, v string }{{"auth_url", o.AuthURL}, {"token_url", o.TokenURL}, {"device_url", o.DeviceURL}} {
			if u.v != "" && !strings.HasPrefix(u.v, "https://") && !strings.HasPrefix(u.v, "http://127.0.0.1") && !strings.HasPrefix(u.v, "http://localhost") {
				src.problem(ps, p+".oauth2."+u.key, "must be an https:// URL")
			}
		}
		if s.Login() == "" {
			src.problem(ps, p+".smtp.username", "missing: the mailbox address to sign in as")
		}
	default:
		src.problem(ps, p+".auth", "%q: use password or oauth2", s.Auth)
	}
	if s.Auth != AuthOAuth2 && s.OAuth2 != nil && src.has(p+".oauth2") {
		src.problem(ps, p+".oauth2", "set but auth is %q; write auth: oauth2 to use it", s.Auth)
	}
	validateCAFile(p+".smtp.ca_file", s.SMTP.CAFile, src, ps)
	if m := s.IMAP; m != nil {
		validateCAFile(p+".imap.ca_file", m.CAFile, src, ps)
		if strings.TrimSpace(m.SaveSent) == "" || strings.ContainsAny(m.SaveSent, "\r\n*%") {
			src.problem(ps, p+".imap.save_sent", "%q: use auto, off or a folder name", m.SaveSent)
		}
	}
}

func validateCAFile(p, file string, src *source, ps *Problems) {
	if file == "" {
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		src.problem(ps, p, "%v", err)
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		src.problem(ps, p, "%s holds no PEM certificate", file)
	}
}

// validateGrantKey: a configuration with an OAuth2 sender needs the key
// that encrypts its grant, long enough to be one.
func (c *Config) validateGrantKey(src *source, ps *Problems) {
	need := false
	for i := range c.Senders {
		need = need || c.Senders[i].OAuth2Enabled()
	}
	if !need {
		return
	}
	key, err := c.GrantKey()
	switch {
	case err != nil && c.SecretKeyFile != "":
		src.problem(ps, "secret_key_file", "%v", err)
	case err != nil:
		ps.Addf("%s: %v", c.File, err)
	case len(key) < MinSecretKeyLen:
		where := "$DRIP_SECRET_KEY"
		if c.SecretKey == "" {
			where = "secret_key_file " + c.SecretKeyFile
		}
		ps.Addf("%s: %s: the key is %d characters; use at least %d (e.g. `openssl rand -base64 32`)", c.File, where, len(key), MinSecretKeyLen)
	}
}
