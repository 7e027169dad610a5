package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/password"
	"github.com/drip-email/drip/internal/throttle"
	"github.com/drip-email/drip/store"
)

// Sessions are signed cookies rather than ids in this process's memory:
// several `drip serve` instances may sit behind one address, and a restart
// (a deploy during a fair) must not sign a rep out, who would then have to
// type a long token on a phone again. The cookie holds a random 256-bit
// session id and its expiry, signed with HMAC-SHA256 under a key derived
// from the API token: rotating the token signs everybody out, which is
// what rotating a leaked token should do.
//
// Signing out deletes the cookie and records the session (a hash of its
// id) as revoked in the store until it would have expired: a copy of the
// cookie replayed later, after a restart or to another instance, is
// refused. Every signed-in request reads that record (one primary-key
// lookup); a store that cannot answer signs nobody in.
//
// CSRF tokens are the HMAC of the session id under the same key: bound to
// the session, nothing to store, and one session's token is worthless in
// another.

const (
	sessionCookie = "drip_session"
	csrfField     = "csrf"
	idLen         = 32 // session id bytes: 256 bits
	payloadLen    = idLen + 8
	maxUserLen    = 64 // a user name's bytes, after the payload
)

type session struct {
	id      [idLen]byte
	expires time.Time
	csrf    string
	// user is who signed in with a name and password (drip user add);
	// nil for the API token, which is the ops role.
	user *store.User
}

// ops reports whether the session may do everything (import, every
// prospect): the API token, or a user of role ops.
func (ss *session) ops() bool { return ss.user == nil || ss.user.Role == store.RoleOps }

// senders limits a rep to the prospects of its senders; nil for ops.
func (ss *session) senders() []string {
	if ss.ops() {
		return nil
	}
	return ss.user.Senders
}

type sessions struct {
	key    []byte // nil: no API token is configured and nobody signs in
	token  [sha256.Size]byte
	ttl    time.Duration
	now    func() time.Time
	secure bool

	revoked store.Security // sessions signed out before their expiry
	log     *slog.Logger

	// failures throttles wrong tokens per client address: a guesser gets a
	// handful, then one every 2 seconds; a person who mistyped does not
	// notice, and a locked-out guesser locks out nobody else.
	failures *throttle.Failures
}

func newSessions(apiToken string, ttl time.Duration, now func() time.Time, secure bool, revoked store.Security, log *slog.Logger) *sessions {
	s := &sessions{ttl: ttl, now: now, secure: secure, revoked: revoked, log: log,
		failures: throttle.New(throttle.DefaultBurst, throttle.DefaultEvery, now)}
	if apiToken != "" {
		mac := hmac.New(sha256.New, []byte(apiToken))
		mac.Write([]byte("drip web session key v1"))
		s.key = mac.Sum(nil)
		s.token = sha256.Sum256([]byte(apiToken))
	}
	return s
}

// secureCookies: the cookie is only sent over HTTPS when drip is reached
// through HTTPS (public_url says so; a TLS request says so too, see
// cookieFor).
func secureCookies(cfg *configs.Config) bool {
	u, err := url.Parse(cfg.HTTP.PublicURL)
	return err == nil && strings.EqualFold(u.Scheme, "https")
}

// tokenOK compares a typed token with the API token in constant time; both
// are hashed first so that not even the length shows in the timing.
func (s *sessions) tokenOK(typed string) bool {
	if s.key == nil {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(typed)))
	return subtle.ConstantTimeCompare(got[:], s.token[:]) == 1
}

func (s *sessions) mac(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func (s *sessions) csrfFor(id [idLen]byte) string {
	return base64.RawURLEncoding.EncodeToString(s.mac([]byte("csrf\x00"), id[:]))
}

// start makes a new session and the cookie that carries it; user is ""
// for the API token.
func (s *sessions) start(r *http.Request, user string) (*session, *http.Cookie) {
	ss := &session{expires: s.now().Add(s.ttl).Truncate(time.Second)}
	rand.Read(ss.id[:]) // never fails (crypto/rand panics rather than return an error)
	ss.csrf = s.csrfFor(ss.id)
	payload := make([]byte, payloadLen, payloadLen+len(user))
	copy(payload, ss.id[:])
	binary.BigEndian.PutUint64(payload[idLen:], uint64(ss.expires.Unix()))
	payload = append(payload, user...)
	value := base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(s.mac([]byte("session\x00"), payload))
	c := s.cookie(r, value)
	// MaxAge, not Expires: the browser counts from its own clock.
	c.MaxAge = int(s.ttl / time.Second)
	return ss, c
}

// clearCookie deletes the session cookie.
func (s *sessions) clearCookie(r *http.Request) *http.Cookie {
	c := s.cookie(r, "")
	c.MaxAge = -1
	return c
}

func (s *sessions) cookie(r *http.Request, value string) *http.Cookie {
	return &http.Cookie{
		Name: sessionCookie, Value: value, Path: Prefix + "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secure || r.TLS != nil,
	}
}

// fromRequest is the request's valid session, if any.
func (s *sessions) fromRequest(r *http.Request) (*session, bool) {
	if s.key == nil {
		return nil, false
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	enc, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(payload) < payloadLen || len(payload) > payloadLen+maxUserLen {
		return nil, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac([]byte("session\x00"), payload)) {
		return nil, false
	}
	ss := &session{expires: time.Unix(int64(binary.BigEndian.Uint64(payload[idLen:])), 0)}
	copy(ss.id[:], payload[:idLen])
	if !s.now().Before(ss.expires) {
		return nil, false
	}
	revoked, err := s.revoked.SessionRevoked(r.Context(), idHash(ss.id))
	if err != nil {
		s.log.Error("web: reading revoked sessions failed; treating the session as signed out", "err", err)
		return nil, false
	}
	if revoked {
		return nil, false
	}
	if name := string(payload[payloadLen:]); name != "" {
		// The user's current record: removed, or its password changed
		// since this session began, and the session is over.
		u, err := s.revoked.UserGet(r.Context(), name)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				s.log.Error("web: reading the session's user failed; treating the session as signed out", "err", err)
			}
			return nil, false
		}
		if began := ss.expires.Add(-s.ttl); began.Before(u.UpdatedAt.Truncate(time.Second)) {
			return nil, false
		}
		ss.user = &u
	}
	ss.csrf = s.csrfFor(ss.id)
	return ss, true
}

// checkCSRF compares a form's token with the session's in constant time.
func (s *sessions) checkCSRF(ss *session, got string) bool {
	return ss != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}

// revoke records the session as signed out, for every instance, until it
// would have expired.
func (s *sessions) revoke(ctx context.Context, ss *session) error {
	return s.revoked.SessionRevoke(ctx, idHash(ss.id), ss.expires, s.now())
}

// idHash is how the store knows a session: a hash of its id, so that the
// table of revoked sessions holds nothing that signs anybody in.
func idHash(id [idLen]byte) string {
	sum := sha256.Sum256(id[:])
	return hex.EncodeToString(sum[:])
}

// signinData is the sign-in page.
type signinData struct {
	Next      string
	User      string // the name typed, kept after a wrong password
	Error     string
	NoToken   bool   // no http.api_token is configured: nobody can sign in
	Stay      string // how long a session lasts, in words
	SignedOut bool   // just signed out: say so
}

func (s *server) signinPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	next := r.URL.Query().Get("next")
	if _, ok := s.auth.fromRequest(r); ok {
		// Already signed in: go on.
		if !safeNext(next) {
			next = Prefix + "/enroll"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.renderSignin(w, r, http.StatusOK, signinData{Next: next, SignedOut: r.URL.Query().Get("signedout") == "1"})
}

func (s *server) renderSignin(w http.ResponseWriter, r *http.Request, status int, d signinData) {
	if !safeNext(d.Next) {
		d.Next = ""
	}
	d.NoToken = s.auth.key == nil
	d.Stay = staySignedIn(s.o.SessionTTL)
	s.render(w, r, nil, status, "signin", "Sign in", "", d)
}

// signin checks the token and starts a session. It needs no CSRF token:
// there is no session yet to ride on, and signing a victim in to drip
// gives an attacker nothing (there is one account, and its token is the
// secret itself).
func (s *server) signin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderSignin(w, r, http.StatusBadRequest, signinData{Error: "The form could not be read; try again."})
		return
	}
	next := r.PostFormValue("next")
	client := throttle.ClientAddr(r)
	if s.auth.failures.Blocked(client) {
		// Checked before the token, so that a guesser learns nothing while throttled.
		s.renderSignin(w, r, http.StatusTooManyRequests,
			signinData{Next: next, Error: "Too many wrong tokens; wait a few seconds and try again."})
		return
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	if user != "" {
		if !s.userOK(r, user, r.PostFormValue("token")) {
			s.auth.failures.Fail(client)
			s.log.Warn("web: sign-in refused: wrong name or password", "client", client, "user", user)
			s.renderSignin(w, r, http.StatusUnauthorized,
				signinData{Next: next, User: user, Error: "Wrong name or password."})
			return
		}
	} else if !s.auth.tokenOK(r.PostFormValue("token")) {
		s.auth.failures.Fail(client)
		s.log.Warn("web: sign-in refused: wrong token", "client", client)
		s.renderSignin(w, r, http.StatusUnauthorized,
			signinData{Next: next, Error: "That is not the API token (http.api_token in drip's configuration)."})
		return
	}
	_, c := s.auth.start(r, user)
	http.SetCookie(w, c)
	if !safeNext(next) {
		next = Prefix + "/enroll"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// userOK checks a user's password; an unknown user takes as long to refuse.
func (s *server) userOK(r *http.Request, name, pw string) bool {
	if len(name) > maxUserLen {
		password.CheckNone(pw)
		return false
	}
	u, err := s.o.Store.UserGet(r.Context(), name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("web: reading a user failed", "err", err)
		}
		password.CheckNone(pw)
		return false
	}
	return password.Check(u.PasswordHash, pw)
}

func (s *server) signout(w http.ResponseWriter, r *http.Request, ss *session) error {
	if err := s.auth.revoke(r.Context(), ss); err != nil {
		return fmt.Errorf("signing out: %w", err)
	}
	http.SetCookie(w, s.auth.clearCookie(r))
	http.Redirect(w, r, Prefix+"/signin?signedout=1", http.StatusSeeOther)
	return nil
}

// safeNext accepts only a path of ours as a place to return to: never
// another site ("//evil", "https://evil", "/\evil").
func safeNext(next string) bool {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, Prefix+"/signin") {
		return false
	}
	return !strings.ContainsAny(next, "\\\r\n") && !strings.Contains(next, "//")
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// staySignedIn says a session's length in words: "12 hours", "90 minutes".
func staySignedIn(ttl time.Duration) string {
	switch {
	case ttl == time.Hour:
		return "1 hour"
	case ttl%time.Hour == 0:
		return fmt.Sprintf("%d hours", ttl/time.Hour)
	case ttl < time.Minute:
		return "less than a minute"
	}
	return fmt.Sprintf("%d minutes", ttl/time.Minute)
}
