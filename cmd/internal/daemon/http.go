package daemon

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"

	"golang.org/x/net/netutil"

	"github.com/drip-email/drip/configs"
)

// listener is one HTTP server and the socket it serves.
type listener struct {
	name string // the config key, for messages: http.listen, http.public_listen
	srv  *http.Server
	ln   net.Listener
}

// listen binds addr and caps its connections at http.max_connections:
// past the cap, new connections wait in the kernel's accept queue until
// one closes, so a flood of slow clients cannot take every file
// descriptor of the process.
func listen(key, addr string, cfg *configs.HTTP, h http.Handler, log *slog.Logger) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", key, addr, err)
	}
	return &listener{name: key, ln: netutil.LimitListener(ln, cfg.MaxConnections), srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.Approx(),
		ReadTimeout:       cfg.ReadTimeout.Approx(),
		WriteTimeout:      cfg.WriteTimeout.Approx(),
		IdleTimeout:       cfg.IdleTimeout.Approx(),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}, nil
}

// publicOnly serves what recipients reach, the unsubscribe links under
// /u/, from h, and answers 404 to everything else: the API, the web UI,
// /metrics and the health probes are not there to be found.
// A path that is not clean (/u/../api/…) is not found either, rather
// than redirected to its clean form.
func publicOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; !strings.HasPrefix(p, "/u/") || path.Clean(p) != p {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// requireToken lets a request through to h only with the token, as a
// bearer token or as the password of basic auth (what Prometheus's
// authorization and basic_auth settings send).
func requireToken(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := "", false
		if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
			got, ok = strings.TrimSpace(auth[7:]), true
		} else if _, pass, basic := r.BasicAuth(); basic {
			got, ok = pass, true
		}
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="drip metrics"`)
			http.Error(w, "missing or wrong metrics token (http.metrics_token)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
