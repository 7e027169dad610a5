package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
)

// secretsIn reports which of the secrets appear in s.
func secretsIn(s string, secrets ...string) []string {
	var found []string
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			found = append(found, sec)
		}
	}
	return found
}

// wrongToken is what a caller without the token sends; logging it would
// be as bad as logging the real one (it may be a mistyped real one).
const wrongToken = "api-wrong-Wn4cV7eJ"

// TestLogsFormatsAndNoSecrets runs the live scenario (SMTP AUTH refused
// for one sender, IMAP LOGIN refused for the same, a bounce, replies, API
// calls with a right and a wrong token) at debug level in both formats,
// and reads every line serve logged: well-formed, and no secret in any.
func TestLogsFormatsAndNoSecrets(t *testing.T) {
	textLine := regexp.MustCompile(`^time=\S+ level=(DEBUG|INFO|WARN|ERROR) msg=`)
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			l := newLive(t, liveOptions{logFormat: format, logLevel: "debug"})
			runScenario(t, l)
			if code := l.get("/api/v1/prospects/slow0@slow.example", secretAPIToken); code != http.StatusOK {
				t.Errorf("GET a prospect with the token: %d", code)
			}
			if code := l.get("/api/v1/prospects/slow0@slow.example", wrongToken); code != http.StatusUnauthorized {
				t.Errorf("GET a prospect with a wrong token: %d", code)
			}
			if err := l.stop(); err != nil {
				t.Fatalf("serve: %v", err)
			}
			out := l.logs.String()

			// The failures happened and were logged, so the scan below
			// covers the lines that carry the servers' answers.
			for _, want := range []string{"sender held: its sends wait", "535", "AUTHENTICATIONFAILED", "drip serving", "stopped"} {
				if !strings.Contains(out, want) {
					t.Errorf("no log line mentions %q", want)
				}
			}
			if leaked := secretsIn(out, secretSMTP, secretSMTPWrong, secretIMAP, secretIMAPWrong, secretAPIToken, wrongToken, secretUnsub); len(leaked) > 0 {
				t.Errorf("the log shows secrets %q", leaked)
			}

			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if len(lines) < 10 {
				t.Fatalf("only %d log lines", len(lines))
			}
			for i, line := range lines {
				switch format {
				case "json":
					if err := checkJSONLine(line); err != nil {
						t.Errorf("line %d: %v: %s", i+1, err, line)
					}
				case "text":
					if !textLine.MatchString(line) {
						t.Errorf("line %d is not time=… level=… msg=…: %s", i+1, line)
					}
					if strings.Contains(line, "sender=piotr sender=piotr") {
						t.Errorf("line %d repeats a key: %s", i+1, line)
					}
				}
			}
			t.Logf("%s: %d lines, %d bytes", format, len(lines), len(out))
		})
	}
}

// checkJSONLine wants one JSON object with time, level and msg, each key
// once (a repeated key is legal JSON that most tools silently collapse).
func checkJSONLine(line string) error {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not a JSON object")
	}
	seen := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if _, dup := seen[key]; dup {
			return fmt.Errorf("key %q twice", key)
		}
		seen[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("more than one value on the line")
	}
	if ts, ok := seen["time"].(string); !ok {
		return fmt.Errorf("no time")
	} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		return fmt.Errorf("time %q: %v", ts, err)
	}
	switch seen["level"] {
	case "DEBUG", "INFO", "WARN", "ERROR":
	default:
		return fmt.Errorf("level %v", seen["level"])
	}
	if msg, ok := seen["msg"].(string); !ok || msg == "" {
		return fmt.Errorf("no msg")
	}
	return nil
}

// writeMinimalConfig writes a configuration with one sender on a port
// nothing listens on and the given store, and returns its path.
func writeMinimalConfig(t *testing.T, dbURL string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`database_url: %q
http: { listen: "127.0.0.1:0", api_token: %q, public_url: "https://drip.example.com" }
sequences_dir: %q
templates_dir: %q
senders:
  - name: maria
    from: "Maria Rossi <maria@example.com>"
    smtp: { host: 127.0.0.1, port: 1, tls: none, username: maria, password: %q }
`, dbURL, secretAPIToken, filepath.Join(dir, "sequences"), filepath.Join(dir, "templates"), secretSMTP)
	if err := writeConfigDir(dir, mergeFiles(liveSequences, map[string]string{"drip.yaml": cfg}), nil); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "drip.yaml")
}

// TestLogsStoreErrorHidesTheDatabasePassword: serve (and every command)
// pointed at a PostgreSQL that does not answer says so in one line on
// stderr, without the password, wherever the URL carries it.
func TestLogsStoreErrorHidesTheDatabasePassword(t *testing.T) {
	const secret = "pg-pass-Yb5hQ3zS"
	for _, dsn := range []string{
		"postgres://drip:" + secret + "@127.0.0.1:1/drip?sslmode=disable&connect_timeout=5",
		"postgres://drip@127.0.0.1:1/drip?password=" + secret + "&sslmode=disable&connect_timeout=5",
	} {
		config := writeMinimalConfig(t, dsn)
		for _, args := range [][]string{
			{"serve", "--log-format", "json"},
			{"serve", "--log-format", "text", "--log-level", "debug"},
			{"migrate"},
			{"status"},
		} {
			var stdout, stderr bytes.Buffer
			code := run(append(args, "-c", config), &stdout, &stderr)
			all := stdout.String() + stderr.String()
			if code != 1 || strings.Count(strings.TrimRight(stderr.String(), "\n"), "\n") != 0 || !strings.Contains(all, "127.0.0.1:1") {
				t.Errorf("drip %s with a dead store: exit %d, stderr %q; want exit 1 and one line naming the server", strings.Join(args, " "), code, stderr.String())
			}
			if leaked := secretsIn(all, secret, secretAPIToken, secretSMTP); len(leaked) > 0 {
				t.Errorf("drip %s with %s: the output shows %q: %s", strings.Join(args, " "), strings.Replace(dsn, secret, "SECRET", 1), leaked, all)
			}
		}
	}
}

// TestLogsBadFlags: an unknown format or level is a usage error naming
// the flag, before anything runs.
func TestLogsBadFlags(t *testing.T) {
	config := writeMinimalConfig(t, testrig.SQLiteURL(t))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--log-format", "xml"}, `drip serve: --log-format "xml": use text or json`},
		{[]string{"serve", "--log-level", "loud"}, `drip serve: --log-level "loud": use debug, info, warn or error`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append(c.args, "-c", config), &stdout, &stderr)
		if code != 2 || !strings.HasPrefix(stderr.String(), c.want) {
			t.Errorf("drip %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), code, stderr.String(), c.want)
		}
	}
}
