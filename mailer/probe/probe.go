// Package probe checks a sender's mailbox the way `drip mailbox test`
// reports it: SMTP (connect, TLS, AUTH, optionally a test message) and
// IMAP (connect, TLS, login, the watched mailbox, IDLE, the Sent folder),
// one Check per step with what to do when it fails. A step whose
// prerequisite failed is skipped, not failed again.
package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/drip-email/drip/mailer"
)

// Verdicts.
const (
	OK   = "ok"
	Fail = "FAIL"
	Skip = "skip"
)

// Check is one line of the report.
type Check struct {
	Name    string // "smtp connect", "imap login", ...
	Verdict string // OK, Fail or Skip
	Detail  string // what was found
	Fix     string // on failure: what to do
}

func (c Check) String() string {
	s := fmt.Sprintf("%-4s  %-16s %s", c.Verdict, c.Name, c.Detail)
	if c.Fix != "" {
		s += " — " + c.Fix
	}
	return s
}

// Failed counts the failed checks.
func Failed(cs []Check) int {
	n := 0
	for _, c := range cs {
		if c.Verdict == Fail {
			n++
		}
	}
	return n
}

// Keys name the configuration keys a Fix refers to ("senders[0].smtp").
type Keys struct {
	SMTP, IMAP  string // key prefixes, e.g. "maria's smtp"
	Sender      string // for `drip mailbox connect NAME`
	PasswordEnv string // e.g. DRIP_SENDERS_MARIA_SMTP_PASSWORD
}

// SMTP is what the SMTP checks need.
type SMTP struct {
	mailer.SMTPConfig
	// SendTo, when set, gets a test message From (the sender's address).
	SendTo, From string
	Message      []byte
}

func dialErr(err error, key string) (string, string) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: nothing listens on that port", "check " + key + ".host and " + key + ".port"
	case isTimeout(err):
		return "no answer (timed out)", "check " + key + ".host and " + key + ".port, and that a firewall lets drip out"
	}
	return err.Error(), "check " + key + ".host and " + key + ".port"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func tlsErr(err error, key string) (string, string) {
	var (
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &uae) || (errors.As(err, &cve) && errors.As(cve.Err, &uae)):
		return "certificate not trusted (signed by an unknown authority)", "if the server uses a private CA, set " + key + ".ca_file to its certificate (PEM)"
	case errors.As(err, &he):
		return "certificate is for another name: " + he.Error(), "use the host name the certificate names in " + key + ".host"
	case errors.As(err, &cie):
		return "certificate invalid: " + cie.Error(), "the server's certificate has expired or is not valid yet; tell its administrator"
	}
	return err.Error(), "check " + key + ".tls (starttls on 587/143, tls on 465/993) and " + key + ".port"
}

func isTLSErr(err error) bool {
	var (
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
	)
	return errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &cie) || errors.As(err, &cve) || errors.As(err, &rhe)
}

func tlsConfig(host string, roots *x509.CertPool, insecure bool) *tls.Config {
	return &tls.Config{ServerName: host, RootCAs: roots, InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in
}

// RunSMTP checks the SMTP side.
func RunSMTP(ctx context.Context, cfg SMTP, k Keys) []Check {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	out := []Check{}
	add := func(name, verdict, detail, fix string) { out = append(out, Check{name, verdict, detail, fix}) }
	skipRest := func(names ...string) {
		for _, n := range names {
			add(n, Skip, "after the failure above", "")
		}
	}
	later := []string{"smtp tls", "smtp auth"}
	if cfg.SendTo != "" {
		later = append(later, "smtp send")
	}
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		d, f := dialErr(err, k.SMTP)
		add("smtp connect", Fail, addr+": "+d, f)
		skipRest(later...)
		return out
	}
	_ = conn.SetDeadline(time.Now().Add(3 * timeout))
	add("smtp connect", OK, addr, "")
	tc := tlsConfig(cfg.Host, cfg.RootCAs, cfg.InsecureSkipVerify)
	var c *smtp.Client
	switch cfg.TLS {
	case "tls":
		t := tls.Client(conn, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			d, f := tlsErr(err, k.SMTP)
			add("smtp tls", Fail, d, f)
			skipRest(later[1:]...)
			return out
		}
		c = smtp.NewClient(t)
	case "none":
		c = smtp.NewClient(conn)
	default:
		c, err = smtp.NewClientStartTLS(conn, tc)
		if err != nil {
			_ = conn.Close()
			d, f := tlsErr(err, k.SMTP)
			add("smtp tls", Fail, "STARTTLS: "+d, f)
			skipRest(later[1:]...)
			return out
		}
	}
	defer c.Close()
	// The STARTTLS handshake happens at the first command after it.
	if err := c.Hello("localhost"); err != nil {
		if cfg.TLS != "tls" && cfg.TLS != "none" && isTLSErr(err) {
			d, f := tlsErr(err, k.SMTP)
			add("smtp tls", Fail, "STARTTLS: "+d, f)
		} else {
			add("smtp tls", Fail, "no SMTP greeting or EHLO: "+err.Error(), "check "+k.SMTP+".port and "+k.SMTP+".tls: is it an SMTP submission server?")
		}
		skipRest(later[1:]...)
		return out
	}
	switch cfg.TLS {
	case "tls":
		add("smtp tls", OK, "TLS from the first byte, certificate trusted", "")
	case "none":
		add("smtp tls", OK, "none: not encrypted (only for a server on this machine or network)", "")
	default:
		add("smtp tls", OK, "STARTTLS, certificate trusted", "")
	}
	if cfg.Username == "" {
		add("smtp auth", Skip, "no username: sending without AUTH", "")
	} else if ok, mechs := c.Extension("AUTH"); !ok {
		add("smtp auth", Fail, "the server offers no AUTH", "use the submission port (587 starttls or 465 tls), not 25")
		skipRest(later[2:]...)
		return out
	} else {
		detail, fix, ok := smtpAuth(ctx, c, cfg.SMTPConfig, strings.Fields(mechs), k)
		if !ok {
			add("smtp auth", Fail, detail, fix)
			skipRest(later[2:]...)
			return out
		}
		add("smtp auth", OK, detail, "")
	}
	if cfg.SendTo != "" {
		if err := c.SendMail(cfg.From, []string{cfg.SendTo}, bytes.NewReader(cfg.Message)); err != nil {
			add("smtp send", Fail, "to "+cfg.SendTo+": "+err.Error(), "the server refused the test message; its reply above says why")
		} else {
			add("smtp send", OK, "test message accepted for "+cfg.SendTo, "")
		}
	}
	_ = c.Quit()
	return out
}

func smtpAuth(ctx context.Context, c *smtp.Client, cfg mailer.SMTPConfig, mechs []string, k Keys) (detail, fix string, ok bool) {
	if cfg.Token != nil {
		tok, err := cfg.Token.AccessToken(ctx)
		if err != nil {
			if errors.Is(err, mailer.ErrReauthNeeded) {
				return "no valid OAuth2 sign-in", "run `drip mailbox connect " + k.Sender + "`", false
			}
			return "getting an OAuth2 token: " + err.Error(), "check the provider's token endpoint is reachable", false
		}
		a, found := mailer.OAuthSASL(mechs, cfg.OAuthMechanism, cfg.Username, tok, cfg.Host, cfg.Port)
		if !found {
			return "the server offers neither XOAUTH2 nor OAUTHBEARER (offers " + strings.Join(mechs, " ") + ")", "this server takes a password: set auth: password", false
		}
		mech, _, _ := a.Start()
		if err := c.Auth(a); err != nil {
			return "OAuth2 token refused as " + cfg.Username + ": " + err.Error(), "run `drip mailbox connect " + k.Sender + "`; check " + k.SMTP + ".username is the mailbox's address and the app has the SMTP scope", false
		}
		return mech + " as " + cfg.Username, "", true
	}
	var a sasl.Client
	switch {
	case has(mechs, sasl.Plain):
		a = sasl.NewPlainClient("", cfg.Username, cfg.Password)
	case has(mechs, sasl.Login):
		a = sasl.NewLoginClient(cfg.Username, cfg.Password)
	default:
		return "the server offers neither PLAIN nor LOGIN (offers " + strings.Join(mechs, " ") + ")", "this server wants OAuth2: set auth: oauth2", false
	}
	mech, _, _ := a.Start()
	if err := c.Auth(a); err != nil {
		return "password refused for " + cfg.Username + ": " + err.Error(),
			"check " + k.SMTP + ".username and the password (" + k.PasswordEnv + "); the provider may want an app password or OAuth2", false
	}
	return mech + " as " + cfg.Username, "", true
}

func has(list []string, m string) bool {
	for _, x := range list {
		if strings.EqualFold(x, m) {
			return true
		}
	}
	return false
}

// IMAP is what the IMAP checks need.
type IMAP struct {
	Host               string
	Port               int
	TLS                string
	Username, Password string
	Token              mailer.TokenSource
	OAuthMechanism     string
	Mailbox            string
	RootCAs            *x509.CertPool
	InsecureSkipVerify bool
	// SaveSent: "" (off), "auto" (find \Sent), or a folder name.
	SaveSent string
	Timeout  time.Duration
}

// RunIMAP checks the IMAP side.
func RunIMAP(ctx context.Context, cfg IMAP, k Keys) []Check {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	out := []Check{}
	add := func(name, verdict, detail, fix string) { out = append(out, Check{name, verdict, detail, fix}) }
	later := []string{"imap tls", "imap login", "imap mailbox", "imap idle", "imap sent folder"}
	skipFrom := func(i int) {
		for _, n := range later[i:] {
			add(n, Skip, "after the failure above", "")
		}
	}
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		d, f := dialErr(err, k.IMAP)
		add("imap connect", Fail, addr+": "+d, f)
		skipFrom(0)
		return out
	}
	_ = conn.SetDeadline(time.Now().Add(3 * timeout))
	add("imap connect", OK, addr, "")
	tc := tlsConfig(cfg.Host, cfg.RootCAs, cfg.InsecureSkipVerify)
	opts := &imapclient.Options{TLSConfig: tc}
	var c *imapclient.Client
	switch cfg.TLS {
	case "tls":
		t := tls.Client(conn, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			d, f := tlsErr(err, k.IMAP)
			add("imap tls", Fail, d, f)
			skipFrom(1)
			return out
		}
		c = imapclient.New(t, opts)
		add("imap tls", OK, "TLS from the first byte, certificate trusted", "")
	case "none":
		c = imapclient.New(conn, opts)
		add("imap tls", OK, "none: not encrypted (only for a server on this machine or network)", "")
	default:
		c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			_ = conn.Close()
			d, f := tlsErr(err, k.IMAP)
			add("imap tls", Fail, "STARTTLS: "+d, f)
			skipFrom(1)
			return out
		}
		add("imap tls", OK, "STARTTLS, certificate trusted", "")
	}
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		add("imap login", Fail, "no IMAP greeting: "+err.Error(), "check "+k.IMAP+".port is an IMAP port (993 tls, 143 starttls)")
		skipFrom(2)
		return out
	}
	if d, f, ok := imapLogin(ctx, c, cfg, k); !ok {
		add("imap login", Fail, d, f)
		skipFrom(2)
		return out
	} else {
		add("imap login", OK, d, "")
	}
	mbox := cfg.Mailbox
	if mbox == "" {
		mbox = "INBOX"
	}
	sel, err := c.Select(mbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		add("imap mailbox", Fail, "selecting "+mbox+": "+err.Error(), "check "+k.IMAP+".mailbox (default INBOX)")
	} else {
		add("imap mailbox", OK, fmt.Sprintf("%s: %d messages", mbox, sel.NumMessages), "")
	}
	if !c.Caps().Has(imap.CapIdle) {
		add("imap idle", OK, "the server has no IDLE: drip polls (imap.poll)", "")
	} else if err == nil {
		idle, err := c.Idle()
		if err == nil {
			err = idle.Close()
			if err == nil {
				err = idle.Wait()
			}
		}
		if err != nil {
			add("imap idle", Fail, "IDLE failed: "+err.Error(), "replies are still seen by polling; tell the server's administrator")
		} else {
			add("imap idle", OK, "IDLE works: replies are seen within seconds", "")
		}
	} else {
		add("imap idle", Skip, "after the failure above", "")
	}
	v, d, f := sentFolder(c, cfg.SaveSent, k)
	add("imap sent folder", v, d, f)
	_ = c.Logout().Wait()
	return out
}

func imapLogin(ctx context.Context, c *imapclient.Client, cfg IMAP, k Keys) (detail, fix string, ok bool) {
	if cfg.Token != nil {
		tok, err := cfg.Token.AccessToken(ctx)
		if err != nil {
			if errors.Is(err, mailer.ErrReauthNeeded) {
				return "no valid OAuth2 sign-in", "run `drip mailbox connect " + k.Sender + "`", false
			}
			return "getting an OAuth2 token: " + err.Error(), "check the provider's token endpoint is reachable", false
		}
		a, found := mailer.OAuthSASL(c.Caps().AuthMechanisms(), cfg.OAuthMechanism, cfg.Username, tok, cfg.Host, cfg.Port)
		if !found {
			return "the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER", "this server takes a password: set auth: password", false
		}
		mech, _, _ := a.Start()
		if err := c.Authenticate(a); err != nil {
			return "OAuth2 token refused as " + cfg.Username + ": " + err.Error(), "run `drip mailbox connect " + k.Sender + "`; check the app has the IMAP scope", false
		}
		return mech + " as " + cfg.Username, "", true
	}
	if err := c.Login(cfg.Username, cfg.Password).Wait(); err != nil {
		return "password refused for " + cfg.Username + ": " + err.Error(),
			"check " + k.IMAP + ".username and the password; Microsoft 365 and Gmail want auth: oauth2", false
	}
	return "LOGIN as " + cfg.Username, "", true
}

// sentFolder returns verdict, detail and fix of the Sent folder check.
func sentFolder(c *imapclient.Client, saveSent string, k Keys) (verdict, detail, fix string) {
	if saveSent == "" {
		return Skip, "save_sent is off (or the provider files sent mail itself)", ""
	}
	if saveSent != "auto" {
		if _, err := c.Status(saveSent, &imap.StatusOptions{NumMessages: true}).Wait(); err != nil {
			return Fail, "folder " + saveSent + ": " + err.Error(), "set " + k.IMAP + ".save_sent to an existing folder, auto, or off"
		}
		return OK, "copies go to " + saveSent, ""
	}
	name, err := FindSent(c)
	if err != nil {
		return Fail, err.Error(), "set " + k.IMAP + ".save_sent to the Sent folder's name, or off"
	}
	return OK, "copies go to " + name + " (\\Sent)", ""
}

// FindSent returns the folder marked \Sent (RFC 6154 SPECIAL-USE).
func FindSent(c *imapclient.Client) (string, error) { return mailer.FindSentFolder(c) }
