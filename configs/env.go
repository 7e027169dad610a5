package configs

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment variable that overrides the file.
const EnvPrefix = "DRIP_"

// envVar is one environment override: DRIP_+name sets the key at path.
type envVar struct {
	name string // without EnvPrefix
	path string // key path, as problems name it
	set  func(string) error
}

// envVars lists every override for c. Senders are addressed by name:
// DRIP_SENDERS_<NAME>_SMTP_PASSWORD, with NAME the sender's name upper-cased
// and every other character than A-Z and 0-9 turned into "_".
func envVars(c *Config) []envVar {
	e := &c.Engine
	vs := []envVar{
		{"DATABASE_URL", "database_url", setString(&c.DatabaseURL)},
		{"HTTP_LISTEN", "http.listen", setString(&c.HTTP.Listen)},
		{"HTTP_API_TOKEN", "http.api_token", setString(&c.HTTP.APIToken)},
		{"HTTP_PUBLIC_URL", "http.public_url", setString(&c.HTTP.PublicURL)},
		{"HTTP_UNSUBSCRIBE_SECRET", "http.unsubscribe_secret", setString(&c.HTTP.UnsubscribeSecret)},
		{"HTTP_PUBLIC_LISTEN", "http.public_listen", setString(&c.HTTP.PublicListen)},
		{"HTTP_METRICS_TOKEN", "http.metrics_token", setString(&c.HTTP.MetricsToken)},
		{"HTTP_READ_HEADER_TIMEOUT", "http.read_header_timeout", setSpan(&c.HTTP.ReadHeaderTimeout)},
		{"HTTP_READ_TIMEOUT", "http.read_timeout", setSpan(&c.HTTP.ReadTimeout)},
		{"HTTP_WRITE_TIMEOUT", "http.write_timeout", setSpan(&c.HTTP.WriteTimeout)},
		{"HTTP_IDLE_TIMEOUT", "http.idle_timeout", setSpan(&c.HTTP.IdleTimeout)},
		{"HTTP_MAX_CONNECTIONS", "http.max_connections", setInt(&c.HTTP.MaxConnections)},
		{"WORKERS", "workers", setInt(&c.Workers)},
		{"SEQUENCES_DIR", "sequences_dir", setString(&c.SequencesDir)},
		{"TEMPLATES_DIR", "templates_dir", setString(&c.TemplatesDir)},
		{"ENGINE_LEASE", "engine.lease", setSpan(&e.Lease)},
		{"ENGINE_BATCH", "engine.batch", setInt(&e.Batch)},
		{"ENGINE_POLL", "engine.poll", setSpan(&e.Poll)},
		{"ENGINE_RATE_LIMIT", "engine.rate_limit", setFloat(&e.RateLimit)},
		{"ENGINE_RETRY_MAX", "engine.retry_max", setInt(&e.RetryMax)},
		{"ENGINE_RETRY_BASE", "engine.retry_base", setSpan(&e.RetryBase)},
		{"ENGINE_RETRY_MAX_DELAY", "engine.retry_max_delay", setSpan(&e.RetryMaxDelay)},
		{"ENGINE_SMTP_TIMEOUT", "engine.smtp_timeout", setSpan(&e.SMTPTimeout)},
		{"ENGINE_SHUTDOWN_GRACE", "engine.shutdown_grace", setSpan(&e.ShutdownGrace)},
		{"ENGINE_MAILBOX_LEASE", "engine.mailbox_lease", setSpan(&e.MailboxLease)},
		{"ENGINE_RECONNECT_LIMIT", "engine.reconnect_limit", setSpan(&e.ReconnectLimit)},
		{"ENGINE_METRICS_REFRESH", "engine.metrics_refresh", setSpan(&e.MetricsRefresh)},
		{"ENGINE_INSTANCE_NAME", "engine.instance_name", setString(&e.InstanceName)},
		{"ENGINE_MAX_BODY_BYTES", "engine.max_body_bytes", setInt64(&e.MaxBodyBytes)},
		{"ENGINE_IMPORT_BATCH", "engine.import_batch", setInt(&e.ImportBatch)},
		{"ENGINE_DISABLE_WATCHERS", "engine.disable_watchers", setBool(&e.DisableWatch)},
		{"SECRET_KEY", "secret_key", setString(&c.SecretKey)},
		{"SECRET_KEY_FILE", "secret_key_file", setString(&c.SecretKeyFile)},
	}
	for i := range c.Senders {
		s := &c.Senders[i]
		n := "SENDERS_" + EnvName(s.Name) + "_"
		p := fmt.Sprintf("senders[%d].", i)
		vs = append(vs,
			envVar{n + "FROM", p + "from", setString(&s.From)},
			envVar{n + "DAILY_LIMIT", p + "daily_limit", setInt(&s.DailyLimit)},
			envVar{n + "TIMEZONE", p + "timezone", setString(&s.Timezone)},
			envVar{n + "SMTP_HOST", p + "smtp.host", setString(&s.SMTP.Host)},
			envVar{n + "SMTP_PORT", p + "smtp.port", setInt(&s.SMTP.Port)},
			envVar{n + "SMTP_TLS", p + "smtp.tls", setString(&s.SMTP.TLS)},
			envVar{n + "SMTP_USERNAME", p + "smtp.username", setString(&s.SMTP.Username)},
			envVar{n + "SMTP_PASSWORD", p + "smtp.password", setString(&s.SMTP.Password)},
			envVar{n + "SMTP_CONNECTIONS", p + "smtp.connections", setInt(&s.SMTP.Connections)},
			envVar{n + "SMTP_CA_FILE", p + "smtp.ca_file", setString(&s.SMTP.CAFile)},
			envVar{n + "PROVIDER", p + "provider", setString(&s.Provider)},
			envVar{n + "AUTH", p + "auth", setString(&s.Auth)},
			envVar{n + "OAUTH2_CLIENT_ID", p + "oauth2.client_id", onOAuth2(s, func(o *OAuth2) *string { return &o.ClientID })},
			envVar{n + "OAUTH2_CLIENT_SECRET", p + "oauth2.client_secret", onOAuth2(s, func(o *OAuth2) *string { return &o.ClientSecret })},
			envVar{n + "OAUTH2_TENANT", p + "oauth2.tenant", onOAuth2(s, func(o *OAuth2) *string { return &o.Tenant })},
			envVar{n + "IMAP_HOST", p + "imap.host", onIMAP(s, func(m *IMAP) func(string) error { return setString(&m.Host) })},
			envVar{n + "IMAP_PORT", p + "imap.port", onIMAP(s, func(m *IMAP) func(string) error { return setInt(&m.Port) })},
			envVar{n + "IMAP_TLS", p + "imap.tls", onIMAP(s, func(m *IMAP) func(string) error { return setString(&m.TLS) })},
			envVar{n + "IMAP_USERNAME", p + "imap.username", onIMAP(s, func(m *IMAP) func(string) error { return setString(&m.Username) })},
			envVar{n + "IMAP_PASSWORD", p + "imap.password", onIMAP(s, func(m *IMAP) func(string) error { return setString(&m.Password) })},
			envVar{n + "IMAP_MAILBOX", p + "imap.mailbox", onIMAP(s, func(m *IMAP) func(string) error { return setString(&m.Mailbox) })},
			envVar{n + "IMAP_CA_FILE", p + "imap.ca_file", onIMAP(s, func(m *IMAP) func(string) error { return setString(&m.CAFile) })},
			envVar{n + "IMAP_SAVE_SENT", p + "imap.save_sent", onIMAP(s, func(m *IMAP) func(string) error { return setString(&m.SaveSent) })},
			envVar{n + "IMAP_AUTHSERV_ID", p + "imap.authserv_id", onIMAP(s, func(m *IMAP) func(string) error { return setString(&m.AuthservID) })},
		)
	}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		vs = append(vs,
			envVar{fmt.Sprintf("WEBHOOKS_%d_URL", i), fmt.Sprintf("webhooks[%d].url", i), setString(&w.URL)},
			envVar{fmt.Sprintf("WEBHOOKS_%d_SECRET", i), fmt.Sprintf("webhooks[%d].secret", i), setString(&w.Secret)})
	}
	return vs
}

// EnvName is a sender name as it appears in environment variable names.
func EnvName(name string) string {
	b := []byte(strings.ToUpper(name))
	for i, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// applyEnv applies every set, non-empty DRIP_* override to c. An empty
// variable counts as unset, so a stray `export DRIP_X=` cannot blank a value
// from the file. A DRIP_SENDERS_* variable that matches no sender is a
// problem: it is almost certainly a misspelt name whose secret would
// otherwise be silently ignored.
func applyEnv(c *Config, src *source, ps *Problems) {
	known := map[string]bool{}
	for _, v := range envVars(c) {
		name := EnvPrefix + v.name
		known[name] = true
		val, ok := os.LookupEnv(name)
		if !ok || val == "" {
			continue
		}
		src.env[v.path] = name
		if err := v.set(val); err != nil {
			src.bad[v.path] = true
			ps.Addf("$%s: %s: %v", name, v.path, err)
		}
	}
	var stray []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix+"SENDERS_") && !known[name] {
			stray = append(stray, name)
		}
	}
	sort.Strings(stray)
	for _, name := range stray {
		ps.Addf("$%s: matches no sender's setting in %s (senders: %s)", name, c.File, senderEnvNames(c))
	}
}

func senderEnvNames(c *Config) string {
	var ns []string
	for _, s := range c.Senders {
		ns = append(ns, EnvName(s.Name))
	}
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ", ")
}

// onIMAP makes a setter that first gives the sender an imap block, so a
// mailbox can be configured from the environment alone.
func onIMAP(s *Sender, field func(m *IMAP) func(string) error) func(string) error {
	return func(v string) error {
		if s.IMAP == nil {
			s.IMAP = &IMAP{}
		}
		return field(s.IMAP)(v)
	}
}

// onOAuth2 is onIMAP for the oauth2 block.
func onOAuth2(s *Sender, field func(o *OAuth2) *string) func(string) error {
	return func(v string) error {
		if s.OAuth2 == nil {
			s.OAuth2 = &OAuth2{}
		}
		*field(s.OAuth2) = v
		return nil
	}
}

func setString(p *string) func(string) error {
	return func(v string) error { *p = v; return nil }
}

func setInt(p *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("expected a whole number, got %q", v)
		}
		*p = n
		return nil
	}
}

func setInt64(p *int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("expected a whole number, got %q", v)
		}
		*p = n
		return nil
	}
}

func setFloat(p *float64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return fmt.Errorf("expected a number, got %q", v)
		}
		*p = n
		return nil
	}
}

func setBool(p *bool) func(string) error {
	return func(v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("expected true or false, got %q", v)
		}
		*p = b
		return nil
	}
}

func setSpan(p *Span) func(string) error {
	return func(v string) error {
		sp, err := ParseSpan(v)
		if err != nil {
			return err
		}
		*p = sp
		return nil
	}
}
