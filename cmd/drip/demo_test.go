package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemo is acceptance 3: `drip demo --duration 20s` runs the whole
// pipeline with nothing installed, exits 0, and its last line reports
// sends, at least one reply and at least one paused prospect.
func TestDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run([]string{"demo", "--duration", "20s"}, &stdout, &stderr)
	took := time.Since(start)
	out := strings.TrimRight(stdout.String(), "\n")
	lines := strings.Split(out, "\n")
	last := lines[len(lines)-1]
	if code != 0 {
		t.Fatalf("drip demo: exit %d\nstderr: %s\nstdout tail: %s", code, stderr.String(), lastLines(lines, 10))
	}
	m := regexp.MustCompile(`^demo: sent=(\d+) replied=(\d+) paused=(\d+)$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line %q is not `demo: sent=N replied=M paused=K`\n%s", last, lastLines(lines, 10))
	}
	sent, _ := strconv.Atoi(m[1])
	replied, _ := strconv.Atoi(m[2])
	paused, _ := strconv.Atoi(m[3])
	if sent <= 0 || replied < 1 || paused < 1 {
		t.Errorf("demo: sent=%d replied=%d paused=%d; want sent > 0, replied >= 1, paused >= 1", sent, replied, paused)
	}
	// The live log shows the pipeline a newcomer is promised: sends, the
	// reply that pauses, the refused address, the stop request.
	for _, want := range []string{"sent       ", "replied: sequence paused", "bounced    old.contact@gone.example", "asked to stop", "/metrics",
		"giulia.esposito@esposito.example         deferred   → out of office, back ",
		"jan.nowicki@nowicki-stal.example         left       → left the company: sequence ended (not suppressed), successor Ewa Mazur <ewa.mazur@nowicki-stal.example>"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's log has no %q", want)
		}
	}
	// Issue 13: it sends like a person: the sender's pace and capacity
	// line up front, and its sends (from the store) never closer than the
	// pace's min.
	if !regexp.MustCompile(`(?m)^sender maria: pace 60ms–180ms between two sends .*: \d+ sends due, its pace lets it send about \d+ \(load \d+%\)$`).MatchString(out) {
		t.Errorf("the demo shows no pace and capacity line for maria\n%s", lastLines(strings.Split(out, "\n")[:min(8, len(lines))], 8))
	}
	g := regexp.MustCompile(`(?m)^sender maria: (\d+) sends, (\S+) to (\S+) apart \(pace 60ms–180ms`).FindStringSubmatch(out)
	if g == nil {
		t.Fatalf("the demo shows no gaps between maria's sends\n%s", lastLines(lines, 5))
	}
	if lo, err := time.ParseDuration(g[2]); err != nil || lo < 60*time.Millisecond {
		t.Errorf("maria's sends were %s apart at the least (%v); want at least the pace's 60ms", g[2], err)
	}
	if took > 60*time.Second {
		t.Errorf("drip demo --duration 20s took %s", took)
	}
	t.Logf("%s in %s; stderr %d bytes", last, took.Round(100*time.Millisecond), stderr.Len())
}

func lastLines(lines []string, n int) string {
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
