// Package configs is drip's typed configuration: the main YAML file, the
// sequences, environment overrides, and validation done once at start.
package configs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is configs/drip.yaml.
type Config struct {
	File         string   `yaml:"-"` // the file it was loaded from, for messages
	DatabaseURL  string   `yaml:"database_url"`
	HTTP         HTTP     `yaml:"http"`
	Workers      int      `yaml:"workers"`
	SequencesDir string   `yaml:"sequences_dir"`
	TemplatesDir string   `yaml:"templates_dir"`
	Senders      []Sender `yaml:"senders"`
	Engine       Engine   `yaml:"engine"`
	// SecretKeyFile holds the key that encrypts OAuth2 grants in the store
	// (one line); DRIP_SECRET_KEY gives the key itself instead.
	SecretKeyFile string `yaml:"secret_key_file"`
	// SecretKey is $DRIP_SECRET_KEY, never read from the file.
	SecretKey string `yaml:"-"`
	// AllowPlaintextAuth lets every sender log in to its SMTP or IMAP
	// server without TLS (tls: none) off loopback: the password crosses
	// the network in clear. For a trusted network only.
	AllowPlaintextAuth bool `yaml:"allow_plaintext_auth"`
	// Webhooks are told of each event (README "Webhooks").
	Webhooks []Webhook `yaml:"webhooks"`

	// Sequences are loaded from SequencesDir by Load, keyed by name.
	Sequences map[string]*Sequence `yaml:"-"`

	exposure []string // see ExposureProblems
}

// HTTP is the API / metrics / unsubscribe listener (Listen), and the
// optional public one.
type HTTP struct {
	// Listen serves the API, the web UI, /metrics, the health probes and
	// the unsubscribe links /u/….
	Listen    string `yaml:"listen"`
	APIToken  string `yaml:"api_token"`
	PublicURL string `yaml:"public_url"`
	// UnsubscribeSecret keys the HMAC of unsubscribe links. Links in emails
	// already sent stay valid only while it is unchanged. Empty: a random
	// key drip generates on first start and keeps in the store.
	UnsubscribeSecret string `yaml:"unsubscribe_secret"`

	// PublicListen, when set, is a second listener that serves only the
	// unsubscribe links /u/… (everything else answers 404): the one to
	// expose to the internet, while Listen stays on loopback or a private
	// network. Empty: one listener (a laptop, a proxy in front).
	PublicListen string `yaml:"public_listen"`
	// MetricsToken, when set, is required to read /metrics: as a bearer
	// token (Authorization: Bearer …) or as the password of basic auth
	// (any user name). Empty: /metrics is open to whoever reaches Listen.
	MetricsToken string `yaml:"metrics_token"`
	// Timeouts and the connection cap of each listener. ReadHeaderTimeout
	// bounds the request line and headers, ReadTimeout the whole request
	// with its body (a body sent slowly is cut there), WriteTimeout the
	// handling and the response, IdleTimeout a kept-alive connection
	// between requests. MaxConnections is the most connections a listener
	// holds at once; more wait in the kernel's queue until one closes.
	ReadHeaderTimeout Span `yaml:"read_header_timeout"` // default 10s
	ReadTimeout       Span `yaml:"read_timeout"`        // default 2m
	WriteTimeout      Span `yaml:"write_timeout"`       // default 5m
	IdleTimeout       Span `yaml:"idle_timeout"`        // default 2m
	MaxConnections    int  `yaml:"max_connections"`     // default 1000
}

// Sender is one sales rep's mailbox.
type Sender struct {
	Name       string `yaml:"name"`
	From       string `yaml:"from"`
	DailyLimit int    `yaml:"daily_limit"` // 0 = no cap
	// Timezone in which the sender's day (for DailyLimit) begins; default UTC.
	Timezone string `yaml:"timezone"`
	DKIM     string `yaml:"dkim_selector"` // see sender_protect.go
	Pace     *Pace  `yaml:"pace"`
	Protect  Shield `yaml:"protect"`
	SMTP     SMTP   `yaml:"smtp"`
	IMAP     *IMAP  `yaml:"imap"` // nil: replies are not watched for this sender
	// Provider is a preset (see Presets) that fills servers, TLS and the
	// OAuth2 endpoints and scopes; default custom (everything from here).
	Provider string `yaml:"provider"`
	// Auth is how drip signs in to SMTP and IMAP: password (default) or oauth2.
	Auth   string  `yaml:"auth"`
	OAuth2 *OAuth2 `yaml:"oauth2"`
	// AllowPlaintextAuth is Config.AllowPlaintextAuth for this sender only.
	AllowPlaintextAuth bool `yaml:"allow_plaintext_auth"`
}

// OAuth2 is a sender's OAuth2 client registration (auth: oauth2).
type OAuth2 struct {
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	Tenant       string   `yaml:"tenant"` // microsoft365: directory (tenant) ID or domain; default organizations
	AuthURL      string   `yaml:"auth_url"`
	TokenURL     string   `yaml:"token_url"`
	DeviceURL    string   `yaml:"device_url"`
	Scopes       []string `yaml:"scopes"`
}

// SMTP is an outbound server.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	TLS      string `yaml:"tls"` // starttls | tls | none
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// InsecureSkipVerify accepts any certificate (test servers only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Connections is how many connections to keep to this server at most
	// (default: workers).
	Connections int `yaml:"connections"`
	// CAFile is a PEM file of the CA that signed the server's certificate
	// (a private CA), trusted besides the system's.
	CAFile string `yaml:"ca_file"`
}

// IMAP is the mailbox watched for replies.
type IMAP struct {
	Host               string `yaml:"host"`
	Port               int    `yaml:"port"`
	TLS                string `yaml:"tls"` // tls | starttls | none
	Username           string `yaml:"username"`
	Password           string `yaml:"password"`
	Mailbox            string `yaml:"mailbox"` // default INBOX
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// Poll is the polling period when the server has no IDLE (default 1m).
	Poll   Span   `yaml:"poll"`
	CAFile string `yaml:"ca_file"` // like SMTP.CAFile
	// SaveSent: auto (default: the \Sent folder found by SPECIAL-USE, unless
	// the provider files SMTP submissions itself), a folder name, or off.
	SaveSent string `yaml:"save_sent"`
	// AuthservID is the authserv-id the mailbox's provider writes in the
	// Authentication-Results of mail it receives (gmail: mx.google.com).
	// When set, only that field is believed; "" believes the topmost one.
	AuthservID string `yaml:"authserv_id"`
}

// Engine tunes the scheduler; every field has a sensible default.
type Engine struct {
	Lease          Span    `yaml:"lease"`            // how long a claim holds an enrollment (default 5m)
	Batch          int     `yaml:"batch"`            // enrollments claimed at once (default 100)
	Poll           Span    `yaml:"poll"`             // longest sleep between looks for due work (default 1s)
	RateLimit      float64 `yaml:"rate_limit"`       // messages per second over all senders; 0 = none
	RetryMax       int     `yaml:"retry_max"`        // attempts of a step on temporary failures (default 8)
	RetryBase      Span    `yaml:"retry_base"`       // first retry delay, doubled each time with jitter (default 1m)
	RetryMaxDelay  Span    `yaml:"retry_max_delay"`  // cap of one retry delay (default 1h)
	SMTPTimeout    Span    `yaml:"smtp_timeout"`     // dial and per-command timeout (default 30s)
	ShutdownGrace  Span    `yaml:"shutdown_grace"`   // how long SIGTERM waits for in-flight sends (default 1m)
	MailboxLease   Span    `yaml:"mailbox_lease"`    // how long an instance holds a mailbox watch (default 30s)
	ReconnectLimit Span    `yaml:"reconnect_limit"`  // longest IMAP reconnect backoff (default 1m)
	MetricsRefresh Span    `yaml:"metrics_refresh"`  // how often store-derived gauges are read (default 15s)
	InstanceName   string  `yaml:"instance_name"`    // lease owner name prefix; default host name
	MaxBodyBytes   int64   `yaml:"max_body_bytes"`   // HTTP body cap (default 32 MiB)
	ImportBatch    int     `yaml:"import_batch"`     // rows per import transaction (default 1000)
	DisableWatch   bool    `yaml:"disable_watchers"` // do not watch mailboxes on this instance
}

// Sequence is configs/sequences/NAME.yaml.
type Sequence struct {
	File           string  `yaml:"-"`
	Name           string  `yaml:"name"`
	Steps          int     `yaml:"steps"`
	Interval       Span    `yaml:"interval"`
	FirstStepAfter Span    `yaml:"first_step_after"`
	MinGap         *Span   `yaml:"min_gap"` // nil = Interval/2
	Timezone       string  `yaml:"timezone"`
	Window         *Window `yaml:"window"`
	Thread         bool    `yaml:"thread"`
	Templates      string  `yaml:"templates"`
	// Fields are the custom fields the templates use; enrolling a prospect
	// without them is refused, so no email goes out with a blank.
	Fields []string `yaml:"fields"`
	// Exclusive refuses a prospect already running (active, paused or
	// replied) in another sequence; otherwise that is allowed, with a
	// warning.
	Exclusive bool `yaml:"exclusive"`
	// LateStart is how a late enrollment starts (one whose step 1 was
	// due before it was enrolled): LateStartLatest, the default, is R3;
	// LateStartFirst starts it at step 1.
	LateStart LateStart `yaml:"late_start"`
	// RequireBasis refuses to enrol a prospect without a lawful basis
	// (all of them, or those of some countries or languages; basis.go).
	RequireBasis RequireBasis `yaml:"require_basis"`

	Location *time.Location `yaml:"-"` // Timezone, resolved by validation
}

// LateStart is a sequence's late_start: how an enrollment whose first
// contact lies so far back that step 1 is already past due starts.
type LateStart string

const (
	// LateStartLatest is R3: only the latest past-due step goes out, the
	// earlier ones are skipped.
	LateStartLatest LateStart = "latest"
	// LateStartFirst starts at step 1 on the next window instant and moves
	// the anchor so that the later steps keep their spacing from it.
	LateStartFirst LateStart = "first"
)

// ParseLateStart reads a late_start value; "" is LateStartLatest.
func ParseLateStart(s string) (LateStart, error) {
	switch LateStart(strings.TrimSpace(s)) {
	case "", LateStartLatest:
		return LateStartLatest, nil
	case LateStartFirst:
		return LateStartFirst, nil
	}
	return "", fmt.Errorf("late_start %q: want latest or first", s)
}

// Gap is R4's minimum spacing between two sends to one prospect.
func (s *Sequence) Gap() time.Duration {
	if s.MinGap != nil {
		return s.MinGap.Approx()
	}
	return s.Interval.Approx() / 2
}

// Window is when a sequence may send, in the prospect's local time.
type Window struct {
	Days []Weekday `yaml:"days"` // empty = every day
	From TimeOfDay `yaml:"from"`
	To   TimeOfDay `yaml:"to"` // exclusive; must be after From
	// Holidays are country calendars whose public holidays are no window
	// days; "prospect" reads the prospect's own (see holidays.go).
	Holidays Holidays `yaml:"holidays"`
	// Closed are inclusive date ranges that are no window days (closures).
	Closed []DateRange `yaml:"closed"`
}

// Allows reports whether the window allows weekday d.
func (w *Window) Allows(d time.Weekday) bool {
	if len(w.Days) == 0 {
		return true
	}
	for _, x := range w.Days {
		if time.Weekday(x) == d {
			return true
		}
	}
	return false
}

// Span is a length of time with a calendar part: Days are added as calendar
// days in a time zone (so "10d" keeps the local clock time across DST), Dur
// as elapsed time. Written like a Go duration plus d (days) and w (weeks):
// "10d", "2w", "1d12h", "90m", "2s", "0".
type Span struct {
	Days int
	Dur  time.Duration
}

// MaxSpanDays bounds every written span (100 years), so that the
// schedule's arithmetic (a span times a step count, added to a date)
// cannot overflow a time.Duration, which reaches 292 years.
const MaxSpanDays = 36525

// ParseSpan parses the written form of a Span.
func ParseSpan(s string) (Span, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Span{}, fmt.Errorf("empty duration")
	}
	if in == "0" {
		return Span{}, nil
	}
	var sp Span
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || (rest[i] != 'd' && rest[i] != 'w') {
			break // the remainder must be a Go duration
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 100000 {
			return Span{}, fmt.Errorf("invalid duration %q", in)
		}
		if rest[i] == 'w' {
			n *= 7
		}
		sp.Days += n
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return Span{}, fmt.Errorf("invalid duration %q (use e.g. 10d, 2w, 1d12h, 90m, 2s)", in)
		}
		sp.Dur = d
	}
	if sp.Days < 0 || sp.Dur < 0 {
		return Span{}, fmt.Errorf("invalid duration %q: negative", in)
	}
	if sp.Days > MaxSpanDays || sp.Dur > MaxSpanDays*24*time.Hour || sp.Approx() > MaxSpanDays*24*time.Hour {
		return Span{}, fmt.Errorf("invalid duration %q: longer than %d days (100 years)", in, MaxSpanDays)
	}
	return sp, nil
}

// IsZero reports a zero span.
func (s Span) IsZero() bool { return s.Days == 0 && s.Dur == 0 }

// Approx is the span as elapsed time, counting a day as 24 hours.
func (s Span) Approx() time.Duration { return time.Duration(s.Days)*24*time.Hour + s.Dur }

// Times returns the span repeated n times.
func (s Span) Times(n int) Span { return Span{Days: s.Days * n, Dur: s.Dur * time.Duration(n)} }

// AddTo adds the span to t: calendar days in loc, then the elapsed part.
// When t's clock time does not exist on the day reached (a DST jump skips
// it), the result is the instant the clocks jumped to: time.Date would
// normalise it forwards in some zones and backwards in others.
func (s Span) AddTo(t time.Time, loc *time.Location) time.Time {
	if s.Days != 0 {
		local := t.In(loc)
		t = local.AddDate(0, 0, s.Days)
		want := time.Date(local.Year(), local.Month(), local.Day()+s.Days,
			local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), time.UTC)
		if got := time.Date(t.Year(), t.Month(), t.Day(),
			t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC); !got.Equal(want) {
			start, end := t.ZoneBounds()
			jump := end // normalised backwards: the clocks jump where t's offset ends
			if got.After(want) {
				jump = start // normalised forwards: they jumped where it began
			}
			if !jump.IsZero() {
				t = jump
			}
		}
	}
	return t.Add(s.Dur)
}

// Or returns s, or def when s is zero.
func (s Span) Or(def Span) Span {
	if s.IsZero() {
		return def
	}
	return s
}

func (s Span) String() string {
	if s.IsZero() {
		return "0"
	}
	var b strings.Builder
	if s.Days != 0 {
		fmt.Fprintf(&b, "%dd", s.Days)
	}
	if s.Dur != 0 {
		b.WriteString(s.Dur.String())
	}
	return b.String()
}

// UnmarshalText implements encoding.TextUnmarshaler (YAML uses it).
func (s *Span) UnmarshalText(b []byte) error {
	sp, err := ParseSpan(string(b))
	if err != nil {
		return err
	}
	*s = sp
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Span) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Weekday is a time.Weekday written mon..sun (or monday..sunday).
type Weekday time.Weekday

// UnmarshalText implements encoding.TextUnmarshaler.
func (w *Weekday) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	for d := time.Sunday; d <= time.Saturday; d++ {
		full := strings.ToLower(d.String())
		if s == full || s == full[:3] {
			*w = Weekday(d)
			return nil
		}
	}
	return fmt.Errorf("invalid weekday %q (use mon, tue, wed, thu, fri, sat, sun)", string(b))
}

// MarshalText implements encoding.TextMarshaler.
func (w Weekday) MarshalText() ([]byte, error) {
	return []byte(strings.ToLower(time.Weekday(w).String()[:3])), nil
}

// TimeOfDay is a local clock time "HH:MM", as minutes after midnight.
type TimeOfDay int

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || len(s) < 4 || len(s) > 5 ||
		h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return fmt.Errorf("invalid time of day %q (use HH:MM, 24-hour)", s)
	}
	*t = TimeOfDay(h*60 + m)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (t TimeOfDay) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", int(t)/60, int(t)%60) }

// Hour and Minute of the time of day.
func (t TimeOfDay) Hour() int   { return int(t) / 60 }
func (t TimeOfDay) Minute() int { return int(t) % 60 }

// Webhook is a receiver of signed event POSTs. Secret keys the
// Drip-Signature HMAC ($DRIP_WEBHOOKS_<i>_SECRET); Events lists the kinds
// to send (empty: every kind).
type Webhook struct {
	URL    string   `yaml:"url"`
	Secret string   `yaml:"secret"`
	Events []string `yaml:"events"`
}
