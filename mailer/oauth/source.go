package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/drip-email/drip/mailer"
)

// Grant is a sender mailbox's grant as stored: the tokens sealed by a Box.
type Grant struct {
	Sealed string
	// Revoked: the provider refused the refresh token (invalid_grant); the
	// mailbox must be connected again.
	Revoked   bool
	UpdatedAt time.Time
}

// ErrNoGrant is what a Store returns for a sender never connected.
var ErrNoGrant = errors.New("no OAuth2 grant stored")

// Store is what grants need of the store; the daemon adapts drip's store
// to it, so this package depends on no storage.
type Store interface {
	// GrantGet returns ErrNoGrant when the sender was never connected.
	GrantGet(ctx context.Context, sender string) (Grant, error)
	// GrantSave stores a new grant (a connect), whatever was there.
	GrantSave(ctx context.Context, sender, sealed string, at time.Time) error
	// GrantUpdate runs fn on the grant under its row lock, so no other
	// instance refreshes at the same time; a non-nil result is written.
	GrantUpdate(ctx context.Context, sender string, fn func(cur Grant) (next *Grant, err error)) error
}

// grant is what is sealed in the store.
type grant struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry"`
}

// DefaultEarly is how long before its expiry an access token is refreshed:
// a token handed out must outlive the connection's AUTH.
const DefaultEarly = 2 * time.Minute

// refreshTimeout bounds one call to the token endpoint.
const refreshTimeout = 20 * time.Second

// Source is a sender's mailer.TokenSource. Each instance keeps the access
// token in memory; when it is about to expire it reads the store (another
// instance may have refreshed it already) and otherwise refreshes under
// the grant's row lock, saving a rotated refresh token in the same
// transaction. A grant the provider refuses (invalid_grant) is marked
// revoked in the store: every instance then reports ErrReauthNeeded until
// `drip mailbox connect` stores a new grant, which the next call reads.
type Source struct {
	Sender string
	Config *oauth2.Config
	Store  Store
	Box    *Box
	Early  time.Duration    // default DefaultEarly
	Now    func() time.Time // default time.Now
	HTTP   *http.Client     // for the token endpoint; default a client with a timeout
	Log    *slog.Logger     // default: discard
	// OnReauth, when set, is told each time the re-authorisation state
	// changes (metrics, status).
	OnReauth func(needed bool)

	mu      sync.Mutex
	cur     grant
	refused string // an access token the server refused: refresh it
	reauth  bool
	refresh int // refreshes this Source made (tests)
}

var _ mailer.TokenSource = (*Source)(nil)

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Source) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Source) fresh(g grant) bool {
	early := s.Early
	if early == 0 {
		early = DefaultEarly
	}
	return g.AccessToken != "" && g.AccessToken != s.refused && s.now().Add(early).Before(g.Expiry)
}

// ReauthNeeded reports whether the last look found the grant revoked or missing.
func (s *Source) ReauthNeeded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reauth
}

func (s *Source) setReauth(on bool) {
	if s.reauth == on {
		return
	}
	s.reauth = on
	if on {
		s.log().Error("OAuth2 sign-in of the mailbox was revoked or has expired: sends are held and the mailbox is not watched; run `drip mailbox connect "+s.Sender+"`", "sender", s.Sender)
	} else {
		s.log().Info("OAuth2 sign-in of the mailbox is valid again", "sender", s.Sender)
	}
	if s.OnReauth != nil {
		s.OnReauth(on)
	}
}

func (s *Source) reauthErr(why string) error {
	s.setReauth(true)
	return fmt.Errorf("sender %s: %s: %w (run `drip mailbox connect %s`)", s.Sender, why, mailer.ErrReauthNeeded, s.Sender)
}

// Invalidate drops a token the server refused, so the next AccessToken
// refreshes it.
func (s *Source) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != "" {
		s.refused = token
	}
}

// AccessToken returns a token valid for at least Early.
func (s *Source) AccessToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fresh(s.cur) {
		return s.cur.AccessToken, nil
	}
	stored, err := s.Store.GrantGet(ctx, s.Sender)
	if errors.Is(err, ErrNoGrant) {
		return "", s.reauthErr("the mailbox was never connected")
	}
	if err != nil {
		return "", err
	}
	if stored.Revoked {
		return "", s.reauthErr("the provider refused the grant")
	}
	g, err := s.open(stored)
	if err != nil {
		return "", s.reauthErr(err.Error())
	}
	if s.fresh(g) {
		s.cur = g
		s.setReauth(false)
		return g.AccessToken, nil
	}
	err = s.Store.GrantUpdate(ctx, s.Sender, func(cur Grant) (*Grant, error) {
		if cur.Revoked {
			return nil, s.reauthErr("the provider refused the grant")
		}
		g, err := s.open(cur)
		if err != nil {
			return nil, s.reauthErr(err.Error())
		}
		if s.fresh(g) { // another instance refreshed it while we waited
			s.cur = g
			return nil, nil
		}
		next, err := s.exchange(ctx, g)
		if err != nil {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
				cur.Revoked = true
				cur.UpdatedAt = s.now()
				return &cur, s.reauthErr("the provider refused the grant (invalid_grant)")
			}
			return nil, fmt.Errorf("refreshing the OAuth2 token of sender %s: %w", s.Sender, scrubRetrieve(err))
		}
		s.refresh++
		s.cur = next
		return &Grant{Sealed: s.seal(next), UpdatedAt: s.now()}, nil
	})
	if err != nil {
		return "", err
	}
	s.refused = ""
	s.setReauth(false)
	return s.cur.AccessToken, nil
}

// exchange spends g's refresh token for a new access token (and, where the
// provider rotates them, a new refresh token).
func (s *Source) exchange(ctx context.Context, g grant) (grant, error) {
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: refreshTimeout}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	tok, err := s.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: g.RefreshToken}).Token()
	if err != nil {
		return grant{}, err
	}
	next := fromToken(tok)
	if next.RefreshToken == "" {
		next.RefreshToken = g.RefreshToken // not rotated
	}
	return next, nil
}

func fromToken(t *oauth2.Token) grant {
	return grant{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: t.Expiry}
}

func (s *Source) open(g Grant) (grant, error) {
	return openGrant(s.Box, s.Sender, g.Sealed)
}

func (s *Source) seal(g grant) string { return sealGrant(s.Box, s.Sender, g) }

func openGrant(b *Box, sender, sealed string) (grant, error) {
	plain, err := b.Open(sender, sealed)
	if err != nil {
		return grant{}, err
	}
	var g grant
	if err := json.Unmarshal(plain, &g); err != nil {
		return grant{}, ErrWrongKey
	}
	return g, nil
}

func sealGrant(b *Box, sender string, g grant) string {
	plain, _ := json.Marshal(g) // a struct of strings and a time: never fails
	return b.Seal(sender, plain)
}

// scrubRetrieve keeps the token endpoint's error code and description and
// drops the rest of its body, which is not ours to log.
func scrubRetrieve(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	if re.ErrorCode == "" {
		return fmt.Errorf("token endpoint answered HTTP %d", status)
	}
	return fmt.Errorf("token endpoint answered HTTP %d: %s %s", status, re.ErrorCode, re.ErrorDescription)
}

// Save stores a newly obtained token as sender's grant (a connect).
func Save(ctx context.Context, st Store, b *Box, sender string, tok *oauth2.Token, at time.Time) error {
	if tok.RefreshToken == "" {
		return errors.New("the provider gave no refresh token (for Microsoft add the offline_access scope; for Google the consent screen must be shown: revoke drip's access in the account and connect again)")
	}
	if err := st.GrantSave(ctx, sender, sealGrant(b, sender, fromToken(tok)), at); err != nil {
		return err
	}
	return nil
}

// State is a sender's grant as `drip status` and `drip check` show it:
// "ok", "reauth" (revoked or unreadable: connect again) or "not connected".
func State(ctx context.Context, st Store, b *Box, sender string) (string, error) {
	g, err := st.GrantGet(ctx, sender)
	switch {
	case errors.Is(err, ErrNoGrant):
		return "not connected", nil
	case err != nil:
		return "", err
	case g.Revoked:
		return "reauth", nil
	}
	if _, err := openGrant(b, sender, g.Sealed); err != nil {
		return "reauth", nil
	}
	return "ok", nil
}
