package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture writes a configuration in a temporary folder: drip.yaml with the
// given body (SEQDIR and TPLDIR replaced by the folders' absolute paths),
// and the given sequence files. Every sequence gets a templates folder.
type fixture struct {
	dir, file, seqDir, tplDir string
}

func newFixture(t *testing.T, config string, sequences map[string]string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, file: filepath.Join(dir, "drip.yaml"),
		seqDir: filepath.Join(dir, "sequences"), tplDir: filepath.Join(dir, "templates")}
	must(t, os.MkdirAll(f.seqDir, 0o755))
	must(t, os.MkdirAll(f.tplDir, 0o755))
	config = strings.NewReplacer("SEQDIR", f.seqDir, "TPLDIR", f.tplDir).Replace(config)
	must(t, os.WriteFile(f.file, []byte(config), 0o644))
	for name, body := range sequences {
		must(t, os.WriteFile(filepath.Join(f.seqDir, name+".yaml"), []byte(body), 0o644))
		must(t, os.MkdirAll(filepath.Join(f.tplDir, name), 0o755))
	}
	return f
}

func (f *fixture) seqFile(name string) string { return filepath.Join(f.seqDir, name+".yaml") }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const goodConfig = `database_url: "sqlite:drip.db"
http:
  listen: "127.0.0.1:8080"
  api_token: "tok"
  public_url: "https://drip.example.com"
workers: 4
sequences_dir: "SEQDIR"
templates_dir: "TPLDIR"
senders:
  - name: maria
    from: "Maria Rossi <maria@example.com>"
    smtp: { host: smtp.example.com, tls: tls, username: maria, password: "" }
    imap: { host: imap.example.com, username: maria }
`

const goodSequence = `name: fair
steps: 3
interval: 10d
first_step_after: 0
timezone: Europe/Rome
window: { days: [tue, wed], from: "09:30", to: "10:30" }
templates: fair
`

// problems runs Load and returns its problem lines; it fails the test when
// Load returned an error of another kind.
func problems(t *testing.T, path string) []string {
	t.Helper()
	_, err := Load(path)
	if err == nil {
		return nil
	}
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load: error of type %T, want *Problems: %v", err, err)
	}
	return ps.List
}

func wantProblem(t *testing.T, got []string, want string) {
	t.Helper()
	for _, p := range got {
		if strings.HasPrefix(p, want) {
			return
		}
	}
	t.Errorf("no problem starting with\n  %s\ngot:\n  %s", want, strings.Join(got, "\n  "))
}

func TestLoadGoodConfigWithDefaults(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": goodSequence})
	c, err := Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := c.Sender("maria")
	if !ok || c.DefaultSender() != s {
		t.Fatalf("Sender(maria) = %v, %v; want the default sender", s, ok)
	}
	if s.SMTP.Port != 465 || s.IMAP.Port != 993 || s.IMAP.TLS != "tls" || s.IMAP.Mailbox != "INBOX" {
		t.Errorf("defaults by tls mode: smtp port %d, imap port %d tls %q mailbox %q; want 465, 993, tls, INBOX",
			s.SMTP.Port, s.IMAP.Port, s.IMAP.TLS, s.IMAP.Mailbox)
	}
	if s.SMTP.Connections != 4 {
		t.Errorf("smtp.connections = %d, want workers (4)", s.SMTP.Connections)
	}
	if c.Engine.Lease.Approx() != 5*time.Minute || c.Engine.Batch != 100 || c.Engine.MaxBodyBytes != 32<<20 {
		t.Errorf("engine defaults: lease %v batch %d max body %d", c.Engine.Lease, c.Engine.Batch, c.Engine.MaxBodyBytes)
	}
	seq := c.Sequences["fair"]
	if seq == nil {
		t.Fatalf("sequence fair not loaded; have %v", c.SequenceNames())
	}
	if seq.Location == nil || seq.Location.String() != "Europe/Rome" {
		t.Errorf("Location = %v, want Europe/Rome", seq.Location)
	}
	if seq.Gap() != 5*24*time.Hour {
		t.Errorf("Gap() = %v, want interval/2", seq.Gap())
	}
	if !seq.Window.Allows(time.Tuesday) || seq.Window.Allows(time.Monday) || seq.Window.From != 9*60+30 {
		t.Errorf("window = %+v", seq.Window)
	}
}

func TestUnknownKeyInConfigNamesFileAndLine(t *testing.T) {
	f := newFixture(t, strings.Replace(goodConfig, "workers: 4", "workrs: 4", 1), map[string]string{"fair": goodSequence})
	wantProblem(t, problems(t, f.file), f.file+`:6: unknown key "workrs" (did you mean "workers"?)`)
}

func TestUnknownNestedKeyInConfig(t *testing.T) {
	cfg := strings.Replace(goodConfig, "tls: tls, username", "tsl: tls, username", 1)
	f := newFixture(t, cfg, map[string]string{"fair": goodSequence})
	wantProblem(t, problems(t, f.file), f.file+`:12: unknown key "tsl" (did you mean "tls"?)`)
}

func TestUnknownKeyInSequence(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": goodSequence + "treads: true\n"})
	wantProblem(t, problems(t, f.file), f.seqFile("fair")+`:8: unknown key "treads" (did you mean "thread"?)`)
}

func TestBadDurationNamesKeyAndLine(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": strings.Replace(goodSequence, "10d", "10 days", 1)})
	got := problems(t, f.file)
	wantProblem(t, got, f.seqFile("fair")+`:3: interval: invalid duration "10 days"`)
	for _, p := range got {
		if strings.Contains(p, "interval: must be more than 0") {
			t.Errorf("a value that failed to decode is reported twice: %s", p)
		}
	}
}

func TestBadValuesInFlowMappingNameTheirKey(t *testing.T) {
	cfg := strings.Replace(goodConfig, "imap: { host: imap.example.com, username: maria }",
		"imap: { host: imap.example.com, port: abc, poll: 5 minutes }", 1)
	f := newFixture(t, cfg, map[string]string{"fair": goodSequence})
	got := problems(t, f.file)
	wantProblem(t, got, f.file+`:13: senders[0].imap.port: expected a whole number, got text "abc"`)
	wantProblem(t, got, f.file+`:13: senders[0].imap.poll: invalid duration "5 minutes"`)
}

func TestBadTimezone(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": strings.Replace(goodSequence, "Europe/Rome", "Europe/Roma", 1)})
	wantProblem(t, problems(t, f.file), f.seqFile("fair")+`:5: timezone: unknown time zone "Europe/Roma"`)
}

func TestWindowFromNotBeforeTo(t *testing.T) {
	for _, w := range []string{`from: "10:30", to: "09:30"`, `from: "10:30", to: "10:30"`} {
		seq := strings.Replace(goodSequence, `from: "09:30", to: "10:30"`, w, 1)
		f := newFixture(t, goodConfig, map[string]string{"fair": seq})
		wantProblem(t, problems(t, f.file), f.seqFile("fair")+`:6: window: from 10:30 must be before to `)
	}
}

func TestBadWeekdayAndTimeOfDay(t *testing.T) {
	seq := strings.Replace(goodSequence, `days: [tue, wed], from: "09:30"`, `days: [tue, wod], from: "9.30"`, 1)
	f := newFixture(t, goodConfig, map[string]string{"fair": seq})
	got := problems(t, f.file)
	wantProblem(t, got, f.seqFile("fair")+`:6: window.days[1]: invalid weekday "wod"`)
	wantProblem(t, got, f.seqFile("fair")+`:6: window.from: invalid time of day "9.30"`)
}

func TestZeroStepsPointsAtTheStepsLine(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": strings.Replace(goodSequence, "steps: 3", "steps: 0", 1)})
	wantProblem(t, problems(t, f.file), f.seqFile("fair")+`:2: steps: must be 1..1000, got 0`)
}

func TestSequenceNameMustMatchFile(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": strings.Replace(goodSequence, "name: fair", "name: fiera", 1)})
	wantProblem(t, problems(t, f.file), f.seqFile("fair")+`:1: name: "fiera" differs from the file's name "fair"`)
}

func TestMissingTemplatesFolder(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": goodSequence})
	must(t, os.Remove(filepath.Join(f.tplDir, "fair")))
	wantProblem(t, problems(t, f.file), f.seqFile("fair")+`:7: templates: no folder`)
}

func TestEveryProblemIsReported(t *testing.T) {
	cfg := strings.NewReplacer(
		`"sqlite:drip.db"`, `"mysql://x"`,
		`"https://drip.example.com"`, `"drip.example.com"`,
		`"Maria Rossi <maria@example.com>"`, `"Maria Rossi"`,
		"tls: tls,", "tls: ssl,",
		"workers: 4", "workers: -1",
	).Replace(goodConfig)
	seq := strings.NewReplacer("steps: 3", "steps: 5000", "10d", "0", "Europe/Rome", "Mars/Olympus").Replace(goodSequence)
	f := newFixture(t, cfg, map[string]string{"fair": seq, "other": "name: other\nsteps: 2\ninterval: 1w\nbogus: 1\n"})
	got := problems(t, f.file)
	for _, want := range []string{
		f.file + `:1: database_url: must start with "sqlite:" or "postgres://"`,
		f.file + `:5: http.public_url: expected an absolute http(s) URL`,
		f.file + `:6: workers: must be at least 1`,
		f.file + `:11: senders[0].from: "Maria Rossi" is not an address`,
		f.file + `:12: senders[0].smtp.tls: "ssl": use starttls, tls or none`,
		f.seqFile("fair") + `:2: steps: must be 1..1000`,
		f.seqFile("fair") + `:3: interval: must be more than 0`,
		f.seqFile("fair") + `:5: timezone: unknown time zone "Mars/Olympus"`,
		f.seqFile("other") + `:4: unknown key "bogus"`,
	} {
		wantProblem(t, got, want)
	}
	if len(got) != 9 {
		t.Errorf("got %d problems, want 9:\n  %s", len(got), strings.Join(got, "\n  "))
	}
}

func TestEnvironmentOverridesWin(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": goodSequence})
	t.Setenv("DRIP_DATABASE_URL", "postgres://drip:pw@db.internal/drip?sslmode=disable")
	t.Setenv("DRIP_WORKERS", "16")
	t.Setenv("DRIP_HTTP_API_TOKEN", "from-env")
	t.Setenv("DRIP_SENDERS_MARIA_SMTP_PASSWORD", "smtp-secret")
	t.Setenv("DRIP_SENDERS_MARIA_SMTP_PORT", "2525")
	t.Setenv("DRIP_SENDERS_MARIA_IMAP_PASSWORD", "imap-secret")
	t.Setenv("DRIP_ENGINE_INSTANCE_NAME", "node-7")
	t.Setenv("DRIP_HTTP_LISTEN", "") // empty counts as unset
	c, err := Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	s := c.DefaultSender()
	for _, tc := range []struct{ name, got, want string }{
		{"database_url", c.DatabaseURL, "postgres://drip:pw@db.internal/drip?sslmode=disable"},
		{"http.api_token", c.HTTP.APIToken, "from-env"},
		{"http.listen", c.HTTP.Listen, "127.0.0.1:8080"},
		{"smtp.password", s.SMTP.Password, "smtp-secret"},
		{"imap.password", s.IMAP.Password, "imap-secret"},
		{"engine.instance_name", c.Engine.InstanceName, "node-7"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if c.Workers != 16 || s.SMTP.Port != 2525 {
		t.Errorf("workers = %d, smtp.port = %d; want 16, 2525", c.Workers, s.SMTP.Port)
	}
}

func TestEnvironmentProblemsNameTheVariable(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": goodSequence})
	t.Setenv("DRIP_WORKERS", "many")
	t.Setenv("DRIP_SENDERS_MARIA_SMTP_TLS", "ssl")
	t.Setenv("DRIP_SENDERS_MARIO_SMTP_PASSWORD", "x")
	got := problems(t, f.file)
	wantProblem(t, got, `$DRIP_WORKERS: workers: expected a whole number, got "many"`)
	wantProblem(t, got, `$DRIP_SENDERS_MARIA_SMTP_TLS: senders[0].smtp.tls: "ssl": use starttls, tls or none`)
	wantProblem(t, got, `$DRIP_SENDERS_MARIO_SMTP_PASSWORD: matches no sender's setting`)
}

func TestSenderEnvironmentName(t *testing.T) {
	if got := EnvName("maria-rossi_2"); got != "MARIA_ROSSI_2" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestSecretsNeverAppearInProblems(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, tc := range []struct{ name, config string }{
		{"unparsable postgres URL", strings.Replace(goodConfig, `"sqlite:drip.db"`, `"postgres://drip:`+secret+`@db/x%zz"`, 1)},
		{"wrong scheme", strings.Replace(goodConfig, `"sqlite:drip.db"`, `"mysql://drip:`+secret+`@db/x"`, 1)},
		{"no scheme", strings.Replace(goodConfig, `"sqlite:drip.db"`, `"drip:`+secret+`@db/x"`, 1)},
		{"password as a list", strings.Replace(goodConfig, `password: ""`, `password: [`+secret+`]`, 1)},
		{"misspelt password key", strings.Replace(goodConfig, `password: ""`, `pasword: `+secret, 1)},
		{"token as a mapping", strings.Replace(goodConfig, `api_token: "tok"`, `api_token: {a: `+secret+`}`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.config, map[string]string{"fair": goodSequence})
			_, err := Load(f.file)
			if err == nil {
				t.Fatal("Load accepted the configuration")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the secret appears in:\n%v", err)
			}
		})
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": goodSequence})
	t.Setenv("DRIP_DATABASE_URL", "postgres://drip:dbpass@db/drip?sslmode=disable")
	t.Setenv("DRIP_SENDERS_MARIA_SMTP_PASSWORD", "smtppass")
	t.Setenv("DRIP_SENDERS_MARIA_IMAP_PASSWORD", "imappass")
	t.Setenv("DRIP_HTTP_UNSUBSCRIBE_SECRET", "hmackey")
	c, err := Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	s := c.DefaultSender()
	for _, printed := range []string{c.String(), s.SMTP.String(), s.IMAP.String(), c.HTTP.String(),
		RedactURL("postgres://u@db/x?password=dbpass")} {
		for _, secret := range []string{"dbpass", "smtppass", "imappass", "hmackey", `"tok"`, "api_token: tok"} {
			if strings.Contains(printed, secret) {
				t.Errorf("%q appears in %s", secret, printed)
			}
		}
	}
	if !strings.Contains(c.String(), "postgres://drip:xxxxx@db/drip") {
		t.Errorf("String() does not show the redacted database URL:\n%s", c)
	}
	if s.SMTP.Password != "smtppass" {
		t.Error("Redacted changed the original configuration")
	}
}

func TestSyntaxErrorNamesLine(t *testing.T) {
	f := newFixture(t, goodConfig+"  - name: [unclosed\n", map[string]string{"fair": goodSequence})
	got := problems(t, f.file)
	if len(got) != 1 || !strings.HasPrefix(got[0], f.file+":") {
		t.Errorf("got %q, want one problem at a line of %s", got, f.file)
	}
}

func TestMissingFile(t *testing.T) {
	got := problems(t, filepath.Join(t.TempDir(), "nope.yaml"))
	if len(got) != 1 || !strings.Contains(got[0], "nope.yaml: cannot read: no such file or directory") {
		t.Errorf("got %q", got)
	}
}

// TestShippedConfigLoads loads configs/drip.yaml and configs/sequences as
// shipped, from the project folder as drip runs.
func TestShippedConfigLoads(t *testing.T) {
	t.Chdir("..")
	c, err := Load("configs/drip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tf := c.Sequences["trade-fair"]
	if tf == nil || tf.Steps != 60 || tf.Interval != (Span{Days: 10}) || tf.FirstStepAfter != (Span{Days: 10}) ||
		tf.Gap() != 5*24*time.Hour || !tf.Thread || tf.Location.String() != "Europe/Rome" {
		t.Fatalf("trade-fair = %+v", tf)
	}
	if w := tf.Window; w == nil || len(w.Days) != 3 || w.From.String() != "09:30" || w.To.String() != "10:30" {
		t.Errorf("trade-fair window = %+v", tf.Window)
	}
	fi := c.Sequences["fiera"]
	if fi == nil || fi.Steps != 8 || fi.FirstStepAfter != (Span{Days: 1}) || len(fi.Window.Days) != 5 {
		t.Errorf("fiera = %+v", fi)
	}
	if s := c.DefaultSender(); s == nil || s.Name != "maria" || s.Address().Address != "maria@example.com" {
		t.Errorf("default sender = %+v", s)
	}
}

func TestSendersAndWindowDays(t *testing.T) {
	cfg := goodConfig + `  - name: maria
    from: "Maria Bis <maria2@example.com>"
    smtp: { host: smtp.example.com }
  - name: Luca
    from: "luca@example.com"
    smtp: { host: smtp.example.com }
`
	seq := strings.Replace(goodSequence, "days: [tue, wed], ", "days: [], ", 1)
	f := newFixture(t, cfg, map[string]string{"fair": seq})
	got := problems(t, f.file)
	wantProblem(t, got, f.file+`:14: senders[1].name: "maria" is also the name of senders[0]`)
	wantProblem(t, got, f.file+`:17: senders[2].name: "Luca": use lower-case letters`)
	wantProblem(t, got, f.seqFile("fair")+`:6: window.days: empty`)
	if len(got) != 3 {
		t.Errorf("got %d problems, want 3:\n  %s", len(got), strings.Join(got, "\n  "))
	}
}
