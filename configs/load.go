package configs

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Load reads the configuration file at path, then, in this order: applies
// the DRIP_* environment overrides (see envVars), fills in defaults, loads
// every *.yaml in SequencesDir into Sequences, and validates it all once.
//
// Relative paths (sequences_dir, templates_dir, a sqlite: file) are relative
// to the current working directory, not to the configuration file: the
// shipped `sequences_dir: configs/sequences` assumes drip runs from the
// project folder.
//
// Every problem found is reported, each one line naming its file and line,
// in a *Problems error. When the file could be read and decoded, Load returns
// the Config too, alongside the *Problems, so that `drip check` can go on to
// check the templates of what did load; anything else must not use a Config
// that came with an error.
func Load(path string) (*Config, error) {
	ps := &Problems{}
	c := &Config{File: path}
	src, ok := decodeFile(path, c, ps)
	if !ok {
		return nil, ps
	}
	applyEnv(c, src, ps)
	c.applyDefaults()
	c.validate(src, ps)
	c.loadSequences(ps)
	return c, ps.Err()
}

// Sender returns the sender called name.
func (c *Config) Sender(name string) (*Sender, bool) {
	for i := range c.Senders {
		if c.Senders[i].Name == name {
			return &c.Senders[i], true
		}
	}
	return nil, false
}

// DefaultSender is the first sender, used when an enrollment names none.
// Validation guarantees there is one.
func (c *Config) DefaultSender() *Sender {
	if len(c.Senders) == 0 {
		return nil
	}
	return &c.Senders[0]
}

// SequenceNames lists the loaded sequences in name order.
func (c *Config) SequenceNames() []string {
	names := make([]string, 0, len(c.Sequences))
	for n := range c.Sequences {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Address is the parsed From of a validated sender (zero if From is invalid).
func (s *Sender) Address() mail.Address {
	a, err := mail.ParseAddress(s.From)
	if err != nil {
		return mail.Address{}
	}
	return *a
}

// Defaults. Engine's are documented on its fields in types.go.
const (
	DefaultWorkers      = 8
	DefaultListen       = "127.0.0.1:8080"
	DefaultSequencesDir = "configs/sequences"
	DefaultTemplatesDir = "templates"
	DefaultMailbox      = "INBOX"
	DefaultTimezone     = "UTC"
)

func (c *Config) applyDefaults() {
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = DefaultListen
	}
	c.HTTP.applyDefaults()
	if c.SequencesDir == "" {
		c.SequencesDir = DefaultSequencesDir
	}
	if c.TemplatesDir == "" {
		c.TemplatesDir = DefaultTemplatesDir
	}
	for i := range c.Senders {
		s := &c.Senders[i]
		s.applyPreset()
		if s.Timezone == "" {
			s.Timezone = DefaultTimezone
		}
		if s.SMTP.TLS == "" {
			s.SMTP.TLS = "starttls"
		}
		if s.SMTP.Port == 0 {
			s.SMTP.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[s.SMTP.TLS]
		}
		s.applyProtectDefaults()
		if s.SMTP.Connections == 0 {
			s.SMTP.Connections = max(c.Workers, 1) // an invalid workers is reported once, there
		}
		if m := s.IMAP; m != nil {
			if m.TLS == "" {
				m.TLS = "tls"
			}
			if m.Port == 0 {
				m.Port = map[string]int{"tls": 993, "starttls": 143, "none": 143}[m.TLS]
			}
			if m.Mailbox == "" {
				m.Mailbox = DefaultMailbox
			}
			m.Poll = m.Poll.Or(Span{Dur: time.Minute})
		}
	}
	e := &c.Engine
	e.Lease = e.Lease.Or(Span{Dur: 5 * time.Minute})
	e.Poll = e.Poll.Or(Span{Dur: time.Second})
	e.RetryBase = e.RetryBase.Or(Span{Dur: time.Minute})
	e.RetryMaxDelay = e.RetryMaxDelay.Or(Span{Dur: time.Hour})
	e.SMTPTimeout = e.SMTPTimeout.Or(Span{Dur: 30 * time.Second})
	e.ShutdownGrace = e.ShutdownGrace.Or(Span{Dur: time.Minute})
	e.MailboxLease = e.MailboxLease.Or(Span{Dur: 30 * time.Second})
	e.ReconnectLimit = e.ReconnectLimit.Or(Span{Dur: time.Minute})
	e.MetricsRefresh = e.MetricsRefresh.Or(Span{Dur: 15 * time.Second})
	if e.Batch == 0 {
		e.Batch = 100
	}
	if e.RetryMax == 0 {
		e.RetryMax = 8
	}
	if e.MaxBodyBytes == 0 {
		e.MaxBodyBytes = 32 << 20
	}
	if e.ImportBatch == 0 {
		e.ImportBatch = 1000
	}
	if e.InstanceName == "" {
		e.InstanceName, _ = os.Hostname()
		if e.InstanceName == "" {
			e.InstanceName = "drip"
		}
	}
}

var nameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

func (c *Config) validate(src *source, ps *Problems) {
	validateDatabaseURL(c.DatabaseURL, src, ps)
	if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil || port == "" {
		src.problem(ps, "http.listen", "expected host:port, e.g. 127.0.0.1:8080, got %q", c.HTTP.Listen)
	}
	c.HTTP.validate(src, ps)
	if u, err := url.Parse(c.HTTP.PublicURL); c.HTTP.PublicURL == "" {
		src.problem(ps, "http.public_url", "missing: the base URL of unsubscribe links, e.g. https://drip.example.com")
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		src.problem(ps, "http.public_url", "expected an absolute http(s) URL, e.g. https://drip.example.com, got %q", c.HTTP.PublicURL)
	}
	c.validateSecrets(src)
	if c.Workers < 1 {
		src.problem(ps, "workers", "must be at least 1, got %d", c.Workers)
	}
	if len(c.Senders) == 0 {
		src.problem(ps, "senders", "at least one sender is needed")
	}
	names := map[string]int{}
	envNames := map[string]string{}
	for i := range c.Senders {
		c.Senders[i].validate(fmt.Sprintf("senders[%d]", i), src, ps)
		c.validatePlaintextAuth(i, src, ps)
		name := c.Senders[i].Name
		p := fmt.Sprintf("senders[%d].name", i)
		if j, dup := names[name]; dup && name != "" {
			src.problem(ps, p, "%q is also the name of senders[%d]", name, j)
		} else if other, dup := envNames[EnvName(name)]; dup && name != "" {
			src.problem(ps, p, "%q and %q share the environment name DRIP_SENDERS_%s_*", name, other, EnvName(name))
		}
		names[name], envNames[EnvName(name)] = i, name
	}
	c.validateGrantKey(src, ps)
	c.validateWebhooks(src, ps)
	e := &c.Engine
	for _, f := range []struct {
		path string
		n    int64
	}{{"engine.batch", int64(e.Batch)}, {"engine.retry_max", int64(e.RetryMax)},
		{"engine.max_body_bytes", e.MaxBodyBytes}, {"engine.import_batch", int64(e.ImportBatch)}} {
		if f.n < 1 {
			src.problem(ps, f.path, "must be at least 1, got %d", f.n)
		}
	}
	if e.RateLimit < 0 {
		src.problem(ps, "engine.rate_limit", "must not be negative (0 = no limit)")
	}
}

// validateDatabaseURL never quotes the URL: it usually holds a password.
func validateDatabaseURL(dsn string, src *source, ps *Problems) {
	const p = "database_url"
	switch {
	case dsn == "":
		src.problem(ps, p, `missing: use "sqlite:PATH" or "postgres://user:pass@host/db"`)
	case strings.HasPrefix(dsn, "sqlite:"):
		if strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//") == "" {
			src.problem(ps, p, `sqlite: needs a file path, e.g. "sqlite:drip.db"`)
		}
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			src.problem(ps, p, "not a valid postgres:// URL (check its escaping: special characters in the password must be %%-encoded)")
		}
	default:
		src.problem(ps, p, `must start with "sqlite:" or "postgres://"`)
	}
}

func (s *Sender) validate(p string, src *source, ps *Problems) {
	if !nameRE.MatchString(s.Name) {
		src.problem(ps, p+".name", "%q: use lower-case letters, digits, _ and - only", s.Name)
	}
	if s.From == "" {
		src.problem(ps, p+".from", `missing, e.g. "Maria Rossi <maria@example.com>"`)
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		src.problem(ps, p+".from", "%q is not an address (%v)", s.From, err)
	}
	if s.DailyLimit < 0 {
		src.problem(ps, p+".daily_limit", "must not be negative (0 = no cap)")
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		src.problem(ps, p+".timezone", "unknown time zone %q (use an IANA name, e.g. Europe/Rome)", s.Timezone)
	}
	validateServer(p+".smtp", s.SMTP.Host, s.SMTP.Port, s.SMTP.TLS, src, ps)
	if s.SMTP.Connections < 1 {
		src.problem(ps, p+".smtp.connections", "must be at least 1")
	}
	s.validateProtect(p, src, ps)
	if s.SMTP.Password != "" && s.SMTP.Username == "" {
		src.problem(ps, p+".smtp.password", "set without smtp.username")
	}
	s.validateAuth(p, src, ps)
	if m := s.IMAP; m != nil {
		validateServer(p+".imap", m.Host, m.Port, m.TLS, src, ps)
		if m.Poll.IsZero() {
			src.problem(ps, p+".imap.poll", "must be more than 0")
		}
		if strings.ContainsAny(m.AuthservID, " \t;()\"\r\n") {
			src.problem(ps, p+".imap.authserv_id", "%q: one name without spaces, ';' or comments (e.g. mx.google.com)", m.AuthservID)
		}
	}
}

func validateServer(p, host string, port int, tls string, src *source, ps *Problems) {
	if host == "" {
		src.problem(ps, p+".host", "missing")
	}
	if port < 0 || (port == 0 && isTLSMode(tls)) || port > 65535 { // no port: its default needs a valid tls
		src.problem(ps, p+".port", "must be 1..65535, got %d", port)
	}
	if !isTLSMode(tls) {
		src.problem(ps, p+".tls", "%q: use starttls, tls or none", tls)
	}
}

// loadSequences loads every *.yaml in SequencesDir, in name order.
func (c *Config) loadSequences(ps *Problems) {
	c.Sequences = map[string]*Sequence{}
	files, err := filepath.Glob(filepath.Join(c.SequencesDir, "*.yaml"))
	if err != nil { // only a malformed pattern; the dir name has a '['
		ps.Addf("%s: sequences_dir: %v", c.File, err)
		return
	}
	if st, err := os.Stat(c.SequencesDir); err != nil || !st.IsDir() {
		ps.Addf("%s: sequences_dir: %q is not a folder (relative paths start at the working directory)", c.File, c.SequencesDir)
		return
	}
	if len(files) == 0 {
		ps.Addf("%s: sequences_dir: no *.yaml sequence in %q", c.File, c.SequencesDir)
		return
	}
	sort.Strings(files)
	for _, f := range files {
		seq := &Sequence{File: f}
		src, ok := decodeFile(f, seq, ps)
		if !ok {
			continue
		}
		seq.applyDefaults()
		seq.validate(src, c.TemplatesDir, ps)
		if seq.Name != "" {
			c.Sequences[seq.Name] = seq
		}
	}
}

func (s *Sequence) applyDefaults() {
	if s.Timezone == "" {
		s.Timezone = DefaultTimezone
	}
	if s.Templates == "" {
		s.Templates = s.Name
	}
	if s.LateStart == "" {
		s.LateStart = LateStartLatest
	}
}

// MaxSteps bounds a sequence's length.
const MaxSteps = 1000

// MaxScheduleYears bounds how long after the first contact a sequence's
// last step may be due.
const MaxScheduleYears = 100

func (s *Sequence) validate(src *source, templatesDir string, ps *Problems) {
	stem := strings.TrimSuffix(filepath.Base(s.File), filepath.Ext(s.File))
	switch {
	case s.Name == "":
		src.problem(ps, "name", "missing; it must be %q, the file's name", stem)
	case s.Name != stem:
		src.problem(ps, "name", "%q differs from the file's name %q; rename one", s.Name, stem)
	case !nameRE.MatchString(s.Name):
		src.problem(ps, "name", "%q: use lower-case letters, digits, _ and - only", s.Name)
	}
	if s.Steps < 1 || s.Steps > MaxSteps {
		src.problem(ps, "steps", "must be 1..%d, got %d", MaxSteps, s.Steps)
	}
	if s.Interval.IsZero() {
		src.problem(ps, "interval", "must be more than 0, e.g. 10d")
	} else if s.Steps >= 1 && s.Steps <= MaxSteps && !src.bad["interval"] && !src.bad["first_step_after"] {
		// Both spans are at most 100 years each (ParseSpan): the products
		// below fit in a time.Duration.
		limit := MaxScheduleYears * 365 * 24 * time.Hour
		if (limit-s.FirstStepAfter.Approx())/time.Duration(max(s.Steps-1, 1)) < s.Interval.Approx() {
			src.problem(ps, "interval", "%s × %d steps after first_step_after %s ends more than %d years after the first contact: shorten it",
				s.Interval, s.Steps, s.FirstStepAfter, MaxScheduleYears)
		}
	}
	// first_step_after and min_gap cannot be negative: ParseSpan refuses that.
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		src.problem(ps, "timezone", "unknown time zone %q (use an IANA name, e.g. Europe/Rome)", s.Timezone)
	} else {
		s.Location = loc
	}
	if w := s.Window; w != nil {
		if src.has("window.days") && len(w.Days) == 0 {
			src.problem(ps, "window.days", "empty: list the days, e.g. [mon, tue, wed, thu, fri], or leave days out for every day")
		}
		if w.From >= w.To && !src.bad["window.from"] && !src.bad["window.to"] {
			src.problem(ps, "window", "from %s must be before to %s", w.From, w.To)
		}
		w.validateHolidays(src, ps)
	}
	if _, err := ParseLateStart(string(s.LateStart)); err != nil {
		src.problem(ps, "late_start", "%q: want latest (R3: only the latest past-due step goes out) or first (start at step 1)", s.LateStart)
	}
	seen := map[string]bool{}
	for i, f := range s.Fields {
		p := fmt.Sprintf("fields[%d]", i)
		if strings.TrimSpace(f) == "" || strings.ContainsAny(f, " \t\r\n") {
			src.problem(ps, p, "%q: a field name has no spaces", f)
		} else if seen[f] {
			src.problem(ps, p, "%q is listed twice", f)
		}
		seen[f] = true
	}
	dir := filepath.Join(templatesDir, s.Templates)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		src.problem(ps, "templates", "no folder %q (templates_dir + templates; relative to the working directory)", dir)
	}
}

func isTLSMode(s string) bool { return s == "starttls" || s == "tls" || s == "none" }

// webhookKinds are the event kinds a webhook can ask for (store.WebhookKinds).
var webhookKinds = []string{"enrolled", "sent", "reply", "auto_reply", "deferred", "bounce",
	"unsubscribe", "left", "completed", "failed"}

// validateWebhooks never quotes a URL or a secret: either may hold a token.
func (c *Config) validateWebhooks(src *source, ps *Problems) {
	seen := map[string]int{}
	for i, w := range c.Webhooks {
		p := fmt.Sprintf("webhooks[%d]", i)
		if u, err := url.Parse(w.URL); w.URL == "" {
			src.problem(ps, p+".url", "missing: the receiver's http(s) URL")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			src.problem(ps, p+".url", "expected an absolute http(s) URL")
		} else if j, dup := seen[w.URL]; dup {
			src.problem(ps, p+".url", "the same URL as webhooks[%d]", j)
		}
		seen[w.URL] = i
		if w.Secret == "" {
			src.problem(ps, p+".secret", "missing: set $DRIP_WEBHOOKS_%d_SECRET (the receiver checks each signature with it)", i)
		}
		for k, e := range w.Events {
			if !slices.Contains(webhookKinds, e) {
				src.problem(ps, fmt.Sprintf("%s.events[%d]", p, k), "%q: one of %s", e, strings.Join(webhookKinds, ", "))
			}
		}
	}
}
