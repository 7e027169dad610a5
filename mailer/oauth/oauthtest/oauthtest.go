// Package oauthtest is a small OAuth2 authorization server for tests, run
// in process: the authorization-code flow with PKCE (approved at once, as
// if the user clicked "Allow"), the device flow (approved by the test),
// refresh with strict rotation (a refresh token works once), revocation,
// and token introspection (RFC 7662) for Dovecot's oauth2 passdb.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	Addr     string // listen address; default 127.0.0.1:0
	ClientID string // default "drip-test"
	// ClientSecret, when set, is required at the token endpoint.
	ClientSecret string
	User         string        // who approves; default "drip"
	TokenTTL     time.Duration // access token lifetime; default 1h
}

type grant struct {
	id      int
	user    string
	revoked bool
	refresh string // the one refresh token that works now
}

type access struct {
	g   *grant
	exp time.Time
}

// Server is a running authorization server.
type Server struct {
	opts Options
	ln   net.Listener
	srv  *http.Server

	mu             sync.Mutex
	grants         []*grant
	tokens         map[string]access
	codes          map[string]pending // authorization codes
	devices        map[string]*device // by device_code
	issued         []string           // every token issued (secrets a test greps for)
	refreshes      int
	reuses         int // refresh tokens presented after they were spent
	introspections int
}

type pending struct {
	challenge, redirect string
}

type device struct {
	userCode string
	approved bool
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.ClientID == "" {
		opts.ClientID = "drip-test"
	}
	if opts.User == "" {
		opts.User = "drip"
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("oauthtest: %w", err)
	}
	s := &Server{opts: opts, ln: ln, tokens: map[string]access{}, codes: map[string]pending{}, devices: map[string]*device{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /device", s.device)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /introspect", s.introspect)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// AuthURL, TokenURL, DeviceURL and IntrospectURL are its endpoints.
func (s *Server) AuthURL() string       { return s.URL() + "/authorize" }
func (s *Server) TokenURL() string      { return s.URL() + "/token" }
func (s *Server) DeviceURL() string     { return s.URL() + "/device" }
func (s *Server) IntrospectURL() string { return s.URL() + "/introspect" }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

func secret(prefix string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Issue makes a grant for user directly (as if connected) and returns its
// access and refresh tokens.
func (s *Server) Issue(user string) (accessToken, refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &grant{id: len(s.grants) + 1, user: user}
	s.grants = append(s.grants, g)
	a, r, _ := s.mint(g)
	return a, r
}

// mint issues a new access token and refresh token for g (mu held).
func (s *Server) mint(g *grant) (accessToken, refreshToken string, ttl time.Duration) {
	accessToken, refreshToken = secret("at-"), secret("rt-")
	s.tokens[accessToken] = access{g: g, exp: time.Now().Add(s.opts.TokenTTL)}
	g.refresh = refreshToken
	s.issued = append(s.issued, accessToken, refreshToken)
	return accessToken, refreshToken, s.opts.TokenTTL
}

// Revoke revokes every grant of user, as a password change or an admin
// would: its access tokens stop working, its refresh token answers
// invalid_grant.
func (s *Server) Revoke(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants {
		if g.user == user {
			g.revoked = true
		}
	}
}

// ExpireAccessTokens makes every access token issued so far invalid (their
// grants stay).
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, a := range s.tokens {
		a.exp = time.Now().Add(-time.Second)
		s.tokens[k] = a
	}
}

// LiveRefreshTokens are the refresh tokens the server would accept now.
func (s *Server) LiveRefreshTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, g := range s.grants {
		if !g.revoked && g.refresh != "" {
			out = append(out, g.refresh)
		}
	}
	return out
}

// Issued lists every token issued so far.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Counts: refreshes done, spent refresh tokens presented again, and
// introspection requests (Dovecot checking a token).
func (s *Server) Counts() (refreshes, reuses, introspections int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes, s.reuses, s.introspections
}

// ApproveDevice approves the device sign-in showing userCode, as the user
// would on the verification page. It reports whether the code was known.
func (s *Server) ApproveDevice(userCode string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if d.userCode == userCode {
			d.approved = true
			return true
		}
	}
	return false
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != s.opts.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case err != nil || redirect.Host == "":
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "PKCE (S256) required", http.StatusBadRequest)
		return
	}
	code := secret("code-")
	s.mu.Lock()
	s.codes[code] = pending{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	s.mu.Unlock()
	v := redirect.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) device(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("client_id") != s.opts.ClientID {
		oauthError(w, "invalid_client")
		return
	}
	dc := secret("dc-")
	uc := fmt.Sprintf("%04X-%04X", randN(), randN())
	s.mu.Lock()
	s.devices[dc] = &device{userCode: uc}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"device_code": dc, "user_code": uc,
		"verification_uri": s.URL() + "/activate", "expires_in": 300, "interval": 1})
}

func randN() int {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return int(b[0])<<8 | int(b[1])
}

func (s *Server) clientOK(r *http.Request) bool {
	id, sec, ok := r.BasicAuth()
	if !ok {
		id, sec = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	return id == s.opts.ClientID && (s.opts.ClientSecret == "" || sec == s.opts.ClientSecret)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !s.clientOK(r) {
		oauthError(w, "invalid_client")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *grant
	switch r.PostFormValue("grant_type") {
	case "authorization_code":
		p, ok := s.codes[r.PostFormValue("code")]
		delete(s.codes, r.PostFormValue("code"))
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || p.redirect != r.PostFormValue("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge {
			oauthError(w, "invalid_grant")
			return
		}
		g = &grant{id: len(s.grants) + 1, user: s.opts.User}
		s.grants = append(s.grants, g)
	case "urn:ietf:params:oauth:grant-type:device_code":
		d, ok := s.devices[r.PostFormValue("device_code")]
		switch {
		case !ok:
			oauthError(w, "expired_token")
			return
		case !d.approved:
			oauthError(w, "authorization_pending")
			return
		}
		delete(s.devices, r.PostFormValue("device_code"))
		g = &grant{id: len(s.grants) + 1, user: s.opts.User}
		s.grants = append(s.grants, g)
	case "refresh_token":
		rt := r.PostFormValue("refresh_token")
		for _, x := range s.grants {
			if x.refresh == rt && !x.revoked {
				g = x
			}
		}
		if g == nil {
			s.reuses++
			oauthError(w, "invalid_grant")
			return
		}
		s.refreshes++
	default:
		oauthError(w, "unsupported_grant_type")
		return
	}
	at, rt, ttl := s.mint(g)
	writeJSON(w, map[string]any{"access_token": at, "refresh_token": rt, "token_type": "Bearer",
		"expires_in": int(ttl / time.Second)})
}

// introspect answers RFC 7662 with the user as "username" (Dovecot's
// username_attribute) and "active".
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	tok := r.PostFormValue("token")
	s.mu.Lock()
	s.introspections++
	a, ok := s.tokens[tok]
	active := ok && !a.g.revoked && time.Now().Before(a.exp)
	s.mu.Unlock()
	if !active {
		writeJSON(w, map[string]any{"active": false})
		return
	}
	writeJSON(w, map[string]any{"active": true, "username": a.g.user, "scope": "mail", "token_type": "Bearer"})
}

func oauthError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
