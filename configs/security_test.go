package configs

import (
	"strings"
	"testing"
)

func TestWeakSecret(t *testing.T) {
	for _, c := range []struct {
		secret string
		weak   bool
	}{
		{"", true}, {"   ", true}, {"change-me", true}, {"CHANGE-ME", true},
		{"23-characters-long-toke", true}, {"24-characters-long-token", false},
		{"Zq3vN8r1Lk0pW5sT7yB2mX9cQ4", false},
	} {
		if got := WeakSecret(c.secret) != ""; got != c.weak {
			t.Errorf("WeakSecret(%q) weak = %v, want %v", c.secret, got, c.weak)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true, "127.0.0.2:1": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.168.1.10:8080": false,
		"drip.example.com:80": false, "garbage": false,
	} {
		if got := LoopbackOnly(listen); got != want {
			t.Errorf("LoopbackOnly(%q) = %v, want %v", listen, got, want)
		}
	}
}

// TestSpanOverflowRefused: spans whose arithmetic would overflow are
// refused where they are written, with file and line, instead of silently
// skipping steps.
func TestSpanOverflowRefused(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": strings.Replace(goodSequence, "10d", "2562047h", 1)})
	wantProblem(t, problems(t, f.file), f.seqFile("fair")+`:3: interval: invalid duration "2562047h": longer than 36525 days`)

	long := strings.Replace(strings.Replace(goodSequence, "10d", "100w", 1), "steps: 3", "steps: 1000", 1)
	f = newFixture(t, goodConfig, map[string]string{"fair": long})
	wantProblem(t, problems(t, f.file), f.seqFile("fair")+`:3: interval: 700d × 1000 steps after first_step_after`)
}

// TestPlaintextAuthOffLoopbackRefused: a username with tls: none to a
// server off this machine is refused, naming the key and line, unless
// allow_plaintext_auth says so (per sender or for all).
func TestPlaintextAuthOffLoopbackRefused(t *testing.T) {
	cfg := strings.Replace(goodConfig, "tls: tls, username", "tls: none, username", 1)
	f := newFixture(t, cfg, map[string]string{"fair": goodSequence})
	wantProblem(t, problems(t, f.file), f.file+":12: senders[0].smtp.tls: none with a username: the password would cross the network to smtp.example.com in clear")

	allowed := strings.Replace(cfg, "senders:\n", "allow_plaintext_auth: true\nsenders:\n", 1)
	f = newFixture(t, allowed, map[string]string{"fair": goodSequence})
	if got := problems(t, f.file); len(got) != 0 {
		t.Fatalf("allow_plaintext_auth: true, still: %q", got)
	}
	local := strings.Replace(cfg, "host: smtp.example.com", "host: 127.0.0.1", 1)
	f = newFixture(t, local, map[string]string{"fair": goodSequence})
	if got := problems(t, f.file); len(got) != 0 {
		t.Fatalf("plain AUTH to loopback refused: %q", got)
	}
}
