package configs

import (
	"strings"
	"testing"
	"time"
)

func TestHTTPListenersAndLimits(t *testing.T) {
	f := newFixture(t, goodConfig, map[string]string{"fair": goodSequence})
	c, err := Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTTP
	if h.PublicListen != "" || h.MetricsToken != "" {
		t.Errorf("public_listen %q, metrics_token set: want both empty by default", h.PublicListen)
	}
	if h.ReadHeaderTimeout.Approx() != 10*time.Second || h.ReadTimeout.Approx() != 2*time.Minute ||
		h.WriteTimeout.Approx() != 5*time.Minute || h.IdleTimeout.Approx() != 2*time.Minute || h.MaxConnections != DefaultMaxConnections {
		t.Errorf("http defaults: %+v", h)
	}

	set := strings.Replace(goodConfig, `  api_token: "tok"`, `  api_token: "tok"
  public_listen: "0.0.0.0:8081"
  metrics_token: "scrape-me"
  read_timeout: 30s
  max_connections: 50`, 1)
	f = newFixture(t, set, map[string]string{"fair": goodSequence})
	if c, err = Load(f.file); err != nil {
		t.Fatal(err)
	}
	if c.HTTP.PublicListen != "0.0.0.0:8081" || c.HTTP.ReadTimeout.Approx() != 30*time.Second || c.HTTP.MaxConnections != 50 {
		t.Errorf("set values not loaded: %+v", c.HTTP)
	}
	for _, printed := range []string{c.String(), c.HTTP.String()} {
		if strings.Contains(printed, "scrape-me") {
			t.Errorf("the metrics token is printed: %s", printed)
		}
	}

	for _, tc := range []struct{ set, want string }{
		{`  public_listen: "8081"`, `http.public_listen: expected host:port`},
		{`  public_listen: "127.0.0.1:8080"`, `http.public_listen: "127.0.0.1:8080" is also http.listen`},
		{`  metrics_token: " tok "`, `http.metrics_token: starts or ends with white space`},
		{`  max_connections: -1`, `http.max_connections: must be at least 1, got -1`},
	} {
		cfg := strings.Replace(goodConfig, `  api_token: "tok"`, `  api_token: "tok"`+"\n"+tc.set, 1)
		f := newFixture(t, cfg, map[string]string{"fair": goodSequence})
		got := problems(t, f.file)
		found := false
		for _, p := range got {
			found = found || strings.Contains(p, tc.want)
		}
		if !found {
			t.Errorf("%s: no problem containing %q; got %q", tc.set, tc.want, got)
		}
		if strings.Contains(strings.Join(got, "\n"), " tok ") {
			t.Errorf("a problem echoes the metrics token: %q", got)
		}
	}

	t.Setenv("DRIP_HTTP_PUBLIC_LISTEN", "127.0.0.1:9090")
	t.Setenv("DRIP_HTTP_MAX_CONNECTIONS", "7")
	f = newFixture(t, goodConfig, map[string]string{"fair": goodSequence})
	if c, err = Load(f.file); err != nil {
		t.Fatal(err)
	}
	if c.HTTP.PublicListen != "127.0.0.1:9090" || c.HTTP.MaxConnections != 7 {
		t.Errorf("environment overrides: public_listen %q max_connections %d", c.HTTP.PublicListen, c.HTTP.MaxConnections)
	}
}

func TestLoopbackAndTheWarning(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true, "127.0.0.2:1": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.168.1.10:8080": false,
		"drip.example.com:8080": false, "nonsense": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
	c := &Config{File: "drip.yaml", HTTP: HTTP{Listen: "127.0.0.1:8080"}}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("loopback http.listen warns: %q", w)
	}
	c.HTTP.Listen = "0.0.0.0:8080"
	w := c.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "http.listen 0.0.0.0:8080 is not a loopback address") ||
		!strings.Contains(w[0], "http.public_listen") {
		t.Errorf("warnings for 0.0.0.0: %q", w)
	}
}
