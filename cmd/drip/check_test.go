package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
)

func TestCheckPassesOnShippedConfigs(t *testing.T) {
	wd, _ := os.Getwd()
	t.Chdir(filepath.Join(wd, "..", ".."))
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "-c", "configs/drip.yaml"}, &out, &errOut); code != 0 {
		t.Fatalf("drip check on the shipped configs: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "2 sequence(s), 68 step template(s)") {
		t.Errorf("drip check output %q, want it to count the shipped sequences and templates", out.String())
	}
}

// TestCheckReportsFileAndLine: each broken input makes drip check exit 1
// with a line naming the file and line of the problem.
func TestCheckReportsFileAndLine(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(e *cliEnv)
		want   string // regexp of a stderr line
	}{
		{"broken template", func(e *cliEnv) {
			e.write("templates/booth/02.txt", []byte("Subject: hi\n\nHello {{.Prospect.FirstName\n"))
		}, `templates/booth/02\.txt:3: `},
		{"missing template key", func(e *cliEnv) {
			e.write("templates/booth/03.txt", []byte("Subject: hi\n\nline\nYour stand: {{.Prospect.Fields.stand}}\n"))
		}, `templates/booth/03\.txt:4: .*stand`},
		{"unknown field", func(e *cliEnv) {
			e.write("templates/booth/01.txt", []byte("Subject: Hi {{.Prospect.FirstNam}}\n\nbody\n"))
		}, `templates/booth/01\.txt:1: .*FirstNam`},
		{"unknown YAML key", func(e *cliEnv) {
			cfg, _ := os.ReadFile(e.config)
			e.write("drip.yaml", append(cfg, []byte("workrs: 4\n")...))
		}, `drip\.yaml:\d+: unknown key "workrs"`},
		{"unknown key in a sequence", func(e *cliEnv) {
			e.write("sequences/booth.yaml", []byte("name: booth\nsteps: 3\nintervall: 7d\ninterval: 7d\nfirst_step_after: 1d\ntimezone: Europe/Rome\nfields: [booth]\n"))
		}, `sequences/booth\.yaml:3: unknown key "intervall"`},
		{"bad duration", func(e *cliEnv) {
			e.write("sequences/booth.yaml", []byte("name: booth\nsteps: 3\ninterval: 10 days\nfirst_step_after: 1d\ntimezone: Europe/Rome\nfields: [booth]\n"))
		}, `sequences/booth\.yaml:3: interval: invalid duration "10 days"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newCLIEnv(t, testrig.SQLiteURL(t))
			writeBoothTemplates(e)
			if out, errOut, code := e.drip("check"); code != 0 {
				t.Fatalf("the intact config fails check: %s%s", out, errOut)
			}
			c.break_(e)
			_, errOut, code := e.drip("check")
			if code != 1 {
				t.Fatalf("drip check exit %d, want 1\n%s", code, errOut)
			}
			if !regexp.MustCompile(`(?m)` + c.want).MatchString(errOut) {
				t.Errorf("drip check stderr:\n%s\nwant a line matching %s", errOut, c.want)
			}
			if strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "panic") {
				t.Errorf("stack trace in the output:\n%s", errOut)
			}
		})
	}
}

// writeBoothTemplates gives the cliEnv's sequences complete templates.
func writeBoothTemplates(e *cliEnv) {
	for k := 1; k <= 3; k++ {
		e.write(filepath.Join("templates/booth", twoDigits(k)+".txt"), []byte("Subject: Booth {{.Prospect.Fields.booth}}\n\nHi {{.Prospect.FirstName}}\n"))
	}
	for k := 1; k <= 60; k++ {
		e.write(filepath.Join("templates/trade-fair", twoDigits(k)+".txt"), []byte("Subject: step\n\nbody\n"))
	}
}

// TestCheckWarnsWhenTheAPIFacesTheNetwork: http.listen on every interface
// passes check with a warning that names the key and the way out
// (http.public_listen); on loopback there is no warning.
func TestCheckWarnsWhenTheAPIFacesTheNetwork(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	writeBoothTemplates(e)
	_, errOut, code := e.drip("check")
	if code != 0 || strings.Contains(errOut, "loopback") {
		t.Fatalf("loopback listener: exit %d, stderr %q; want 0 and no warning", code, errOut)
	}
	cfg, _ := os.ReadFile(e.config)
	// With a token nobody can guess (a weak one there is a problem; see
	// the security tests).
	wide := strings.Replace(string(cfg), `listen: "127.0.0.1:0"`, `listen: "0.0.0.0:8080"`, 1)
	wide = strings.Replace(wide, `api_token: "t0ken"`, `api_token: "Xq7v2LmP9rT4wZ8kB3nH6yD1"`, 1)
	e.write("drip.yaml", []byte(wide))
	out, errOut, code := e.drip("check")
	if code != 0 || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("0.0.0.0 listener: exit %d, stdout %q; want 0 and ok (a warning, not a problem)\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`(?m)^warning: .*http\.listen 0\.0\.0\.0:8080 is not a loopback address: the API, the web UI and /metrics face .*http\.public_listen`).MatchString(errOut) {
		t.Errorf("stderr %q has no warning about the API facing the network", errOut)
	}
}
