// Package password hashes and checks the web UI users' passwords with
// bcrypt (golang.org/x/crypto): salted, slow on purpose, and the hash
// names its own cost, so that raising it later needs no migration.
package password

import (
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Cost is bcrypt's work factor: about 0.2 s per check on a 2-core server,
// which a person signing in does not notice and a guesser does.
const Cost = 12

// MinLen is the shortest password accepted (in characters).
const MinLen = 12

// maxBytes is bcrypt's limit; longer passwords would be cut silently.
const maxBytes = 72

// Hash checks pw's length and returns its bcrypt hash.
func Hash(pw string) (string, error) {
	if n := utf8.RuneCountInString(pw); n < MinLen {
		return "", fmt.Errorf("the password has %d characters; use at least %d", n, MinLen)
	}
	if len(pw) > maxBytes {
		return "", fmt.Errorf("the password is longer than %d bytes, bcrypt's limit", maxBytes)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), Cost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return string(h), nil
}

// Check reports whether pw matches hash.
func Check(hash, pw string) bool {
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
	return err == nil
}

// dummy is a hash (of cost Cost) to check against when the user does not
// exist, so that a missing user takes as long to refuse as a wrong
// password. Written out: computing it at start would cost every drip
// command a quarter of a second.
var dummy = []byte("$2a$12$LG2vj.tWfxy8BxbhAgMOUusL0yvN3Uy1eYceXwFzkTpmnW.S55oqe")

// CheckNone spends the time of a check, for a user that does not exist.
func CheckNone(pw string) { _ = bcrypt.CompareHashAndPassword(dummy, []byte(pw)) }
