package configs

import "testing"

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
