package mailer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
)

// unsubscribeDomain separates these MACs from any other use of the secret.
const unsubscribeDomain = "drip/unsubscribe/v1\x00"

// macLen is the truncated HMAC length: 128 bits, beyond guessing.
const macLen = 16

// tokenEncoding is URL-safe and strict, so that no two spellings of one
// token exist (a lenient decoder ignores the unused low bits of the last
// character, and flipping them would still verify).
var tokenEncoding = base64.RawURLEncoding.Strict()

// Unsubscriber makes and checks the tokens of unsubscribe links: a
// prospect ID and an HMAC of it, so nobody can unsubscribe an address they
// did not receive a link for.
type Unsubscriber struct {
	key []byte
	// accepted are earlier keys whose tokens still verify (links already
	// sent); new tokens are made with key only.
	accepted [][]byte
}

// NewUnsubscriber keys tokens with secret. Links already sent stay valid
// only while the secret is unchanged.
func NewUnsubscriber(secret string) (*Unsubscriber, error) {
	if secret == "" {
		return nil, errors.New("unsubscribe secret is empty")
	}
	return &Unsubscriber{key: []byte(secret)}, nil
}

// AlsoAccept makes tokens made under an earlier secret verify too, so
// that links already sent keep working after the key changed. Tokens are
// only ever made with the secret given to NewUnsubscriber.
func (u *Unsubscriber) AlsoAccept(secret string) {
	if secret != "" {
		u.accepted = append(u.accepted, []byte(secret))
	}
}

// Token returns the URL-safe token for prospectID.
func (u *Unsubscriber) Token(prospectID int64) string {
	payload := binary.AppendUvarint(nil, uint64(prospectID))
	return tokenEncoding.EncodeToString(append(payload, macUnder(u.key, payload)...))
}

// Verify returns the prospect ID of a token made by Token with the same
// secret; ok is false for anything else, including garbage.
func (u *Unsubscriber) Verify(token string) (prospectID int64, ok bool) {
	raw, err := tokenEncoding.DecodeString(token)
	// The decoder skips CR and LF; only the canonical spelling is a token.
	if err != nil || len(raw) <= macLen || tokenEncoding.EncodeToString(raw) != token {
		return 0, false
	}
	payload, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	valid := hmac.Equal(mac, macUnder(u.key, payload))
	for _, k := range u.accepted {
		valid = valid || hmac.Equal(mac, macUnder(k, payload))
	}
	if !valid {
		return 0, false
	}
	id, n := binary.Uvarint(payload)
	if n != len(payload) {
		return 0, false
	}
	return int64(id), true
}

// URL is the link that goes into a message: publicURL + "/u/" + token.
func (u *Unsubscriber) URL(publicURL string, prospectID int64) string {
	return strings.TrimRight(publicURL, "/") + "/u/" + u.Token(prospectID)
}

func macUnder(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(unsubscribeDomain))
	h.Write(payload)
	return h.Sum(nil)[:macLen]
}
