// Package oauth keeps sender mailboxes' OAuth2 grants: sealed (AES-GCM) in
// the store so every instance shares them, refreshed before they expire
// under the store's row lock so a rotated refresh token is never lost, and
// obtained by `drip mailbox connect` (device code, or PKCE on a loopback
// redirect, or a pasted code).
package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Box seals grants with AES-256-GCM under a key derived from the secret
// (DRIP_SECRET_KEY). The sender's name is authenticated with each grant,
// so a sealed grant copied to another sender's row does not open.
type Box struct{ aead cipher.AEAD }

// ErrWrongKey: a sealed grant does not open with this key (the key
// changed, or the row was tampered with).
var ErrWrongKey = errors.New("the stored OAuth2 grant does not open with this DRIP_SECRET_KEY (changed key?): run `drip mailbox connect` again")

const sealPrefix = "v1:"

// NewBox derives the key from secret.
func NewBox(secret string) (*Box, error) {
	if secret == "" {
		return nil, errors.New("no key to encrypt OAuth2 grants: set DRIP_SECRET_KEY or secret_key_file")
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "drip oauth2 grants v1", 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the grant key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain for sender.
func (b *Box) Seal(sender string, plain []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	out := b.aead.Seal(nonce, nonce, plain, []byte(sender))
	return sealPrefix + base64.StdEncoding.EncodeToString(out)
}

// Open decrypts what Seal made for sender.
func (b *Box) Open(sender, sealed string) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, ErrWrongKey
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	n := b.aead.NonceSize()
	if err != nil || len(data) < n {
		return nil, ErrWrongKey
	}
	plain, err := b.aead.Open(nil, data[:n], data[n:], []byte(sender))
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}
