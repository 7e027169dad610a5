package configs

import (
	"fmt"
	"net"
	"strings"
)

// MinSecretLen is the shortest api_token (and unsubscribe_secret) drip
// accepts on a listener that other machines can reach.
const MinSecretLen = 24

// placeholderSecrets are values published in drip's own files and
// documentation: anybody can read them, so they protect nothing.
var placeholderSecrets = map[string]bool{
	"change-me": true, "changeme": true, "secret": true, "token": true,
}

// WeakSecret says why secret cannot be guessed-proof ("" when it is strong
// enough): empty, a published placeholder, or shorter than MinSecretLen.
func WeakSecret(secret string) string {
	s := strings.TrimSpace(secret)
	switch {
	case s == "":
		return "empty"
	case placeholderSecrets[strings.ToLower(s)]:
		return fmt.Sprintf("%q is the published placeholder", s)
	case len(s) < MinSecretLen:
		return fmt.Sprintf("%d characters, fewer than %d", len(s), MinSecretLen)
	}
	return ""
}

// LoopbackOnly reports whether a listen address ("host:port") accepts
// connections from this machine only. An empty host listens everywhere.
func LoopbackOnly(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return false
	}
	return loopbackHost(host)
}

// validateSecrets records, for `drip check` and `drip serve` only (see
// ExposureProblems), the secrets that anybody could guess while the API
// listens beyond this machine. Other commands (import, status) never
// listen and need not refuse them.
func (c *Config) validateSecrets(src *source) {
	c.exposure = nil
	if LoopbackOnly(c.HTTP.Listen) {
		return
	}
	if why := WeakSecret(c.HTTP.APIToken); why != "" {
		c.exposure = append(c.exposure, fmt.Sprintf("%s: http.api_token: %s, and http.listen %q is reachable from other machines: "+
			"use a random token of %d+ characters (e.g. `openssl rand -base64 32`, in DRIP_HTTP_API_TOKEN), or listen on 127.0.0.1 only",
			src.at("http.api_token"), why, c.HTTP.Listen, MinSecretLen))
	}
	if c.HTTP.UnsubscribeSecret != "" {
		if why := WeakSecret(c.HTTP.UnsubscribeSecret); why != "" {
			c.exposure = append(c.exposure, fmt.Sprintf("%s: http.unsubscribe_secret: %s: anybody could unsubscribe your prospects; "+
				"leave it out (drip then keeps a random key in the store) or use %d+ random characters",
				src.at("http.unsubscribe_secret"), why, MinSecretLen))
		}
	}
}

// ExposureProblems are the secrets anybody could guess on a listener other
// machines reach: `drip check` lists them and `drip serve` refuses to
// start with them.
func (c *Config) ExposureProblems() []string { return c.exposure }

// validatePlaintextAuth refuses a sender that would send its password in
// clear (AUTH or LOGIN with tls: none) to a server off this machine,
// unless allow_plaintext_auth says that is meant.
func (c *Config) validatePlaintextAuth(i int, src *source, ps *Problems) {
	s := &c.Senders[i]
	if c.AllowPlaintextAuth || s.AllowPlaintextAuth {
		return
	}
	p := fmt.Sprintf("senders[%d]", i)
	const fix = "use tls: starttls or tls, or set allow_plaintext_auth: true (for this sender, or at the top level) on a network you trust"
	if s.SMTP.TLS == "none" && s.SMTP.Username != "" && !loopbackHost(s.SMTP.Host) {
		src.problem(ps, p+".smtp.tls", "none with a username: the password would cross the network to %s in clear; %s", s.SMTP.Host, fix)
	}
	if m := s.IMAP; m != nil && m.TLS == "none" && m.Username != "" && !loopbackHost(m.Host) {
		src.problem(ps, p+".imap.tls", "none with a username: the password would cross the network to %s in clear; %s", m.Host, fix)
	}
}

// loopbackHost reports a host name or address of this machine itself.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
