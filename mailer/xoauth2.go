package mailer

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/emersion/go-sasl"
)

// ErrReauthNeeded: the mailbox's OAuth2 grant was revoked or has expired
// (the token endpoint answered invalid_grant). Nothing sends or watches
// with it until `drip mailbox connect` signs the mailbox in again.
var ErrReauthNeeded = errors.New("mailbox sign-in revoked or expired: re-authorisation needed")

// TokenSource gives a valid OAuth2 access token for a mailbox, refreshing
// it when needed. An error wrapping ErrReauthNeeded means no token will
// come until the mailbox is connected again.
type TokenSource interface {
	AccessToken(ctx context.Context) (string, error)
}

// XOAuth2 is the SASL mechanism Google and Microsoft accept for OAuth2
// (Microsoft accepts only it). go-sasl dropped its client.
const XOAuth2 = "XOAUTH2"

type xoauth2Client struct{ user, token string }

// NewXOAuth2Client returns a SASL client of the XOAUTH2 mechanism:
// "user=" user ^A "auth=Bearer " token ^A ^A, sent as the initial response.
func NewXOAuth2Client(user, token string) sasl.Client { return &xoauth2Client{user, token} }

func (c *xoauth2Client) Start() (string, []byte, error) {
	return XOAuth2, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next answers a challenge: the server sends one (a JSON error) only on
// failure, and expects an empty response before its final error reply.
func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) { return []byte{}, nil }

// OAuthSASL picks the SASL client for an access token among the server's
// mechanisms: prefer when set and offered, else XOAUTH2 (every provider
// that does OAuth2 has it), else OAUTHBEARER. ok is false when the server
// offers none of them.
func OAuthSASL(mechs []string, prefer, user, token, host string, port int) (c sasl.Client, ok bool) {
	has := func(m string) bool {
		for _, x := range mechs {
			if x == m {
				return true
			}
		}
		return false
	}
	switch {
	case prefer == sasl.OAuthBearer && has(sasl.OAuthBearer):
		return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token, Host: host, Port: port}), true
	case has(XOAuth2):
		return NewXOAuth2Client(user, token), true
	case has(sasl.OAuthBearer):
		return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token, Host: host, Port: port}), true
	}
	return nil, false
}

// LoadCAFile is the system's certificate pool plus the PEM certificates in
// file (a private CA); nil for an empty file name.
func LoadCAFile(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", file)
	}
	return pool, nil
}
